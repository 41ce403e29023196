/**
 * Outliers: requests that took much longer than requests like them, each
 * with its cause as its timeline shows it.
 *
 * "Like them" is the same output length: the median e2e of the requests of
 * that length when there are at least three, and then the deviation is
 * relative (e2e / expected − 1), because the noise of a request grows with
 * its length: 5 ms is a lot for a 30 ms request and nothing for a 9 s one;
 * an outlier's relative deviation is above the median by more than k × MAD
 * of all of them. A request with fewer peers is judged on its residual from
 * the fit's line, in ms, against the MAD of those residuals.
 *
 * The cause is the overhead part that exceeds its usual value by the most;
 * usual is the median over all requests, per step for the parts paid every
 * step (loop, detokenization, writing, native variance), so that a long
 * request is not blamed for being long. It is told with the evidence: the GC
 * or stall event and the step it fell in, the requests it queued behind, the
 * prompt it prefilled.
 */
import type { ServerTimeline } from "../bench/serverRecords.js";
import { mad, median } from "./fit.js";
import { OVERHEAD_PARTS, type OverheadPart, type Parts } from "./overhead.js";

export interface AnalyzedRequest {
  id: string;
  n: number;
  e2e: number;
  parts?: Parts;
  /** The request's typical native time per decode step (c), ms. */
  perToken?: number;
  timeline?: ServerTimeline;
}

/** Besides the overhead parts, a request can be slow because all its engine steps were: n × (its c − its peers' c). */
export type Cause = OverheadPart | "engine_steps";

export interface Outlier {
  id: string;
  n: number;
  e2e: number;
  /** What requests of its length took (median, or the fit), ms. */
  expected: number;
  /** e2e − expected, ms. */
  residual: number;
  part: Cause | "unknown";
  cause: string;
}

/** Parts paid once per step: their usual value scales with the request's output length. */
const PER_STEP: ReadonlySet<OverheadPart> = new Set(["loop", "detokenization", "writing", "native_variance"]);
const MIN_PEERS = 3;

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
    case "native_variance": {
      const worst = t.steps.reduce((a, b) => ((b.spans.decode ?? 0) + (b.spans.sample ?? 0) > (a.spans.decode ?? 0) + (a.spans.sample ?? 0) ? b : a));
      return `decode steps slower than its typical step by ${f(excess)} ms more than usual (the slowest, step ${worst.id}: ${f((worst.spans.decode ?? 0) + (worst.spans.sample ?? 0))} ms native)`;
    }
    default:
      return `${part.replace(/_/g, " ")} ${f(excess)} ms more than usual`;
  }
}

/** The median of `value` over the requests of each output length that has at least MIN_PEERS of them. */
function peerMedians(requests: readonly AnalyzedRequest[], value: (r: AnalyzedRequest) => number | undefined): Map<number, number> {
  const byLength = new Map<number, number[]>();
  for (const r of requests) {
    const v = value(r);
    if (v === undefined) continue;
    const group = byLength.get(r.n);
    if (group) group.push(v);
    else byLength.set(r.n, [v]);
  }
  const out = new Map<number, number>();
  for (const [n, values] of byLength) if (values.length >= MIN_PEERS) out.set(n, median(values));
  return out;
}

/** What each request was expected to take: its length's median e2e (`peers`), or the fit's line when it has too few peers. */
function expectedE2e(requests: readonly AnalyzedRequest[], peers: ReadonlyMap<number, number>, fit: { a: number; b: number } | undefined): number[] {
  const all = median(requests.map((r) => r.e2e));
  return requests.map((r) => peers.get(r.n) ?? (fit ? fit.a + fit.b * r.n : all));
}

function usualParts(requests: readonly AnalyzedRequest[]): (r: AnalyzedRequest) => Parts {
  const withParts = requests.filter((r) => r.parts);
  const fixed = Object.fromEntries(OVERHEAD_PARTS.map((p) => [p, median(withParts.map((r) => r.parts![p]))])) as Parts;
  const perStep = Object.fromEntries(OVERHEAD_PARTS.map((p) => [p, median(withParts.map((r) => r.parts![p] / Math.max(1, r.n)))])) as Parts;
  return (r) => Object.fromEntries(OVERHEAD_PARTS.map((p) => [p, PER_STEP.has(p) ? perStep[p] * Math.max(1, r.n) : fixed[p]])) as Parts;
}

/** The peers' typical step time (c) for each request: the median over its length's requests, or over all. */
function usualPerToken(requests: readonly AnalyzedRequest[]): (r: AnalyzedRequest) => number {
  const all = median(requests.map((r) => r.perToken ?? NaN));
  const peers = peerMedians(requests, (r) => r.perToken);
  return (r) => peers.get(r.n) ?? all;
}

/**
 * Which requests lie beyond k × MAD: those with peers by their relative
 * deviation from the peers' median (as noise grows with length); those
 * without, by their residual from the fit in ms against the MAD of all such
 * residuals (a lone request of a length has nothing else to be judged by).
 */
function slowerThanExpected(requests: readonly AnalyzedRequest[], peers: ReadonlyMap<number, number>, expected: readonly number[], fit: { a: number; b: number } | undefined, k: number): boolean[] {
  const alone = requests.map((r) => !peers.has(r.n) && fit !== undefined);
  const relative = requests.map((r, i) => r.e2e / expected[i] - 1);
  const residual = requests.map((r, i) => r.e2e - expected[i]);
  const judged = (values: readonly number[], which: (i: number) => boolean) => {
    const pick = values.filter((_, i) => which(i));
    return { center: median(pick), spread: mad(pick) };
  };
  const byPeers = judged(relative, (i) => !alone[i]);
  const byFit = judged(residual, (i) => alone[i]);
  // Only slower: a request faster than its peers has no pause to explain.
  return requests.map((_, i) => (alone[i] ? residual[i] - byFit.center > k * byFit.spread : relative[i] - byPeers.center > k * byPeers.spread));
}

export function findOutliers(requests: readonly AnalyzedRequest[], fit: { a: number; b: number } | undefined, k: number): Outlier[] {
  const peers = peerMedians(requests, (r) => r.e2e);
  const expected = expectedE2e(requests, peers, fit);
  const slower = slowerThanExpected(requests, peers, expected, fit, k);
  const usualOf = usualParts(requests);
  const usualC = usualPerToken(requests);
  const out: Outlier[] = [];
  requests.forEach((r, i) => {
    if (!slower[i]) return;
    const base = { id: r.id, n: r.n, e2e: r.e2e, expected: expected[i], residual: r.e2e - expected[i] };
    if (!r.parts || !r.timeline || r.perToken === undefined) {
      out.push({ ...base, part: "unknown", cause: "no server record to explain it" });
      return;
    }
    const usual = usualOf(r);
    let part: Cause = "engine_steps";
    let excess = Math.max(0, r.n - 1) * (r.perToken - usualC(r));
    for (const p of OVERHEAD_PARTS) {
      if (r.parts[p] - usual[p] > excess) {
        part = p;
        excess = r.parts[p] - usual[p];
      }
    }
    const told = part === "engine_steps" ? `its ${r.n - 1} decode steps took ${f(excess)} ms more than its peers' (typical step ${f(r.perToken)} ms against ${f(usualC(r))} ms)` : describe(part, r, excess, requests);
    out.push({ ...base, part, cause: `${told} (+${f(excess)} ms against a residual of ${f(base.residual)} ms)` });
  });
  return out.sort((a, b) => b.residual - a.residual);
}
