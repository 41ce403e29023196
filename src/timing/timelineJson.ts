/** The JSON view of a request timeline (GET /debug/requests/{id}): times in ms from `received`. */
import type { Marks } from "./Marks.js";
import { HTTP_POINTS, HttpPoint, REQUEST_POINTS } from "./points.js";
import type { RequestTimeline } from "./RequestTimeline.js";

const round = (ms: number): number | null => (Number.isNaN(ms) ? null : Math.round(ms * 1000) / 1000);

function points(names: readonly string[], marks: Marks, origin: number): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  names.forEach((name, i) => (out[name] = round(marks.get(i) - origin)));
  return out;
}

export function timelineJson(t: RequestTimeline): object {
  const origin = t.http.get(HttpPoint.received);
  const tokens = [];
  if (t.tokenDelivered && t.tokenWritten) {
    for (let i = 0; i < t.tokenDelivered.length && !Number.isNaN(t.tokenDelivered[i]); i++) {
      tokens.push({ delivered: round(t.tokenDelivered[i] - origin), written: round(t.tokenWritten[i] - origin) });
    }
  }
  return {
    id: t.id,
    route: t.route,
    status: t.status,
    http: points(HTTP_POINTS, t.http, origin),
    engine: t.engine ? points(REQUEST_POINTS, t.engine, origin) : null,
    tokens,
    summary: { server_ms: round(t.serverMs), engine_ms: round(t.engineMs), added_ms: round(t.serverMs - t.engineMs) },
  };
}
