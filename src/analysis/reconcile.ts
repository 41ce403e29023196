/**
 * The study's reconciliation, done right: measured e2e against n × t (t the
 * time per token the trace or the engine shows), and the extra split into
 * the parts a straight line through the measurements gives it:
 *
 *   measured − n·t = a + (b − t)·n + residual
 *
 * a the fit's intercept (a fixed cost per request), (b − t)·n the cost per
 * token beyond t, the residual what the line does not explain (an event).
 * Each part in ms and in % of n·t, and one sentence per cause, computed from
 * the same numbers as the table.
 */
import { groupBy, mad, mean, median, robustBaseline } from "./fit.js";

/** A time per token, and where it came from (said in the report). */
export interface StepTime {
  ms: number;
  source: string;
  /** t is a traced step (a step log's), not an engine's or a backend's own time per token, nor a given one. */
  traced?: boolean;
}

export interface Sample {
  /** Output tokens. */
  n: number;
  /** End-to-end time, ms. */
  e2e: number;
  /** The row's group (the requested length); default n. */
  length?: number;
}

/** A part of the extra: ms and % of n × t. */
export interface Part {
  ms: number;
  pct: number;
}

export interface ReconciledLength {
  length: number;
  requests: number;
  /** Mean output tokens. */
  n: number;
  /** Mean measured e2e, ms. */
  measured: number;
  /** What the line says: a + b·n. */
  fitted: number;
  /** Null when no time per token is known. */
  nTimesT: number | null;
  extra: Part | null;
  fixed: Part | null;
  perToken: Part | null;
  residual: Part | null;
}

/** The first token's cost beyond one step: its own line, never an outlier (a prefill is not a decode step). */
export interface FirstToken {
  /** The first token's time, ms: the median TTFT, or the e2e of one-token requests. */
  ms: number;
  source: string;
  /** ms − t, when t is known. */
  excessMs?: number;
}

/** What the streamed gaps say about pauses (pauses.ts), for the per-token verdict. */
export interface PauseEvidence {
  kind: "absent" | "periodic" | "sporadic";
  /** Pause time per generated token over the streamed requests, ms. */
  perTokenMs: number;
  verdict: string;
}

export interface Reconciliation {
  fit?: { a: number; b: number; r2: number };
  firstToken?: FirstToken;
  /** What the streamed gaps say about pauses, or why it is not measured. */
  pauses: PauseEvidence | string;
  /** Samples the robust fit left out (beyond k × MAD of its first residuals). */
  fitExcluded: number;
  t?: StepTime;
  /** b − t, ms per token (undefined without t or a fit). */
  perTokenExcess?: number;
  rows: ReconciledLength[];
  /** Lengths (n > 1) whose residual lies beyond k × MAD of all the lengths' residuals and 1 % of their e2e: events, not rates. */
  events: ReconciledLength[];
  /** One sentence per cause; what cannot be said is said too. */
  verdicts: string[];
  k: number;
}

const NOT_STREAMED = "the records were not streamed (bench --stream records every token's arrival)";

/** Below this R² the line's split of the extra is said to be rough. */
const ROUGH_FIT_R2 = 0.5;

/** Least share of its measured e2e that a length's residual must be to be called an event. */
const EVENT_SHARE = 0.01;

const f = (x: number, d = 1): string => x.toFixed(d);
const part = (ms: number, of: number): Part => ({ ms, pct: (ms / of) * 100 });

function row(length: number, group: readonly Sample[], fit: { a: number; b: number } | undefined, t: StepTime | undefined): ReconciledLength {
  const n = mean(group.map((s) => s.n));
  const measured = mean(group.map((s) => s.e2e));
  const fitted = fit ? fit.a + fit.b * n : NaN;
  const base = { length, requests: group.length, n, measured, fitted };
  if (!t || !(n > 0)) return { ...base, nTimesT: null, extra: null, fixed: null, perToken: null, residual: null };
  const nt = n * t.ms;
  return {
    ...base,
    nTimesT: nt,
    extra: part(measured - nt, nt),
    fixed: fit ? part(fit.a, nt) : null,
    perToken: fit ? part((fit.b - t.ms) * n, nt) : null,
    residual: fit ? part(measured - fitted, nt) : null,
  };
}

/**
 * `ttft`: the median time to first token when the measurements have it
 * (streamed clients, server records); else one-token requests stand for it.
 * `pauses`: what the streamed gaps say, or why there are none to say it
 * (default: the records were not streamed).
 */
export function reconcile(samples: readonly Sample[], t: StepTime | undefined, k = 5, ttft?: { ms: number; source: string }, pauses: PauseEvidence | string = NOT_STREAMED): Reconciliation {
  const { fit, kept } = robustBaseline(
    samples.map((s) => s.n),
    samples.map((s) => s.e2e),
    k,
  );
  const line = fit && { a: fit.a, b: fit.b, r2: fit.r2 };
  const rows = [...groupBy(samples, (s) => s.length ?? s.n)].map(([length, group]) => row(length, group, line, t));
  const residuals = rows.map((r) => r.measured - r.fitted);
  const center = median(residuals);
  const spread = mad(residuals);
  // One-token requests are all first token: their excess is the first-token line's, not an event.
  // An event also stands out of its own measurement (EVENT_SHARE): 3 ms off a 15 s request is not one.
  const events = line ? rows.filter((r, i) => r.n > 1 && Math.abs(residuals[i] - center) > k * spread && Math.abs(residuals[i]) > EVENT_SHARE * r.measured) : [];
  const result: Reconciliation = { fit: line, firstToken: firstToken(rows, t, ttft), pauses, fitExcluded: kept.filter((x) => !x).length, t, rows, events, verdicts: [], k };
  if (line && t) result.perTokenExcess = line.b - t.ms;
  result.verdicts = verdicts(result);
  return result;
}

function firstToken(rows: readonly ReconciledLength[], t: StepTime | undefined, ttft: { ms: number; source: string } | undefined): FirstToken | undefined {
  const one = rows.find((r) => r.n === 1);
  const measured = ttft ?? (one ? { ms: one.measured, source: "one-token requests, whose whole e2e is their first token" } : undefined);
  if (!measured) return undefined;
  return { ...measured, excessMs: t ? measured.ms - t.ms : undefined };
}

/** Whether the per-token excess is made of pauses, as far as the streamed gaps tell. */
function pauseShape(p: PauseEvidence | string, excess: number): string {
  if (typeof p === "string") return `Whether it is pause-shaped is not measured: ${p}.`;
  if (p.kind === "absent") return `It is not pause-shaped: the streamed gaps hold no pause (${p.verdict}).`;
  const share = excess > 0 ? ` — ${f((p.perTokenMs / excess) * 100, 0)} % of the excess` : "";
  return `Pauses in the streamed gaps come to ${f(p.perTokenMs, 2)} ms per token${share} (${p.verdict}).`;
}

function verdicts(r: Reconciliation): string[] {
  const out: string[] = [];
  const ft = r.firstToken;
  if (!ft) out.push("First token: not measured (no streamed records, no server records, no one-token requests).");
  else if (ft.excessMs === undefined) out.push(`First token: ${f(ft.ms)} ms (${ft.source}); its excess over one step is not measured without t.`);
  else out.push(`First token: ${f(ft.ms)} ms (${ft.source}) against one step of ${f(r.t!.ms)} ms: ${f(ft.excessMs)} ms beyond one step — the prompt's prefill beyond a decode step, and what a request pays once.`);
  if (!r.fit) out.push("Every measurement has the same output length: no line can be fitted, so the extra cannot be split into a fixed cost and a cost per token.");
  if (!r.t) out.push("No time per token is known (no step log, no --step-ms, no engine or backend record): n × t and the split of the extra are not measured.");
  if (!r.fit || !r.t) return out;
  const { a, b } = r.fit;
  const t = r.t.ms;
  const first = r.rows[0];
  const last = r.rows.at(-1)!;
  // A line through scattered points (continuous batching: a request's time depends on what ran beside it) splits the extra only roughly.
  const rough = r.fit.r2 < ROUGH_FIT_R2 ? `; the line fits the measurements loosely (R² = ${f(r.fit.r2, 2)}): read this split as rough` : "";
  out.push(
    `Fixed cost: the line's intercept is ${f(a)} ms per request, ${f(first.fixed!.pct)} % of n × t at n = ${f(first.n, 0)} and ${f(last.fixed!.pct)} % at n = ${f(last.n, 0)}${a < 0 ? " (negative: the cost per token grows with n, and the line's intercept is its curvature, not a cost)" : ""}${rough}.`,
  );
  const excess = r.perTokenExcess!;
  const step = r.t.traced ? "the traced step" : "t";
  const where = excess >= 0 ? `outside ${step}` : `less than ${step} (t is larger than what each further token costs end to end)`;
  out.push(
    `Per token: ${f(b, 2)} ms per token end to end against t = ${f(t, 2)} ms (${r.t.source}): ${excess >= 0 ? "+" : "−"}${f(Math.abs(excess), 2)} ms per token (${f((Math.abs(excess) / t) * 100)} % of t) ${where}; it is ${f(last.perToken!.pct)} % of n × t at n = ${f(last.n, 0)}. ${pauseShape(r.pauses, excess)}`,
  );
  for (const e of r.events) {
    out.push(`An event: at n = ${f(e.n, 0)} the measurement lies ${e.residual!.ms >= 0 ? "+" : "−"}${f(Math.abs(e.residual!.ms), 0)} ms from the line (${f(e.residual!.pct)} % of n × t; the extra there is ${f(e.extra!.pct)} %), beyond ${r.k} × MAD of the lengths' residuals and ${EVENT_SHARE * 100} % of its own e2e: one event, not a rate.`);
  }
  if (r.events.length === 0) out.push(`No length lies beyond ${r.k} × MAD of the residuals: the extra is a fixed cost and a rate, not events.`);
  return out;
}
