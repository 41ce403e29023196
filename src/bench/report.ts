/**
 * The load client's report, from its records alone (client clock, ms):
 *
 * - TTFT = first token's arrival − sent (not measured for whole responses:
 *   their first token's arrival is not seen);
 * - TPOT = (e2e − TTFT) / (n − 1), n = output tokens;
 * - ITL (gaps) = arrival[i] − arrival[i−1], over every streamed token;
 * - ITL (per request) = (last arrival − first arrival) / (arrivals − 1);
 * - e2e = end − sent; send lag = sent − planned.
 *
 * Percentiles p50, p90, p99 and mean, max, min (llm-serving's statistics.py
 * reports p50, p90, mean, max, min); throughput; goodput under SLOs.
 */
import type { ClientRecord } from "./LoadClient.js";
import { largest, smallest } from "../analysis/fit.js";
import { fixed, quantile } from "./stats.js";

export interface Distribution {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  max: number;
  min: number;
}

export interface Slo {
  ttft?: number;
  tpot?: number;
  e2e?: number;
}

export interface BenchReport {
  requests: number;
  completed: number;
  errors: number;
  /** Requests sent a second time on a new connection (the server had closed the kept-alive one they were written on). */
  resent: number;
  /** From the first send to the last end, s. */
  durationS: number;
  requestsPerS: number;
  outputTokensPerS: number;
  ttft: Distribution;
  tpot: Distribution;
  itlGaps: Distribution;
  itlPerRequest: Distribution;
  e2e: Distribution;
  outputTokens: Distribution;
  sendLag: Distribution;
  slo?: Slo;
  /** Requests per second that met every SLO. */
  goodput?: number;
  /** Share of requests that met every SLO. */
  goodFraction?: number;
  errorSamples: string[];
}

export function distribution(values: readonly number[]): Distribution {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length === 0) return { n: 0, p50: NaN, p90: NaN, p99: NaN, mean: NaN, max: NaN, min: NaN };
  return {
    n: v.length,
    p50: quantile(v, 0.5),
    p90: quantile(v, 0.9),
    p99: quantile(v, 0.99),
    mean: v.reduce((a, b) => a + b, 0) / v.length,
    max: largest(v),
    min: smallest(v),
  };
}

/** NaN (not measured) for a whole response: only a stream shows when its first token arrived. */
export function ttftOf(r: ClientRecord): number {
  return r.tokens.length ? r.tokens[0] - r.sent : NaN;
}

export function tpotOf(r: ClientRecord): number {
  return r.outputTokens > 1 && r.tokens.length ? (r.end - r.sent - ttftOf(r)) / (r.outputTokens - 1) : NaN;
}

function meets(r: ClientRecord, slo: Slo): boolean {
  const tpot = tpotOf(r);
  return (slo.ttft === undefined || ttftOf(r) <= slo.ttft) && (slo.tpot === undefined || Number.isNaN(tpot) || tpot <= slo.tpot) && (slo.e2e === undefined || r.end - r.sent <= slo.e2e);
}

export function summarize(records: readonly ClientRecord[], slo?: Slo): BenchReport {
  const ok = records.filter((r) => !r.error);
  const start = smallest(records.map((r) => r.sent));
  const end = largest(records.map((r) => r.end));
  const durationS = (end - start) / 1000;
  const gaps: number[] = [];
  const perRequest: number[] = [];
  for (const r of ok) {
    for (let i = 1; i < r.tokens.length; i++) gaps.push(r.tokens[i] - r.tokens[i - 1]);
    if (r.tokens.length > 1) perRequest.push((r.tokens.at(-1)! - r.tokens[0]) / (r.tokens.length - 1));
  }
  const report: BenchReport = {
    requests: records.length,
    completed: ok.length,
    errors: records.length - ok.length,
    resent: records.filter((r) => r.resent !== undefined).length,
    durationS,
    requestsPerS: ok.length / durationS,
    outputTokensPerS: ok.reduce((a, r) => a + r.outputTokens, 0) / durationS,
    ttft: distribution(ok.map(ttftOf)),
    tpot: distribution(ok.map(tpotOf)),
    itlGaps: distribution(gaps),
    itlPerRequest: distribution(perRequest),
    e2e: distribution(ok.map((r) => r.end - r.sent)),
    outputTokens: distribution(ok.map((r) => r.outputTokens)),
    // A request sent again has `sent` at its second send: its first attempt is not the client's lateness.
    sendLag: distribution(records.filter((r) => r.resent === undefined).map((r) => r.sent - r.planned)),
    errorSamples: [...new Set(records.filter((r) => r.error).map((r) => r.error!))].slice(0, 5),
  };
  if (slo) {
    const good = ok.filter((r) => meets(r, slo)).length;
    report.slo = slo;
    report.goodput = good / durationS;
    report.goodFraction = records.length ? good / records.length : 0;
  }
  return report;
}

const NOT_STREAMED = "n/a (not streamed)";

/** The bench report prints two digits. */
const f = (x: number, digits = 2): string => fixed(x, digits);

/** `absent`: what the row reads when there is nothing to measure it from. */
function row(name: string, d: Distribution, absent = "not measured"): string {
  if (d.n === 0) return `| ${name} | 0 | ${absent} | | | | | |`;
  return `| ${name} | ${d.n} | ${f(d.p50)} | ${f(d.p90)} | ${f(d.p99)} | ${f(d.mean)} | ${f(d.max)} | ${f(d.min)} |`;
}

/** The send lag that makes the client's figures suspect: more than 1 ms at p99… */
export const LAG_WARNING_MS = 1;
/** …and more than this share of the finest time it measures (the median gap between streamed tokens, else the median e2e). */
export const LAG_WARNING_SHARE = 0.01;

/**
 * The warning a report carries when the client sent late, if it did. A late
 * send means a busy client, whose reading of the answers is late too: that
 * matters against the finest time it measures. 3 ms late is a tenth of a
 * 30 ms gap between tokens, and nothing against whole answers of 2 s.
 */
export function lagWarning(r: BenchReport): string | undefined {
  const scale = r.itlGaps.n > 0 ? { name: "gap between streamed tokens", ms: r.itlGaps.p50 } : { name: "e2e", ms: r.e2e.p50 };
  const limit = Math.max(LAG_WARNING_MS, Number.isFinite(scale.ms) ? LAG_WARNING_SHARE * scale.ms : 0);
  if (!(r.sendLag.p99 > limit)) return undefined;
  return `WARNING: the client sent late (send lag p99 ${f(r.sendLag.p99)} ms > ${f(limit)} ms, the larger of ${LAG_WARNING_MS} ms and ${LAG_WARNING_SHARE * 100} % of the median ${scale.name}, ${f(scale.ms)} ms): it may be the bottleneck, and its timings may include its own delay.`;
}

export function formatReport(r: BenchReport): string {
  const lines = [
    `requests ${r.requests}, completed ${r.completed}, errors ${r.errors}; ${f(r.durationS, 3)} s; ${f(r.requestsPerS)} requests/s; ${f(r.outputTokensPerS, 1)} output tokens/s`,
    "",
    "| ms | n | p50 | p90 | p99 | mean | max | min |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    row("TTFT (first token − sent)", r.ttft, NOT_STREAMED),
    row("TPOT ((e2e − TTFT) / (n − 1))", r.tpot, NOT_STREAMED),
    row("ITL, gaps (arrival[i] − arrival[i−1])", r.itlGaps, NOT_STREAMED),
    row("ITL, per request ((last − first) / (arrivals − 1))", r.itlPerRequest, NOT_STREAMED),
    row("e2e (end − sent)", r.e2e),
    row("send lag (sent − planned)", r.sendLag, "n/a (closed loop: each request goes when one ends, no planned time)"),
    `| output tokens | ${r.outputTokens.n} | ${f(r.outputTokens.p50, 0)} | ${f(r.outputTokens.p90, 0)} | ${f(r.outputTokens.p99, 0)} | ${f(r.outputTokens.mean, 1)} | ${f(r.outputTokens.max, 0)} | ${f(r.outputTokens.min, 0)} |`,
  ];
  if (r.slo) {
    const parts = Object.entries(r.slo).map(([k, v]) => `${k} ≤ ${v} ms`).join(", ");
    lines.push("", `goodput (${parts}): ${f(r.goodput!)} requests/s, ${f(r.goodFraction! * 100, 1)} % of requests`);
  }
  if (r.resent) lines.push("", `${r.resent} ${r.resent === 1 ? "request was" : "requests were"} sent again on a new connection: the server had closed the kept-alive connection ${r.resent === 1 ? "it was" : "they were"} written on (their times count from the second send).`);
  const warning = lagWarning(r);
  if (warning) lines.push("", warning);
  if (r.errorSamples.length) lines.push("", "errors:", ...r.errorSamples.map((e) => `  ${e}`));
  return lines.join("\n");
}
