/**
 * What the dashboard's "Now" view shows, from the timelines kept in the ring:
 * the requests in flight (their phase, tokens so far, age), the most recent
 * finished ones, and the last minute's throughput and TTFT / TPOT / e2e
 * percentiles. Built only when someone watches (the debug stream), at most a
 * few times a second, from marks already taken: nothing is added to the
 * request path.
 */
import { now } from "./clock.js";
import { HttpPoint, RequestPoint } from "./points.js";
import { breakdownRequest, stats, type RequestBreakdown, type Stats } from "./requestBreakdown.js";
import type { RequestTimeline } from "./RequestTimeline.js";
import type { TimelineStore } from "./TimelineStore.js";
import { ms } from "./timelineJson.js";

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

function recent(b: RequestBreakdown, ended: number, at: number): RecentRequestJson {
  const d = b.durations;
  return {
    id: b.id,
    route: b.route,
    status: b.status,
    finish_reason: b.finishReason || null,
    generated_tokens: b.generatedTokens,
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
  const since = at - WINDOW_S * 1000;
  // Newest first: stop at the first request that ended before the window (older ones did too, nearly always).
  for (const t of timelines.recent()) {
    const ended = t.http.get(HttpPoint.response_ended);
    if (Number.isNaN(ended)) {
      inFlight.push(running(t, at));
      continue;
    }
    if (ended < since) {
      if (finished.length >= RECENT) break;
      continue;
    }
    const b = breakdownRequest(t, undefined, undefined, at, false);
    if (finished.length < RECENT) finished.push(recent(b, ended, at));
    if (b.status >= 400 || b.aborted) continue;
    tokens += b.generatedTokens;
    e2e.push(b.durations.e2e);
    if (b.durations.ttft !== null) ttft.push(b.durations.ttft);
    if (b.durations.tpot !== null) tpot.push(b.durations.tpot);
  }
  inFlight.reverse(); // oldest first
  return {
    running: inFlight,
    recent: finished,
    window: { seconds: WINDOW_S, requests: e2e.length, tokens_per_second: Math.round((tokens / WINDOW_S) * 10) / 10, ttft_ms: rounded(stats(ttft)), tpot_ms: rounded(stats(tpot)), e2e_ms: rounded(stats(e2e)) },
  };
}
