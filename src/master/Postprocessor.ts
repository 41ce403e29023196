/**
 * After a step: appends each row's sampled token to its request, checks the
 * stop criteria (end token, max_new_tokens, stop strings, cancellation),
 * detokenizes incrementally, and decides what text may be released. It only
 * prepares deliveries; the master hands them to the callers.
 */
import type { RowOutput, TokenAlternative } from "../agent/Agent.js";
import { RequestPoint, StepPoint } from "../timing/points.js";
import { EngineError } from "./errors.js";
import type { FinishReason, TokenEvent } from "./GenerationStream.js";
import type { Request } from "./Request.js";
import type { Scheduler } from "./Scheduler.js";
import type { Step } from "./Step.js";

export interface Delivery {
  request: Request;
  event?: TokenEvent;
  finish?: FinishReason;
  error?: Error;
  stopString?: string;
}

export interface TokenClassifier {
  isEos(r: Request, token: number): boolean;
  isSpecial(token: number): boolean;
}

export class Postprocessor {
  constructor(
    private readonly tokens: TokenClassifier,
    /** The request's prefill progress is the scheduler's to record. */
    private readonly scheduler: Pick<Scheduler, "fed">,
    /** Record which steps carried each request (instrumentation on). */
    private readonly recordSteps: boolean,
  ) {}

  process(step: Step, outputs: readonly RowOutput[], out: Delivery[]): void {
    const batch = step.rows;
    for (let i = 0; i < batch.length; i++) {
      const row = batch[i];
      const r = row.request;
      const o = outputs[i];
      if (this.recordSteps) r.trace.steps.push(step.id);
      if (row.kind === "prefill") {
        // The native prefill: from the decode of the first prompt chunk to the decode of the last.
        if (r.prefilled === 0) r.trace.marks.set(RequestPoint.prefill_start, step.marks.get(StepPoint.decode_start));
        if (row.samples) r.trace.marks.set(RequestPoint.prefill_end, step.marks.get(StepPoint.decode_end));
      }
      if (r.cancelRequested) {
        out.push({ request: r, finish: "cancelled" });
      } else if (o.kind === "error") {
        out.push({ request: r, finish: "error", error: new EngineError(`engine error in request ${r.id}: ${o.error.message}`, { cause: o.error }) });
      } else {
        if (row.kind === "prefill") this.scheduler.fed(r, row.tokens.length);
        if (o.kind === "token") out.push(this.accept(r, o.token, o.logprob, o.top));
      }
    }
  }

  private accept(r: Request, token: number, logprob: number, top: TokenAlternative[] | undefined): Delivery {
    r.output.push(token);
    let finish: FinishReason | undefined;
    if (!r.params.ignoreEos && this.tokens.isEos(r, token)) {
      finish = "eos";
      r.text += r.detokenizer.flush();
    } else {
      r.text += r.detokenizer.push(token);
      if (r.output.length >= r.params.maxNewTokens) {
        finish = "length";
        r.text += r.detokenizer.flush();
      }
    }
    let releasable = r.text.length;
    let stopString: string | undefined;
    if (!r.stops.empty) {
      const hit = r.stops.find(r.text, r.emitted);
      if (hit) {
        r.text = r.text.slice(0, hit.index);
        releasable = hit.index;
        finish = "stop";
        stopString = hit.stop;
      } else if (!finish) {
        releasable -= r.stops.heldBack(r.text, r.emitted);
      }
    }
    const text = r.text.slice(r.emitted, releasable);
    r.emitted = releasable;
    const event: TokenEvent = { type: "token", index: r.output.length - 1, id: token, text, logprob, special: this.tokens.isSpecial(token) };
    if (top) event.top = top;
    return { request: r, event, finish, stopString };
  }
}
