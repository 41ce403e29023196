/**
 * `llm-serving analyze`: joins the client's records with the server's
 * timelines by request id, fits e2e = a + b·n, reconciles n × per-token time
 * with what was measured (the study's table, done right), splits every
 * request's overhead into named parts, and explains each outlier.
 */
import { completed, serverIdOf, type ClientRecord } from "../bench/LoadClient.js";
import { engineMs, type ServerTimeline } from "../bench/serverRecords.js";
import { groupBy, linearFit, mean, median, robustBaseline, smallest } from "./fit.js";
import { findOutliers, type AnalyzedRequest, type Outlier } from "./outliers.js";
import { stepsByPosition, type PositionRow } from "./positions.js";
import { OVERHEAD_PARTS, perTokenNative, splitOverhead, type Parts } from "./overhead.js";

export interface AnalysisOptions {
  /** The fit leaves out requests beyond k × MAD of its robust line; outliers are beyond k × MAD of their peers. Default 5. */
  k?: number;
}

export interface LengthRow {
  length: number;
  requests: number;
  /** Mean output tokens. */
  n: number;
  /** Mean client e2e, ms. */
  measured: number;
  /** n × the engine's time per token. */
  nTimesT: number;
  /** (measured − n × t) / (n × t), %. */
  extraPct: number;
  /** Of the extra: the engine's own (queued → finished) − n × t, as % of n × t. */
  engineExtraPct: number;
  /** Of the extra: client e2e − the engine's time (HTTP, parsing, writing, network), as % of n × t. */
  outsidePct: number;
  fitted: number;
  residual: number;
  /** Mean overhead and its parts, ms. */
  overhead: number;
  parts: Parts;
}

export interface Analysis {
  clientRecords: number;
  completed: number;
  joined: number;
  /** Joined / completed. */
  joinRate: number;
  /** Absent when every request had the same output length (no slope to fit). */
  fit?: { a: number; b: number; r2: number };
  /** Requests left out of the fit (their first residual was beyond k × MAD). */
  fitExcluded: number;
  /**
   * The engine's own time against output length, over the requests of the
   * fit: its decode phase (durations.decode) = a + b·(n − 1). Its slope is the
   * engine's time per token as the fit sees it (a request that ran slow is
   * slow in both), so the fit's slope should match it.
   */
  engineFit?: { a: number; b: number; r2: number };
  /** (e2e − TTFT) = a' + b'·(n − 1), TTFT from the server: the decode rate alone. */
  decodeFit?: { a: number; b: number; r2: number };
  /** Median server TTFT, ms. */
  ttft: number;
  /** The engine's time per token: median over requests of its decode phase (durations.decode: first token → its last step) / (n − 1). */
  enginePerToken: number;
  /** Native time (decode + sample) of one typical decode step (perTokenNative), median over requests. */
  nativePerToken: number;
  lengths: LengthRow[];
  /** The engine's decode step time by output position. */
  positions: PositionRow[];
  partsMean: Parts;
  overheadMean: number;
  outliers: Outlier[];
  k: number;
  /** Each completed request: output tokens, client e2e, whether it is an outlier. */
  points: Array<{ x: number; y: number; outlier: boolean }>;
  /** Every step of the joined requests: server-clock ms from the first, and duration. */
  steps: Array<{ t: number; dur: number }>;
  gc: Array<{ t: number; dur: number; kind: string }>;
}

function emptyParts(): Parts {
  return Object.fromEntries(OVERHEAD_PARTS.map((p) => [p, 0])) as Parts;
}

function meanParts(list: readonly Parts[]): Parts {
  const out = emptyParts();
  for (const p of OVERHEAD_PARTS) out[p] = mean(list.map((x) => x[p]));
  return out;
}

/** `timelines` by the server's request ids; each client record joins the one of serverIdOf(record). */
export function analyze(records: readonly ClientRecord[], serverTimelines: ReadonlyMap<string, ServerTimeline>, options: AnalysisOptions = {}): Analysis {
  const k = options.k ?? 5;
  // Keyed by the client's id from here on.
  const timelines = new Map(records.filter((r) => serverTimelines.has(serverIdOf(r))).map((r) => [r.id, serverTimelines.get(serverIdOf(r))!]));
  const done = records.filter(completed);
  const joined = done.filter((r) => timelines.has(r.id));
  const e2e = (r: ClientRecord): number => r.end - r.sent;
  const { fit, kept } = robustBaseline(
    done.map((r) => r.outputTokens),
    done.map(e2e),
    k,
  );

  const withTimeline = joined.map((r) => ({ r, t: timelines.get(r.id)! }));
  const enginePerToken = median(withTimeline.filter(({ t }) => t.generated_tokens > 1).map(({ t }) => (t.durations.decode ?? NaN) / (t.generated_tokens - 1)));
  const nativePerToken = median(withTimeline.map(({ t }) => perTokenNative(t, NaN)));
  const ttft = median(withTimeline.map(({ t }) => t.durations.ttft ?? NaN));
  const multi = withTimeline.filter(({ r, t }) => r.outputTokens > 1 && t.durations.ttft !== null);
  const decodeFit =
    new Set(multi.map(({ r }) => r.outputTokens)).size > 1
      ? linearFit(
          multi.map(({ r }) => r.outputTokens - 1),
          multi.map(({ r, t }) => e2e(r) - t.durations.ttft!),
        )
      : undefined;

  const inFitSet = new Set(done.filter((_, i) => kept[i]));
  const inFit = withTimeline.filter(({ r, t }) => inFitSet.has(r) && r.outputTokens > 1 && t.durations.decode !== null);
  const engineFit =
    fit && new Set(inFit.map(({ r }) => r.outputTokens)).size > 1
      ? linearFit(
          inFit.map(({ r }) => r.outputTokens - 1),
          inFit.map(({ t }) => t.durations.decode!),
        )
      : undefined;

  const overheadOf = new Map(withTimeline.map(({ r, t }) => [r.id, splitOverhead(r, t, nativePerToken)]));
  const analyzed: AnalyzedRequest[] = done.map((r) => {
    const o = overheadOf.get(r.id);
    return { id: r.id, n: r.outputTokens, e2e: e2e(r), timeline: timelines.get(r.id), parts: o?.parts, perToken: o?.perToken };
  });

  // Without a slope to fit, residuals are measured from the median e2e.
  const level = fit ? NaN : median(done.map(e2e));
  const lengths: LengthRow[] = [...groupBy(done, (r) => r.maxTokens)].map(([length, group]) => {
    const n = mean(group.map((r) => r.outputTokens));
    const measured = mean(group.map(e2e));
    const nTimesT = n * enginePerToken;
    const overheads = group.map((r) => overheadOf.get(r.id)).filter((o) => o !== undefined);
    const fitted = fit ? fit.a + fit.b * n : level;
    const joinedGroup = group.filter((r) => timelines.has(r.id));
    const engine = mean(joinedGroup.map((r) => engineMs(timelines.get(r.id)!)));
    const outside = mean(joinedGroup.map((r) => e2e(r) - engineMs(timelines.get(r.id)!)));
    return {
      length,
      requests: group.length,
      n,
      measured,
      nTimesT,
      extraPct: ((measured - nTimesT) / nTimesT) * 100,
      engineExtraPct: ((engine - nTimesT) / nTimesT) * 100,
      outsidePct: (outside / nTimesT) * 100,
      fitted,
      residual: measured - fitted,
      overhead: mean(overheads.map((o) => o.overhead)),
      parts: meanParts(overheads.map((o) => o.parts)),
    };
  });

  const seen = new Set<number>();
  const steps: Array<{ t: number; dur: number }> = [];
  const gc: Array<{ t: number; dur: number; kind: string }> = [];
  const seenGc = new Set<number>();
  for (const { t } of withTimeline) {
    for (const s of t.steps) {
      if (seen.has(s.id)) continue;
      seen.add(s.id);
      steps.push({ t: t.origin + s.start, dur: s.dur });
    }
    for (const e of t.events) {
      const at = t.origin + e.start;
      if (e.type !== "gc" || seenGc.has(at)) continue;
      seenGc.add(at);
      gc.push({ t: at, dur: e.dur, kind: e.kind ?? "" });
    }
  }
  const t0 = Math.min(smallest(steps.map((s) => s.t)), smallest(gc.map((g) => g.t)));
  steps.sort((a, b) => a.t - b.t).forEach((s) => (s.t -= t0));
  gc.sort((a, b) => a.t - b.t).forEach((g) => (g.t -= t0));

  const all = [...overheadOf.values()];
  const outliers = findOutliers(analyzed, fit, k);
  const outlying = new Set(outliers.map((o) => o.id));
  return {
    clientRecords: records.length,
    completed: done.length,
    joined: joined.length,
    joinRate: done.length ? joined.length / done.length : 0,
    fit: fit && { a: fit.a, b: fit.b, r2: fit.r2 },
    fitExcluded: kept.filter((k) => !k).length,
    engineFit: engineFit && { a: engineFit.a, b: engineFit.b, r2: engineFit.r2 },
    decodeFit: decodeFit && { a: decodeFit.a, b: decodeFit.b, r2: decodeFit.r2 },
    ttft,
    enginePerToken,
    nativePerToken,
    lengths,
    positions: stepsByPosition(withTimeline.map(({ t }) => t)),
    partsMean: meanParts(all.map((o) => o.parts)),
    overheadMean: mean(all.map((o) => o.overhead)),
    outliers,
    k,
    points: done.map((r) => ({ x: r.outputTokens, y: e2e(r), outlier: outlying.has(r.id) })),
    steps,
    gc,
  };
}
