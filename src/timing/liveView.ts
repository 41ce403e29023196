/**
 * What the dashboard's "Now" view shows, from the timelines kept in the ring:
 * the requests in flight (their phase, tokens so far, age), the most recent
 * finished ones, and the last minute's throughput and TTFT / TPOT / e2e
 * percentiles. Built only when someone watches (the debug stream), at most a
 * few times a second, from marks already taken: nothing is added to the
 * request path.
 */
import { now } from "./clock.js";
import type { RuntimeEvents } from "./requestBreakdown.js";
import { HttpPoint, RequestPoint, StepPoint } from "./points.js";
import { hopOf, latencies, stats, type Stats } from "./requestBreakdown.js";
import type { RequestTimeline } from "./RequestTimeline.js";
import type { TimelineStore } from "./TimelineStore.js";
import type { RuntimeEventJson } from "./recordJson.js";
import type { StepStore } from "./StepStore.js";
import { ms } from "./timelineJson.js";
import { gcKindName } from "./RuntimeMonitor.js";

export type LivePhase = "receiving" | "tokenizing" | "queued" | "prefill" | "decoding" | "relaying" | "writing";

export interface LiveRequestJson {
  id: string;
  route: string;
  phase: LivePhase;
  /** ms since it was received. */
  age_ms: number;
  prompt_tokens: number;
  /** Tokens delivered to its stream so far. */
  generated_tokens: number;
  /** The remote engine serving it, if any. */
  engine: string | null;
}

export interface RecentRequestJson {
  id: string;
  route: string;
  status: number;
  finish_reason: string | null;
  generated_tokens: number;
  /** ms before now that it ended. */
  ended_ago_ms: number;
  e2e_ms: number;
  ttft_ms: number | null;
  tpot_ms: number | null;
}

export interface LiveWindowJson {
  seconds: number;
  requests: number;
  /** Generated tokens per second over the window. */
  tokens_per_second: number;
  ttft_ms: Stats;
  tpot_ms: Stats;
  e2e_ms: Stats;
}

export interface LiveViewJson {
  running: LiveRequestJson[];
  recent: RecentRequestJson[];
  window: LiveWindowJson;
  /** Tokens delivered to streams in the last second: the throughput now. */
  tokens_last_second: number;
}

/** Tokens of `t` delivered since `since`, counted from its newest backwards. */
function deliveredSince(t: RequestTimeline, since: number): number {
  const d = t.trace?.tokenDelivered;
  let n = 0;
  for (let i = (d?.length ?? 0) - 1; d && i >= 0 && d.get(i) >= since; i--) n++;
  return n;
}

/** The window the percentiles and throughput cover. */
export const WINDOW_S = 60;
/** Finished requests listed. */
const RECENT = 20;

function phaseOf(t: RequestTimeline): LivePhase {
  const trace = t.trace;
  const at = (p: number): boolean => !Number.isNaN(trace?.marks.get(p) ?? NaN);
  if (!trace) return Number.isNaN(t.http.get(HttpPoint.validated)) ? "receiving" : "tokenizing";
  if (at(RequestPoint.finished)) return "writing";
  if (trace.hop) return "relaying";
  if (at(RequestPoint.first_token)) return "decoding";
  if (at(RequestPoint.admitted)) return "prefill";
  return at(RequestPoint.queued) ? "queued" : "tokenizing";
}

function running(t: RequestTimeline, at: number): LiveRequestJson {
  return {
    id: t.id,
    route: t.route,
    phase: phaseOf(t),
    age_ms: ms(at - t.http.get(HttpPoint.received)) ?? 0,
    prompt_tokens: t.promptTokens,
    generated_tokens: t.trace?.tokenDelivered.length ?? 0,
    engine: t.trace?.hop?.engine ?? null,
  };
}

function durations(t: RequestTimeline, ended: number): ReturnType<typeof latencies> & { tokens: number } {
  const l = latencies(t, ended);
  return { ...l, tokens: l.delivered || t.generatedTokens };
}

function recent(t: RequestTimeline, d: ReturnType<typeof durations>, ended: number, at: number): RecentRequestJson {
  return {
    id: t.id,
    route: t.route,
    status: t.status,
    finish_reason: t.finishReason || null,
    generated_tokens: d.tokens,
    ended_ago_ms: ms(at - ended) ?? 0,
    e2e_ms: ms(d.e2e) ?? 0,
    ttft_ms: ms(d.ttft),
    tpot_ms: ms(d.tpot),
  };
}

const rounded = (s: Stats): Stats => ({ n: s.n, mean: ms(s.mean), p50: ms(s.p50), p90: ms(s.p90), max: ms(s.max) });

export function liveView(timelines: TimelineStore, at = now()): LiveViewJson {
  const inFlight: LiveRequestJson[] = [];
  const finished: RecentRequestJson[] = [];
  const ttft: number[] = [];
  const tpot: number[] = [];
  const e2e: number[] = [];
  let tokens = 0;
  let lastSecond = 0;
  const since = at - WINDOW_S * 1000;
  // The whole ring (it is bounded): a request received long ago may still be running.
  for (const t of timelines.recent()) {
    const ended = t.http.get(HttpPoint.response_ended);
    if (Number.isNaN(ended) || ended >= at - 1000) lastSecond += deliveredSince(t, at - 1000);
    if (Number.isNaN(ended)) {
      inFlight.push(running(t, at));
      continue;
    }
    if (ended < since) continue;
    const d = durations(t, ended);
    if (finished.length < RECENT) finished.push(recent(t, d, ended, at));
    if (t.status >= 400 || t.aborted) continue;
    tokens += d.tokens;
    e2e.push(d.e2e);
    if (d.ttft !== null) ttft.push(d.ttft);
    if (d.tpot !== null) tpot.push(d.tpot);
  }
  inFlight.reverse(); // oldest first
  return {
    running: inFlight,
    recent: finished,
    tokens_last_second: lastSecond,
    window: { seconds: WINDOW_S, requests: e2e.length, tokens_per_second: Math.round((tokens / WINDOW_S) * 10) / 10, ttft_ms: rounded(stats(ttft)), tpot_ms: rounded(stats(tpot)), e2e_ms: rounded(stats(e2e)) },
  };
}

/** A step as the step timeline draws it: a compact form of StepJson (a window holds up to a thousand). */
export interface WindowStepJson {
  id: number;
  start: number;
  dur: number;
  /** Its decode span (llama_decode). */
  decode: number | null;
  rows: number;
  /** Some row fed prompt tokens. */
  prefill: boolean;
  /** The longest context a row attended to in it: its KV cells before the step plus the tokens it fed. */
  context: number;
  /** The requests it carried, as indexes into the window's `requests` (a request rides hundreds of steps: its id is sent once). */
  requests: number[];
}

export interface StepWindowJson {
  /** The window's length; every time below is ms from its start. */
  window_ms: number;
  /** The window's end on the server's clock (ms): lets a watcher that asks for new steps only place them beside the ones it has. */
  now: number;
  /** Steps are newest-first capped at MAX_WINDOW_STEPS; `truncated` says when older ones in the window were left out. */
  truncated: boolean;
  /** The ids of the requests the steps carried. */
  requests: string[];
  steps: WindowStepJson[];
  events: RuntimeEventJson[];
}

/** Most steps sent for one window (a tiny model runs a thousand a second): the newest are kept. */
export const MAX_WINDOW_STEPS = 1000;

/**
 * The engine steps of the last `windowMs` — only those after step `after`,
 * for a watcher that has the older ones — with the GC pauses and stalls in
 * that time (the dashboard's step timeline).
 */
export function stepWindow(steps: StepStore, events: RuntimeEvents, windowMs: number, at = now(), after = 0): StepWindowJson {
  const origin = at - windowMs;
  const out: WindowStepJson[] = [];
  const ids = new Map<string, number>();
  const index = (id: string): number => {
    let i = ids.get(id);
    if (i === undefined) ids.set(id, (i = ids.size));
    return i;
  };
  let truncated = false;
  for (let id = steps.latest; id > after && steps.has(id); id--) {
    if (steps.mark(id, StepPoint.delivered) < origin) break;
    if (out.length === MAX_WINDOW_STEPS) {
      truncated = true;
      break;
    }
    const s = steps.get(id)!;
    const start = s.marks.get(StepPoint.step_start);
    out.push({
      id,
      start: ms(start - origin) ?? 0,
      dur: ms(s.marks.get(StepPoint.delivered) - start) ?? 0,
      decode: ms(s.marks.get(StepPoint.decode_end) - s.marks.get(StepPoint.decode_start)),
      rows: s.rows.length,
      prefill: s.rows.some((r) => r.kind === "prefill"),
      context: s.rows.reduce((m, r) => Math.max(m, r.position + r.tokens), 0),
      requests: s.rows.map((r) => index(r.requestId)),
    });
  }
  out.reverse();
  const evs: RuntimeEventJson[] = [];
  events.gc.forEachOverlapping(origin, at, (s, e, kind) => evs.push({ type: "gc", kind: gcKindName(kind), start: ms(s - origin) ?? 0, dur: ms(e - s) ?? 0, step: null }));
  events.stalls.forEachOverlapping(origin, at, (s, e) => evs.push({ type: "stall", start: ms(s - origin) ?? 0, dur: ms(e - s) ?? 0, step: null }));
  return { window_ms: windowMs, now: ms(at) ?? 0, truncated, requests: [...ids.keys()], steps: out, events: evs.sort((a, b) => a.start - b.start) };
}

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
    if (Number.isNaN(ended) || ended < since || t.status >= 400 || t.aborted) continue;
    const d = durations(t, ended);
    all.add(t, d);
    const hop = hopOf(t, d.e2e);
    if (!hop) continue;
    let own = byEngine.get(hop.engine);
    if (!own) byEngine.set(hop.engine, (own = new Samples()));
    own.add(t, d);
    own.ours.push(hop.oursMs);
    if (hop.networkAndFrontMs !== null) own.front.push(hop.networkAndFrontMs);
    if (hop.backendEngineMs !== null) own.backendEngine.push(hop.backendEngineMs);
  }
  const engines: Record<string, EngineDistributionsJson> = {};
  for (const [name, s] of byEngine) {
    engines[name] = { ...s.histograms(), ours_ms: rounded(stats(s.ours)), network_and_front_ms: rounded(stats(s.front)), backend_engine_ms: rounded(stats(s.backendEngine)) };
  }
  return { seconds, ...all.histograms(), engines };
}
