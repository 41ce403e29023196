/**
 * One attempt's relay: a backend's stream events, read by its protocol,
 * become the request's token events and its finish, with each token's
 * arrival on the request's trace and the backend's timings on its hop. The
 * router decides what a failure means (another engine, or an error); this
 * keeps what was relayed.
 */
import type { FinishReason, GenerationStream, TokenEvent } from "../../master/GenerationStream.js";
import { now } from "../../timing/clock.js";
import type { HopTrace } from "../../timing/HopTrace.js";
import { RequestPoint } from "../../timing/points.js";
import type { BackendProtocol } from "../remote/backendProtocol.js";

/**
 * A last token known by its count waits this long at most for the backend's
 * closing event (llama.cpp's carries the timings, OpenAI's usage chunk the
 * prompt count), which comes right behind it; a backend that never sends one
 * costs the client this much.
 */
export const CLOSING_WAIT_MS = 200;

export interface RelayCounts {
  promptTokens: number;
  generatedTokens: number;
}

/** Ends the request's stream: its reason, the text relayed, the counts, and the stop string that ended it. */
export type RelayFinish = (reason: FinishReason, text: string, counts: RelayCounts, stopString?: string) => void;

export class Relay {
  /** The text and the tokens relayed so far. */
  text = "";
  tokens = 0;
  private promptTokens = 0;
  /** The backend's own count, when it gives one. */
  private generatedTokens: number | undefined;
  private finish: { reason: FinishReason; stopString?: string } | undefined;
  private streamError: string | undefined;
  /** The newest token, pushed when the next event comes, or with the finish when it is the last. */
  private held: TokenEvent | undefined;
  private closingWait: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: GenerationStream,
    private readonly hop: HopTrace,
    private readonly protocol: BackendProtocol,
    private readonly maxNewTokens: number,
    private readonly onFinish: RelayFinish,
  ) {}

  /** What was relayed, for a failure's or a cancel's record. */
  get relayed(): RelayCounts {
    return { promptTokens: this.promptTokens, generatedTokens: this.tokens };
  }

  /** One event of the backend's stream. */
  event(data: unknown): void {
    const e = this.protocol.read(data);
    if (e.error) this.streamError ??= e.error;
    if (e.text !== "" || e.tokens > 0) {
      const trace = this.stream.trace;
      const t = now();
      if (this.tokens === 0) trace.marks.set(RequestPoint.first_token, t);
      trace.marks.set(RequestPoint.last_token, t);
      trace.tokenDelivered.push(t);
      this.text += e.text;
      // A token after one held as the last (a backend that streams past its count): the held one goes out first, none is lost.
      if (this.held) this.stream.sink.push(this.held);
      this.held = { type: "token", index: this.tokens++, id: e.tokenIds?.[0] ?? -1, text: e.text, logprob: NaN, special: false };
    }
    if (e.finish) this.finish = { reason: e.finish, stopString: e.stopString };
    if (e.promptTokens !== undefined) this.promptTokens = e.promptTokens;
    if (e.generatedTokens !== undefined) this.generatedTokens = e.generatedTokens;
    if (e.timings) this.hop.backend = e.timings;
    // A token known to be the last (it says so, or it reaches max_new_tokens) goes out with the finish,
    // as the local engine's last token does: formats put the generated text, details and timings on it.
    const last = this.tokens > 0 && (this.finish !== undefined || this.counted());
    // What comes after the last token waits for: the backend's closing event (llama.cpp's carries its timings) and its prompt count
    // (OpenAI's usage chunk, llama.cpp's chat) — the next event, the end, or CLOSING_WAIT_MS, whichever is first.
    if (last && (this.finish === undefined || this.promptTokens === 0)) {
      this.closingWait ??= setTimeout(() => this.release(true), CLOSING_WAIT_MS);
      return;
    }
    this.release(last);
  }

  /**
   * The backend's stream ended cleanly: the held token and the finish go
   * out. Returns why it ended too early (an error event, or no finish before
   * the close), unless the stream had already ended (the closing wait ran out:
   * the client has all of it).
   */
  end(): string | undefined {
    // All its tokens came: a backend that closes without its closing event has still given the whole generation.
    const broken = this.streamError ?? (this.finish || (this.tokens > 0 && this.counted()) ? undefined : "closed the stream before the generation finished");
    this.release(!broken);
    return broken && !this.stream.done ? broken : undefined;
  }

  /** The held token goes out, without a finish: before an error. */
  flush(): void {
    this.release(false);
  }

  /** No closing wait any more: the call failed or was cancelled. */
  stop(): void {
    clearTimeout(this.closingWait);
  }

  /** Every token asked for has come, by the backend's count or ours. */
  private counted(): boolean {
    return (this.generatedTokens ?? this.tokens) >= this.maxNewTokens;
  }

  /** The held token goes out, and with it the finish when `finished`. */
  private release(finished: boolean): void {
    clearTimeout(this.closingWait);
    if (this.held) this.stream.sink.push(this.held);
    this.held = undefined;
    if (finished) this.onFinish(this.finish?.reason ?? "length", this.text, { promptTokens: this.promptTokens, generatedTokens: this.generatedTokens ?? this.tokens }, this.finish?.stopString);
  }
}
