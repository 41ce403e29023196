/**
 * Outliers: requests whose residual from the fit is beyond k·MAD, each with
 * its cause as its timeline shows it. The cause is the overhead part that
 * exceeds its usual value (the median over all requests) by the most, told
 * with the evidence: the GC or stall event and the step it fell in, the
 * requests it queued behind, the prompt it prefilled.
 */
import type { ServerTimeline } from "../bench/serverRecords.js";
import { mad, median } from "./fit.js";
import { OVERHEAD_PARTS, type OverheadPart, type Parts } from "./overhead.js";

export interface AnalyzedRequest {
  id: string;
  n: number;
  e2e: number;
  residual: number;
  parts?: Parts;
  timeline?: ServerTimeline;
}

export interface Outlier {
  id: string;
  n: number;
  e2e: number;
  residual: number;
  part: OverheadPart | "unknown";
  cause: string;
}

const f = (x: number): string => x.toFixed(1);

/** Requests that were waiting (queued, not yet in a step) when this one was queued, on the server clock. */
function queuedBehind(t: ServerTimeline, all: readonly AnalyzedRequest[]): number {
  const at = t.origin + (t.points.queued ?? NaN);
  let n = 0;
  for (const other of all) {
    const o = other.timeline;
    if (!o || o.id === t.id) continue;
    const queued = o.origin + (o.points.queued ?? NaN);
    const admitted = o.origin + (o.points.admitted ?? NaN);
    if (queued < at && admitted > at) n++;
  }
  return n;
}

function describe(part: OverheadPart, r: AnalyzedRequest, excess: number, all: readonly AnalyzedRequest[]): string {
  const t = r.timeline!;
  const biggest = (type: "gc" | "stall") => t.events.filter((e) => e.type === type).sort((a, b) => b.dur - a.dur)[0];
  switch (part) {
    case "gc": {
      const e = biggest("gc");
      return e ? `${e.kind ?? ""} GC ${f(e.dur)} ms${e.step !== null ? ` during step ${e.step}` : ""}`.trim() : `GC ${f(excess)} ms more than usual`;
    }
    case "stall": {
      const e = biggest("stall");
      return e ? `event-loop stall ${f(e.dur)} ms${e.step !== null ? ` during step ${e.step}` : ""}` : `event-loop stalls ${f(excess)} ms more than usual`;
    }
    case "queue":
      return `queued ${f(t.durations.queue)} ms behind ${queuedBehind(t, all)} requests`;
    case "prefill_beyond_decode":
      return `prefill of ${t.prompt_tokens} prompt tokens took ${f(excess)} ms more than usual`;
    case "network_http":
      return `network and HTTP ${f(excess)} ms more than usual (client e2e − server e2e)`;
    case "native_variance":
      return `native decode steps ${f(excess)} ms slower than usual`;
    default:
      return `${part.replace(/_/g, " ")} ${f(excess)} ms more than usual`;
  }
}

export function findOutliers(requests: readonly AnalyzedRequest[], k: number): Outlier[] {
  const residuals = requests.map((r) => r.residual);
  const center = median(residuals);
  const spread = mad(residuals);
  const usual = Object.fromEntries(OVERHEAD_PARTS.map((p) => [p, median(requests.filter((r) => r.parts).map((r) => r.parts![p]))])) as Parts;
  const out: Outlier[] = [];
  for (const r of requests) {
    if (!(Math.abs(r.residual - center) > k * spread)) continue;
    if (!r.parts || !r.timeline) {
      out.push({ id: r.id, n: r.n, e2e: r.e2e, residual: r.residual, part: "unknown", cause: "no server record to explain it" });
      continue;
    }
    let part: OverheadPart = OVERHEAD_PARTS[0];
    for (const p of OVERHEAD_PARTS) if (r.parts[p] - usual[p] > r.parts[part] - usual[part]) part = p;
    out.push({ id: r.id, n: r.n, e2e: r.e2e, residual: r.residual, part, cause: describe(part, r, r.parts[part] - usual[part], requests) });
  }
  return out.sort((a, b) => Math.abs(b.residual) - Math.abs(a.residual));
}
