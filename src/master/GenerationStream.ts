import type { TokenAlternative } from "../agent/Agent.js";
import type { RequestTrace } from "../timing/RequestTrace.js";

/**
 * What a caller gets back from Master.submit: an async stream of token events
 * that always ends with one finish event (eos, length, stop, cancelled or
 * error), plus a promise of the completed generation. The engine loop pushes;
 * one consumer reads. Leaving the iteration early cancels the request.
 */

export type FinishReason = "eos" | "length" | "stop" | "cancelled" | "error";

export interface TokenEvent {
  type: "token";
  /** Position of this token in the output (0-based). */
  index: number;
  id: number;
  /** The text this token completes; "" while a character or a possible stop string is incomplete. */
  text: string;
  /** log of the token's probability under the sampling distribution (NaN unless the request asked for logprobs). */
  logprob: number;
  /** An end-of-generation or other control token (no text). */
  special: boolean;
  /** The most likely alternatives, when the request asked for top logprobs. */
  top?: TokenAlternative[];
}

export interface Completion {
  id: string;
  finishReason: FinishReason;
  /** Set when finishReason is "error". */
  error?: Error;
  /** Everything emitted, stop string excluded. */
  text: string;
  /** The stop string that ended generation (finishReason "stop"). */
  stopString?: string;
  promptTokens: number;
  generatedTokens: number;
  seed: number;
}

export interface FinishEvent extends Completion {
  type: "finish";
}

export type GenerationEvent = TokenEvent | FinishEvent;

/** The engine's side of a stream. */
export interface StreamSink {
  push(event: GenerationEvent): void;
}

export class GenerationStream implements AsyncIterable<GenerationEvent> {
  private readonly buffer: Array<GenerationEvent | undefined> = [];
  private head = 0;
  private wake: (() => void) | undefined;
  private iterating = false;
  private finished = false;
  private resolveCompletion!: (c: Completion) => void;
  private completed: Completion | undefined;
  /** Resolves when the generation ends, however it ends (it never rejects: errors are a finish reason). */
  readonly completion: Promise<Completion>;
  /** The push side, for the engine. */
  readonly sink: StreamSink = { push: (event) => this.push(event) };

  constructor(
    readonly id: string,
    /** The prompt's token ids, as fed to the model. */
    readonly prompt: readonly number[],
    readonly seed: number,
    /** The request's time points, steps and per-token times (read them; the server adds socket write times). */
    readonly trace: RequestTrace,
    private readonly onCancel: () => void,
  ) {
    this.completion = new Promise((resolve) => (this.resolveCompletion = resolve));
  }

  /** Asks the engine to stop this request; its row leaves the batch at the next step. */
  cancel(): void {
    if (!this.finished) this.onCancel();
  }

  get done(): boolean {
    return this.finished;
  }

  /** The completed generation once it has ended (what `completion` resolves to), else undefined. */
  get result(): Completion | undefined {
    return this.completed;
  }

  private push(event: GenerationEvent): void {
    if (this.finished) return;
    this.buffer.push(event);
    if (event.type === "finish") {
      this.finished = true;
      this.completed = completionOf(event);
      this.resolveCompletion(this.completed);
    }
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<GenerationEvent, void, undefined> {
    if (this.iterating) throw new Error("a GenerationStream can be read only once");
    this.iterating = true;
    let ended = false;
    try {
      for (;;) {
        while (this.head < this.buffer.length) {
          const event = this.buffer[this.head]!;
          this.buffer[this.head++] = undefined;
          if (event.type === "finish") ended = true;
          yield event;
          if (ended) return;
        }
        this.buffer.length = this.head = 0;
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      if (!ended) this.cancel();
    }
  }
}

/** Reads a whole stream: the tokens and the completion. */
export async function collect(stream: GenerationStream): Promise<Completion & { tokens: TokenEvent[] }> {
  const tokens: TokenEvent[] = [];
  for await (const event of stream) {
    if (event.type === "token") tokens.push(event);
    else return { ...completionOf(event), tokens };
  }
  throw new Error("stream ended without a finish event");
}

/** The completion a finish event carries. */
export function completionOf(event: FinishEvent): Completion {
  const { type: _type, ...completion } = event;
  return completion;
}
