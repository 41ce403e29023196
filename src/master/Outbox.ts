/**
 * The events a step produced, held until the next step's decode has started
 * and then handed to the callers' streams. A caller's work on an event — an
 * SSE chunk built and written to its socket — then runs while the native
 * decode runs, instead of before it: measured side by side with llama.cpp's
 * server, writing first delayed each streamed step by the whole write.
 * Events for one request keep their order; when the loop is not about to
 * decode (it goes idle, waits, stops), they are handed over at once.
 */
import { now } from "../timing/clock.js";
import { RequestPoint } from "../timing/points.js";
import type { GenerationEvent } from "./GenerationStream.js";
import type { Request } from "./Request.js";

export class Outbox {
  private readonly requests: Request[] = [];
  private readonly events: GenerationEvent[] = [];
  private readonly steps: number[] = [];
  /** While true, events wait for flush(); else they go out as they come. */
  private holding = false;

  constructor(
    /** Record per token when it was handed over and which step made it. */
    private readonly recordTokens: boolean,
  ) {}

  /** From now until the next flush, events wait. */
  hold(): void {
    this.holding = true;
  }

  push(r: Request, event: GenerationEvent, stepId = 0): void {
    this.requests.push(r);
    this.events.push(event);
    this.steps.push(stepId);
    if (!this.holding) this.flush();
  }

  /** Hands every waiting event to its stream, in order; the tokens' delivered times are taken now. */
  flush(): void {
    this.holding = false;
    if (this.events.length === 0) return;
    const t = now();
    for (let i = 0; i < this.events.length; i++) {
      const r = this.requests[i];
      const event = this.events[i];
      const trace = r.trace;
      if (event.type === "token") {
        if (event.index === 0) trace.marks.set(RequestPoint.first_token, t);
        trace.marks.set(RequestPoint.last_token, t);
        if (this.recordTokens) {
          trace.tokenDelivered.set(event.index, t);
          trace.tokenStep.set(event.index, this.steps[i]);
        }
      } else {
        trace.marks.set(RequestPoint.finished, t);
      }
      r.stream.sink.push(event);
    }
    this.requests.length = 0;
    this.events.length = 0;
    this.steps.length = 0;
  }
}
