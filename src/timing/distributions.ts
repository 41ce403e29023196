/**
 * The dashboard's charts of the last minute: TTFT, inter-token gap and e2e
 * histograms of the requests that ended in it, and the same per remote
 * engine with each one's time across the hop. Built only when asked (GET
 * /debug/distributions), from marks already taken.
 */
import { now } from "./clock.js";
import { durations, isGeneration, rounded } from "./liveView.js";
import { HttpPoint } from "./points.js";
import { hopOf, stats, type Stats } from "./requestBreakdown.js";
import type { RequestTimeline } from "./RequestTimeline.js";
import type { TimelineStore } from "./TimelineStore.js";
import { ms } from "./timelineJson.js";

/** A histogram on log-spaced bins (latencies span microseconds to seconds). */
export interface HistogramJson {
  /** Bin edges in ms: bin i holds values in [edges[i], edges[i + 1]). */
  edges: number[];
  counts: number[];
  n: number;
}

export interface LatencyHistogramsJson {
  ttft_ms: HistogramJson;
  /** Every gap between two consecutive tokens' deliveries (at most MAX_GAPS, newest requests first). */
  itl_ms: HistogramJson;
  e2e_ms: HistogramJson;
}

/** One remote engine's requests: their latencies, and their time split across the hop (docs/timing.md, "Across the hop"). */
export interface EngineDistributionsJson extends LatencyHistogramsJson {
  ours_ms: Stats;
  /** Connecting, the network, the backend's HTTP front end and its queue (requests whose backend reported its engine time). */
  network_and_front_ms: Stats;
  backend_engine_ms: Stats;
}

export interface DistributionsJson extends LatencyHistogramsJson {
  seconds: number;
  /** Per remote engine, by name: empty unless requests were relayed in the window. */
  engines: Record<string, EngineDistributionsJson>;
}

/** Most inter-token gaps gathered for one histogram. */
export const MAX_GAPS = 100_000;
const BINS_PER_DECADE = 5;

function histogram(values: readonly number[]): HistogramJson {
  const positive = values.filter((v) => v > 0 && Number.isFinite(v));
  if (positive.length === 0) return { edges: [], counts: [], n: 0 };
  let min = Infinity;
  let max = -Infinity;
  for (const v of positive) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const lo = Math.floor(Math.log10(min) * BINS_PER_DECADE);
  let hi = Math.ceil(Math.log10(max) * BINS_PER_DECADE);
  if (hi === lo) hi = lo + 1;
  const edges = Array.from({ length: hi - lo + 1 }, (_, i) => ms(10 ** ((lo + i) / BINS_PER_DECADE)) ?? 0);
  const counts = new Array<number>(hi - lo).fill(0);
  for (const v of positive) counts[Math.min(hi - lo - 1, Math.floor(Math.log10(v) * BINS_PER_DECADE) - lo)]++;
  return { edges, counts, n: positive.length };
}

/** Latencies gathered for one set of requests. */
class Samples {
  readonly ttft: number[] = [];
  readonly e2e: number[] = [];
  readonly gaps: number[] = [];
  readonly ours: number[] = [];
  readonly front: number[] = [];
  readonly backendEngine: number[] = [];

  add(t: RequestTimeline, d: ReturnType<typeof durations>): void {
    this.e2e.push(d.e2e);
    if (d.ttft !== null) this.ttft.push(d.ttft);
    const delivered = t.trace?.tokenDelivered;
    for (let i = 1; delivered && i < delivered.length && this.gaps.length < MAX_GAPS; i++) this.gaps.push(delivered.get(i) - delivered.get(i - 1));
  }

  histograms(): LatencyHistogramsJson {
    return { ttft_ms: histogram(this.ttft), itl_ms: histogram(this.gaps), e2e_ms: histogram(this.e2e) };
  }
}

/**
 * TTFT, inter-token gap and e2e histograms of the requests that ended in the
 * last `seconds` (the dashboard's charts), and the same per remote engine
 * with each one's hop parts.
 */
export function distributions(timelines: TimelineStore, seconds: number, at = now()): DistributionsJson {
  const since = at - seconds * 1000;
  const all = new Samples();
  const byEngine = new Map<string, Samples>();
  for (const t of timelines.recent()) {
    const ended = t.http.get(HttpPoint.response_ended);
    if (!isGeneration(t) || Number.isNaN(ended) || ended < since || t.status >= 400 || t.aborted) continue;
    const d = durations(t, ended);
    all.add(t, d);
    const hop = hopOf(t, d.e2e);
    if (!hop) continue;
    let own = byEngine.get(hop.engine);
    if (!own) byEngine.set(hop.engine, (own = new Samples()));
    own.add(t, d);
    // Without its finish on our clock a hop has no backend part, and its whole e2e would pass for ours.
    if (hop.backendMs !== null) own.ours.push(hop.oursMs);
    if (hop.networkAndFrontMs !== null) own.front.push(hop.networkAndFrontMs);
    if (hop.backendEngineMs !== null) own.backendEngine.push(hop.backendEngineMs);
  }
  const engines: Record<string, EngineDistributionsJson> = {};
  for (const [name, s] of byEngine) {
    engines[name] = { ...s.histograms(), ours_ms: rounded(stats(s.ours)), network_and_front_ms: rounded(stats(s.front)), backend_engine_ms: rounded(stats(s.backendEngine)) };
  }
  return { seconds, ...all.histograms(), engines };
}
