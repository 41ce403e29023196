/**
 * A request relayed to a remote engine: which engine took it and why, the
 * hop's time points on our clock (HOP_POINTS), and what the backend said
 * about its own time. The request's RequestTrace carries it; the per-chunk
 * arrival times are the trace's tokenDelivered.
 */
import type { BackendTimings } from "./backendTimings.js";
import { Marks } from "./Marks.js";
import { HOP_POINTS } from "./points.js";

export class HopTrace {
  readonly marks = new Marks(HOP_POINTS.length);
  /** The backend's own timings for the request, when it reported them. */
  backend: BackendTimings | undefined;
  /** Engines tried before this one took the request (each refused it before it started). */
  readonly retries: string[] = [];
  /** The W3C traceparent sent with the request: the exported CLIENT span of the hop carries its ids. */
  traceparent: string | undefined;

  constructor(
    /** The engine's name, as configured. */
    readonly engine: string,
    /** Why the router chose it (the policy and what it saw), or "only engine". */
    readonly reason: string,
    /** The backend's URL and path. */
    readonly url: string,
  ) {}
}
