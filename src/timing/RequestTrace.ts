/**
 * What the engine records about one request: its time points
 * (REQUEST_POINTS), the steps that carried it, and per output token the step
 * that produced it and when its event was delivered. When each token was
 * written to the socket is the HTTP layer's (RequestTimeline.tokenWritten).
 */
import { GrowableFloat64, GrowableInt32 } from "./Growable.js";
import type { HopTrace } from "./HopTrace.js";
import { Marks } from "./Marks.js";
import { REQUEST_POINTS } from "./points.js";

export class RequestTrace {
  readonly marks = new Marks(REQUEST_POINTS.length);
  /** Ids of the steps that carried the request (prompt chunks included), in order. */
  readonly steps = new GrowableInt32();
  /** Per output token: the step that produced it. */
  readonly tokenStep = new GrowableInt32();
  /** Per output token: when its event reached the request's stream. */
  readonly tokenDelivered = new GrowableFloat64();
  /** Set when a remote engine served the request: the hop to it (it has no steps here then). */
  hop: HopTrace | undefined;
}
