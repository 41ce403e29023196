/**
 * Pauses seen from the client alone: "is it GC?" answered from streamed
 * client records, with no server record at all, so that it works against any
 * server.
 *
 * Per request: TTFT (first token's arrival − sent) and every gap between two
 * token arrivals. Tokens that came in the same chunk share one arrival time;
 * their zero gaps say nothing about timing, so gaps are taken between
 * distinct arrivals (a server that sends four tokens a chunk has one gap per
 * chunk, not three zeros and a long one). The request's typical gap is the
 * median of its gaps: a pause, being rare, does not move it.
 *
 * The pause rule: a gap is a pause when
 *
 *     gap > typical + max(k × MAD, floorMs, relativeFloor × typical)
 *
 * with MAD the median absolute deviation of the request's gaps (k = 5 and
 * the raw MAD, as the outliers use; 2 ms; 50 %). The MAD term scales with
 * the request's own noise; the absolute floor keeps sub-millisecond wobble of
 * a very steady stream from counting; the relative floor keeps ordinary
 * jitter (±20 % of the typical gap) from counting on a stream whose MAD
 * happens to be small. A pause's size is gap − typical: the time it added.
 *
 * Over the run the pauses are then absent, periodic (in wall time across
 * requests, or in token position within requests: pausePeriod.ts) or
 * sporadic, with a sentence that says so (pauseVerdict.ts).
 *
 * The clock is the client's: a pause seen here may be the client's own (its
 * GC, its event loop, its reading of the socket) or the network's, not only
 * the server's. Only the server's records can tell them apart; this says
 * whether there is anything to tell apart, and what shape it has.
 */
import type { ClientRecord } from "../bench/LoadClient.js";
import { largest, mad, median, smallest } from "./fit.js";
import { episodesOf, periodicCause, positionPeriodicity, wallPeriodicity, type PauseEpisode, type Periodicity } from "./pausePeriod.js";
import { pauseKind, pauseVerdict, type PauseKind } from "./pauseVerdict.js";

export interface PauseOptions {
  /** A pause is beyond k × MAD of the request's gaps (among the floors). Default 5. */
  k?: number;
  /** …and beyond this many ms above typical. Default 2. */
  floorMs?: number;
  /** …and beyond this share of the typical gap above typical. Default 0.5. */
  relativeFloor?: number;
  /** Pauses count as absent below this share of gaps… Default 0.001. */
  absentShare?: number;
  /** …when they also add less than this share of the decode time. Default 0.001. */
  absentTimeShare?: number;
}

export const PAUSE_DEFAULTS: Readonly<Required<PauseOptions>> = { k: 5, floorMs: 2, relativeFloor: 0.5, absentShare: 0.001, absentTimeShare: 0.001 };

export interface Pause {
  /** The request's id (the x-request-id sent). */
  id: string;
  /** Index in the record's tokens of the token that arrived late (≥ 1: token 0's wait is the TTFT). */
  position: number;
  /** The gap, ms. */
  gap: number;
  /** gap − the request's typical gap: the time the pause added, ms. */
  size: number;
  /** Arrival of the token before, client clock (ms from the run's start). */
  prev: number;
  /** prev + typical: when the token was due. The stall began between prev and due. */
  due: number;
  /** Arrival of the late token: the stall had ended by then. */
  at: number;
}

export interface RequestPauses {
  id: string;
  index: number;
  /** Streamed tokens. */
  tokens: number;
  /** Gaps between distinct arrivals (tokens of one chunk share an arrival). */
  gaps: number;
  /** First token's arrival − sent, ms. */
  ttft: number;
  /** Median gap, ms. */
  typicalGap: number;
  /** MAD of the gaps, ms. */
  madGap: number;
  /** A gap above this is a pause, ms. */
  threshold: number;
  /** First token's arrival, client clock (ms from the run's start). */
  first: number;
  /** Last arrival − first arrival, ms. */
  decodeMs: number;
  pauses: Pause[];
  /** Sum of the pauses' sizes, ms. */
  pauseMs: number;
}

/** Records the analysis could not use, by reason. */
export interface LeftOut {
  /** Whole responses: one arrival, no gaps to measure. */
  notStreamed: number;
  /** An error or a status other than 200. */
  errors: number;
  /** Fewer than 3 tokens. */
  fewTokens: number;
  /** 3 tokens or more, but in fewer than 3 distinct arrivals (fewer than 2 gaps). */
  fewArrivals: number;
}

/** What the data cannot tell: returned instead of zeros. */
export interface PausesNotMeasured {
  measured: false;
  reason: "not streamed" | "no usable streamed request" | "no records";
  leftOut: LeftOut;
}

export interface PauseSummary {
  requests: number;
  gaps: number;
  count: number;
  /** count / gaps. */
  share: number;
  /** Sum of pause sizes, ms. */
  totalMs: number;
  /** Sum of the requests' decode times (last − first arrival), ms. */
  decodeMs: number;
  /** totalMs / decodeMs. */
  decodeShare: number;
  /** Of the pause sizes, ms (NaN without pauses). */
  medianSize: number;
  minSize: number;
  maxSize: number;
  /** Median TTFT over the requests, ms. */
  medianTtft: number;
}

export interface PauseAnalysis {
  measured: true;
  options: Required<PauseOptions>;
  requests: RequestPauses[];
  /** Every pause, by arrival. */
  pauses: Pause[];
  /** Pauses that overlapped in time across requests, merged: one stall seen by every stream it held up. */
  episodes: PauseEpisode[];
  leftOut: LeftOut;
  summary: PauseSummary;
  /** Periodicity of the episodes' start times (ms); absent with too few episodes. */
  wall?: Periodicity;
  /** Periodicity of pause positions within requests (tokens); absent with too few intervals. */
  position?: Periodicity;
  kind: PauseKind;
  /** For a periodic kind: which periodicity explains it. */
  periodicIn?: "wall time" | "token position";
  /** One sentence, computed from the numbers above. */
  verdict: string;
}

/** The first index of each run of tokens that share an arrival time. */
function arrivalStarts(tokens: readonly number[]): number[] {
  const starts: number[] = [];
  for (let i = 0; i < tokens.length; i++) if (i === 0 || tokens[i] !== tokens[i - 1]) starts.push(i);
  return starts;
}

/** Why a record cannot be used, or undefined when it can. */
function leftOutReason(r: ClientRecord): keyof LeftOut | undefined {
  if (!r.stream) return "notStreamed";
  if (r.error !== undefined || r.status !== 200) return "errors";
  if (r.tokens.length < 3) return "fewTokens";
  if (arrivalStarts(r.tokens).length < 3) return "fewArrivals";
  return undefined;
}

/** One streamed request's gaps, typical gap and pauses; the record must be usable (streamed, no error, 3 arrivals or more), as analyzePauses checks. */
function requestPauses(r: ClientRecord, o: Required<PauseOptions>): RequestPauses {
  const starts = arrivalStarts(r.tokens);
  const gaps = starts.slice(1).map((s, j) => r.tokens[s] - r.tokens[starts[j]]);
  const typicalGap = median(gaps);
  const madGap = mad(gaps);
  const threshold = typicalGap + Math.max(o.k * madGap, o.floorMs, o.relativeFloor * typicalGap);
  const pauses: Pause[] = [];
  gaps.forEach((gap, j) => {
    if (!(gap > threshold)) return;
    const prev = r.tokens[starts[j]];
    pauses.push({ id: r.id, position: starts[j + 1], gap, size: gap - typicalGap, prev, due: prev + typicalGap, at: r.tokens[starts[j + 1]] });
  });
  return {
    id: r.id,
    index: r.index,
    tokens: r.tokens.length,
    gaps: gaps.length,
    ttft: r.tokens[0] - r.sent,
    typicalGap,
    madGap,
    threshold,
    first: r.tokens[0],
    decodeMs: r.tokens[r.tokens.length - 1] - r.tokens[0],
    pauses,
    pauseMs: pauses.reduce((s, p) => s + p.size, 0),
  };
}

function summarize(requests: readonly RequestPauses[], pauses: readonly Pause[]): PauseSummary {
  const gaps = requests.reduce((s, r) => s + r.gaps, 0);
  const totalMs = pauses.reduce((s, p) => s + p.size, 0);
  const decodeMs = requests.reduce((s, r) => s + r.decodeMs, 0);
  const sizes = pauses.map((p) => p.size);
  return {
    requests: requests.length,
    gaps,
    count: pauses.length,
    share: gaps ? pauses.length / gaps : 0,
    totalMs,
    decodeMs,
    decodeShare: decodeMs > 0 ? totalMs / decodeMs : 0,
    medianSize: median(sizes),
    minSize: sizes.length ? smallest(sizes) : NaN,
    maxSize: sizes.length ? largest(sizes) : NaN,
    medianTtft: median(requests.map((r) => r.ttft)),
  };
}

/**
 * The pauses in a run's client records, their shape over the run and a
 * verdict; or, when no record has gaps to measure, why not.
 */
export function analyzePauses(records: readonly ClientRecord[], options: PauseOptions = {}): PauseAnalysis | PausesNotMeasured {
  const o: Required<PauseOptions> = { ...PAUSE_DEFAULTS, ...options };
  const leftOut: LeftOut = { notStreamed: 0, errors: 0, fewTokens: 0, fewArrivals: 0 };
  const usable: ClientRecord[] = [];
  for (const r of records) {
    const reason = leftOutReason(r);
    if (reason) leftOut[reason]++;
    else usable.push(r);
  }
  if (usable.length === 0) {
    const reason = records.length === 0 ? "no records" : leftOut.notStreamed === records.length ? "not streamed" : "no usable streamed request";
    return { measured: false, reason, leftOut };
  }
  const requests = usable.map((r) => requestPauses(r, o));
  const pauses = requests.flatMap((r) => r.pauses).sort((a, b) => a.at - b.at);
  const episodes = episodesOf(
    pauses,
    requests.map((r) => ({ first: r.first, last: r.first + r.decodeMs })),
  );
  const summary = summarize(requests, pauses);
  const wall = wallPeriodicity(episodes);
  const position = positionPeriodicity(requests);
  const periodicIn = periodicCause(wall, position);
  const kind = pauseKind(summary, o, periodicIn);
  const verdict = pauseVerdict({ summary, options: o, kind, periodicIn, wall, position, episodes: episodes.length });
  return { measured: true, options: o, requests, pauses, episodes, leftOut, summary, wall, position, kind, periodicIn: kind === "periodic" ? periodicIn : undefined, verdict };
}
