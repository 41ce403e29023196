/**
 * One HTTP request's time points: the HTTP layer's own (HTTP_POINTS), the
 * engine's (REQUEST_POINTS, attached once the request is submitted), and per
 * output token when its event was delivered by the engine and written to the
 * socket by the server.
 */
import { Marks } from "./Marks.js";
import { HTTP_POINTS, HttpPoint, RequestPoint } from "./points.js";

export class RequestTimeline {
  readonly http = new Marks(HTTP_POINTS.length);
  engine: Marks | undefined;
  tokenDelivered: Float64Array | undefined;
  tokenWritten: Float64Array | undefined;
  route = "";
  status = 0;

  constructor(readonly id: string) {}

  /** Links the engine's marks and token delivery times of this request. */
  attach(engine: Marks, tokenDelivered: Float64Array): void {
    this.engine = engine;
    this.tokenDelivered = tokenDelivered;
    this.tokenWritten = new Float64Array(tokenDelivered.length).fill(NaN);
  }

  /** Server wall time: from received to response_ended (NaN until the response ended). */
  get serverMs(): number {
    return this.http.span(HttpPoint.received, HttpPoint.response_ended);
  }

  /** Engine time: from queued to finished (NaN if the request never reached the engine). */
  get engineMs(): number {
    return this.engine ? this.engine.span(RequestPoint.queued, RequestPoint.finished) : NaN;
  }
}
