/**
 * Whether pauses recur at a regular interval: in wall time across requests
 * (GC-shaped: a collection every so many MB allocated, at a steady load,
 * comes every so many ms whichever request is streaming) or in token
 * position within requests (every 64 tokens: a per-request cause, such as a
 * buffer flush or a batch boundary).
 *
 * The beat rule, for a list of intervals (between consecutive episodes' start
 * times, or between consecutive pause positions of one request):
 *
 * - the first guess P0 is the median interval;
 * - an interval d is on the beat when it is m ≥ 1 beats long,
 *   m = round(d / P0), within max(20 % of P0, minTolerance) of m × P0; m > 1
 *   is a missed beat (a collection while no stream was in a gap, a pause
 *   below the floor), which must not make a regular series irregular;
 * - the period is Σ d / Σ m over the intervals on the beat (for consecutive
 *   ones this is (last − first) / beats, so it is not the median's guess but
 *   the whole span's), and its spread the coefficient of variation of d / m;
 * - periodic when at least 4 intervals are on the beat, they are at least
 *   75 % of all intervals (a sporadic pause between two beats makes two
 *   irregular intervals), they span at most twice as many beats as were seen,
 *   and the CV is at most 0.1.
 */
import { median } from "./fit.js";
import type { Pause, RequestPauses } from "./pauses.js";

export const BEAT_TOLERANCE = 0.2;
export const MAX_CV = 0.1;
export const MIN_ON_BEAT = 4;
export const MIN_ON_BEAT_SHARE = 0.75;
export const MIN_SEEN_SHARE = 0.5;
/** Position periodicity counts as counted from the request's start when this share of pauses sits at one phase. */
export const MIN_ALIGNED_SHARE = 0.75;
/** A wall-time period is process-wide when its stalls held up at least this share of the streams in flight. */
export const MIN_SHARED = 0.5;

/** Pauses of several requests that overlapped in time: one stall, seen by every stream it held up. */
export interface PauseEpisode {
  /** When the stall began, best estimate (client clock, ms): the latest previous arrival or the earliest due time, whichever is later. */
  start: number;
  /** The earliest late arrival: the stall had ended by then. */
  end: number;
  /** The largest pause in it, ms. */
  size: number;
  pauses: number;
  requests: number;
  /** Requests that were decoding through it: a process-wide stall (a GC) holds up every one of them. */
  inFlight: number;
}

export interface Periodicity {
  unit: "ms" | "tokens";
  /** Σ d / Σ m over the intervals on the beat; NaN when none is (onBeat 0): there is no period. */
  period: number;
  /** Coefficient of variation of d / m over the intervals on the beat; NaN when none is. */
  cv: number;
  intervals: number;
  onBeat: number;
  onBeatShare: number;
  /** Beats spanned by the intervals on the beat (> onBeat when beats were missed). */
  beats: number;
  periodic: boolean;
  /** Wall time only: of the streams decoding through the episodes, the share each held up (Σ requests / Σ in flight). */
  shared?: number;
  /** Token position only: the share of pauses at the dominant phase (position mod period, ±1), over requests with pauses; undefined with fewer than 2 such requests. */
  aligned?: number;
  /** Token position only: the dominant phase. */
  phase?: number;
}

/** A request's decoding span on the client clock: first and last token arrival. */
export interface DecodeSpan {
  first: number;
  last: number;
}

/**
 * Merges pauses whose gaps overlap in time. Every stream held up by one stall
 * has a gap that contains the stall, so their gaps overlap one another; the
 * stall began after the latest previous arrival and (a stall delays a token
 * from when it was due) by the earliest due time.
 */
export function episodesOf(pauses: readonly Pause[], spans: readonly DecodeSpan[]): PauseEpisode[] {
  const sorted = [...pauses].sort((a, b) => a.prev - b.prev);
  const groups: Pause[][] = [];
  let reach = -Infinity;
  for (const p of sorted) {
    const last = groups[groups.length - 1];
    if (last && p.prev < reach) {
      last.push(p);
      reach = Math.max(reach, p.at);
    } else {
      groups.push([p]);
      reach = p.at;
    }
  }
  const byFirst = [...spans].sort((a, b) => a.first - b.first);
  return groups.map((g) => {
    const start = Math.max(Math.max(...g.map((p) => p.prev)), Math.min(...g.map((p) => p.due)));
    const end = Math.min(...g.map((p) => p.at));
    const requests = new Set(g.map((p) => p.id)).size;
    return { start, end, size: Math.max(...g.map((p) => p.size)), pauses: g.length, requests, inFlight: Math.max(requests, decodingThrough(byFirst, start, end)) };
  });
}

/** How many requests were decoding from start to end (spans sorted by first arrival). */
function decodingThrough(byFirst: readonly DecodeSpan[], start: number, end: number): number {
  let n = 0;
  for (const s of byFirst) {
    if (s.first > start) break;
    if (s.last >= end) n++;
  }
  return n;
}

function coefficientOfVariation(values: readonly number[], mean: number): number {
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length;
  return Math.sqrt(variance) / mean;
}

/** The beat rule (see the module comment); undefined with fewer intervals than could ever be periodic. */
export function beatFit(intervals: readonly number[], unit: "ms" | "tokens", minTolerance = 0): Periodicity | undefined {
  if (intervals.length < MIN_ON_BEAT) return undefined;
  const guess = median(intervals);
  if (!(guess > 0)) return undefined;
  const tolerance = Math.max(BEAT_TOLERANCE * guess, minTolerance);
  let span = 0;
  let beats = 0;
  const perBeat: number[] = [];
  for (const d of intervals) {
    const m = Math.round(d / guess);
    if (m < 1 || Math.abs(d - m * guess) > tolerance) continue;
    span += d;
    beats += m;
    perBeat.push(d / m);
  }
  const period = span / beats;
  const onBeat = perBeat.length;
  const cv = onBeat ? coefficientOfVariation(perBeat, period) : NaN;
  const onBeatShare = onBeat / intervals.length;
  const periodic = onBeat >= MIN_ON_BEAT && onBeatShare >= MIN_ON_BEAT_SHARE && onBeat / beats >= MIN_SEEN_SHARE && cv <= MAX_CV;
  return { unit, period, cv, intervals: intervals.length, onBeat, onBeatShare, beats, periodic };
}

/** Periodicity of the episodes' start times, with how many of the streams in flight each held up. */
export function wallPeriodicity(episodes: readonly PauseEpisode[]): Periodicity | undefined {
  const starts = episodes.map((e) => e.start).sort((a, b) => a - b);
  const fit = beatFit(
    starts.slice(1).map((s, i) => s - starts[i]),
    "ms",
  );
  if (!fit) return undefined;
  const held = episodes.reduce((n, e) => n + e.requests, 0);
  const inFlight = episodes.reduce((n, e) => n + e.inFlight, 0);
  return { ...fit, shared: held / inFlight };
}

/** The phase (position mod q) most pauses sit at, ±1 when q leaves room for it, and their share. */
function dominantPhase(positions: readonly number[], q: number): { phase: number; share: number } {
  const counts = new Array<number>(q).fill(0);
  for (const p of positions) counts[p % q]++;
  const reach = q >= 8 ? 1 : 0;
  let best = { phase: 0, share: 0 };
  for (let r = 0; r < q; r++) {
    let n = 0;
    for (let dr = -reach; dr <= reach; dr++) n += counts[(r + dr + q) % q];
    if (n / positions.length > best.share) best = { phase: r, share: n / positions.length };
  }
  return best;
}

/** Periodicity of pause positions within requests, with how aligned they are to the requests' starts. */
export function positionPeriodicity(requests: readonly RequestPauses[]): Periodicity | undefined {
  const intervals = requests.flatMap((r) => r.pauses.slice(1).map((p, i) => p.position - r.pauses[i].position));
  const fit = beatFit(intervals, "tokens", 1);
  if (!fit) return undefined;
  // An interval of one token is a slow stretch, not a recurrence.
  fit.periodic &&= fit.period >= 2;
  const withPauses = requests.filter((r) => r.pauses.length > 0);
  // No interval on a common beat: there is no period to align the pauses to.
  if (withPauses.length < 2 || fit.onBeat === 0) return fit;
  const q = Math.max(1, Math.round(fit.period));
  const { phase, share } = dominantPhase(
    withPauses.flatMap((r) => r.pauses.map((p) => p.position)),
    q,
  );
  return { ...fit, aligned: share, phase };
}

/**
 * Which periodicity explains the pauses. Steady streams turn a wall-time
 * period into a token one (a collection every 1 s is a pause every ~50 tokens
 * of a 20 ms stream), and sequential requests of one length turn a token
 * period into a wall-time one. When both hold, token position wins if the
 * pauses sit at one phase across requests (counted from each request's start,
 * which a wall-clock cause would not do), or if each stall held up fewer than
 * half the streams in flight (a process-wide stall holds up all of them);
 * else wall time.
 */
export function periodicCause(wall: Periodicity | undefined, position: Periodicity | undefined): "wall time" | "token position" | undefined {
  if (position?.periodic) {
    if (!wall?.periodic) return "token position";
    if ((position.aligned ?? 0) >= MIN_ALIGNED_SHARE || (wall.shared ?? 1) < MIN_SHARED) return "token position";
  }
  return wall?.periodic ? "wall time" : undefined;
}
