/** One request's state in the master, from submission to its finish event. */
import type { Row } from "../agent/SequencePool.js";
import type { SamplingParams } from "../agent/Sampling.js";
import { RequestPoint } from "../timing/points.js";
import type { RequestTrace } from "../timing/RequestTrace.js";
import type { ValidRequest } from "./validate.js";
import { GenerationStream, type FinishReason } from "./GenerationStream.js";
import { IncrementalDetokenizer, type Detokenize } from "./IncrementalDetokenizer.js";
import { StopStrings } from "./StopStrings.js";

export type Phase = "waiting" | "running" | "finished";

export class Request {
  readonly stream: GenerationStream;
  readonly detokenizer: IncrementalDetokenizer;
  readonly stops: StopStrings;
  phase: Phase = "waiting";
  /** The sequence this request owns while running. */
  row: Row | undefined;
  /** Prompt tokens fed so far (chunked prefill). */
  prefilled = 0;
  readonly output: number[] = [];
  cancelRequested = false;
  /** Text generated so far and how much of it was emitted. */
  text = "";
  emitted = 0;
  finishReason: FinishReason | undefined;
  /** The tokens fed to the model (the valid request's). */
  readonly prompt: readonly number[];

  constructor(
    /** Time points, steps and per-token times of this request (its tokenized mark is already taken). */
    readonly trace: RequestTrace,
    readonly id: string,
    readonly params: ValidRequest,
    readonly seed: number,
    detokenize: Detokenize,
    onCancel: (r: Request) => void,
  ) {
    this.prompt = params.prompt;
    this.stream = new GenerationStream(id, this.prompt, seed, this.trace, () => onCancel(this));
    this.detokenizer = new IncrementalDetokenizer(detokenize, this.prompt);
    this.stops = new StopStrings(params.stop);
    this.trace.marks.mark(RequestPoint.queued);
  }

  get sampling(): SamplingParams {
    return this.params.sampling;
  }

  get prefillDone(): boolean {
    return this.prefilled === this.prompt.length;
  }

  /** Tokens held in the row's KV cells (the last sampled token is not fed yet). */
  get cachedTokens(): number {
    return this.prefilled + Math.max(0, this.output.length - 1);
  }

  /** Tokens the row must be able to hold by the end: what admission reserves. */
  get reservedTokens(): number {
    return this.prompt.length + this.params.maxNewTokens;
  }

  /** The last tokens of prompt and output, for the repetition penalties. */
  recentTokens(n: number): number[] {
    if (n <= 0) return []; // a window of 0 is no window (slice(-0) would be everything)
    const fromOutput = this.output.slice(-n);
    const rest = n - fromOutput.length;
    return rest > 0 ? this.prompt.slice(-rest).concat(fromOutput) : fromOutput;
  }
}
