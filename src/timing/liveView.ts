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
import { latencies, stats, type Stats } from "./requestBreakdown.js";
import type { RequestTimeline } from "./RequestTimeline.js";
import type { TimelineStore } from "./TimelineStore.js";
import { ms, statsJson } from "./timelineJson.js";

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

type Durations = ReturnType<typeof latencies> & { tokens: number };

/**
 * Each ended request's figures, worked out once: the views ask for the last
 * minute's every few hundred ms, and they do not change once it has ended —
 * unless its client left (the engine may deliver a token or two after the
 * disconnect is marked): those are worked out each time.
 */
const endedFigures = new WeakMap<RequestTimeline, { at: number; d: Durations }>();

/** A finished request's e2e, TTFT and TPOT, and its tokens; `at`: its end. */
export function durations(t: RequestTimeline, at: number): Durations {
  const known = endedFigures.get(t);
  if (known?.at === at) return known.d;
  const l = latencies(t, at);
  const d = { ...l, tokens: l.delivered || t.generatedTokens };
  if (!t.aborted) endedFigures.set(t, { at, d });
  return d;
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
    if (!t.generation) continue;
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
    window: { seconds: WINDOW_S, requests: e2e.length, tokens_per_second: Math.round((tokens / WINDOW_S) * 10) / 10, ttft_ms: statsJson(stats(ttft)), tpot_ms: statsJson(stats(tpot)), e2e_ms: statsJson(stats(e2e)) },
  };
}
