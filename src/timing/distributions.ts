/**
 * The dashboard's charts of the last minute: TTFT, inter-token gap and e2e
 * histograms of the requests that ended in it, and the same per remote
 * engine with each one's time across the hop. Built only when asked (GET
 * /debug/distributions), from marks already taken.
 */
import { now } from "./clock.js";
import { durations } from "./liveView.js";
import { HttpPoint } from "./points.js";
import { LogHistogram, type HistogramJson } from "./LogHistogram.js";
import { hopOf, stats, type Stats } from "./requestBreakdown.js";
import type { RequestTimeline } from "./RequestTimeline.js";
import type { TimelineStore } from "./TimelineStore.js";
import { statsJson } from "./timelineJson.js";

export interface LatencyHistogramsJson {
  ttft_ms: HistogramJson;
  /** Every gap between two consecutive tokens' deliveries. */
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

/**
 * A finished request's inter-token gaps, binned once: the charts ask every
 * few seconds for the last minute, and a request's deliveries do not change
 * once it has ended (cancelled ones, whose deliveries may still grow after
 * their end, are not charted). Weak: a timeline that leaves the ring takes its bins
 * with it.
 */
const gapBins = new WeakMap<RequestTimeline, LogHistogram>();

function gapsOf(t: RequestTimeline): LogHistogram {
  let h = gapBins.get(t);
  if (!h) {
    h = new LogHistogram();
    const delivered = t.trace?.tokenDelivered;
    for (let i = 1; delivered && i < delivered.length; i++) h.add(delivered.get(i) - delivered.get(i - 1));
    gapBins.set(t, h);
  }
  return h;
}

/** Latencies gathered for one set of requests. */
class Samples {
  readonly ttft = new LogHistogram();
  readonly e2e = new LogHistogram();
  readonly gaps = new LogHistogram();
  readonly ours: number[] = [];
  readonly front: number[] = [];
  readonly backendEngine: number[] = [];

  /** `t` has ended. */
  add(t: RequestTimeline, d: ReturnType<typeof durations>): void {
    this.e2e.add(d.e2e);
    if (d.ttft !== null) this.ttft.add(d.ttft);
    this.gaps.merge(gapsOf(t));
  }

  histograms(): LatencyHistogramsJson {
    return { ttft_ms: this.ttft.toJson(), itl_ms: this.gaps.toJson(), e2e_ms: this.e2e.toJson() };
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
    if (!t.generation || Number.isNaN(ended) || ended < since || t.status >= 400 || t.aborted) continue;
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
    engines[name] = { ...s.histograms(), ours_ms: statsJson(stats(s.ours)), network_and_front_ms: statsJson(stats(s.front)), backend_engine_ms: statsJson(stats(s.backendEngine)) };
  }
  return { seconds, ...all.histograms(), engines };
}
