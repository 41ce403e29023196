/**
 * The soak's figures and its pass/fail criteria, from the client's records,
 * the join with the server's timelines, the RSS samples and the server's
 * exit. Intended failures (the bad inputs' 4xx, the cancels) are counted
 * apart; anything else that went wrong is an error.
 */
import type { SoakRecord } from "./soakClient.js";
import { bump, type JoinResult } from "./soakJoin.js";
import { cpuBetween, type CpuShare, type ProcSample } from "./soakProc.js";
import type { ServerExit } from "./benchServer.js";
import { largest, smallest } from "../analysis/fit.js";
import { quantile } from "./stats.js";
import { cutText } from "../text/shownText.js";

/** Allowed change of p50/p99 latency and of RSS from the first tenth of the run to the last. */
export const DRIFT_LIMIT = 0.1;

export interface Criterion {
  name: string;
  pass: boolean;
  value: string;
  target: string;
}

export interface Window {
  /** Good requests completed in the window, whose latency is measured. */
  n: number;
  p50: number;
  p99: number;
  /** The window in time, ms from the origin: its first request's start to its last request's end. */
  from: number;
  to: number;
  /** CPU use over the window, if /proc could be read. */
  cpu: CpuShare | undefined;
  /** Server CPU time per request of the window (all kinds): work per request, which a busy machine hardly changes. */
  serverCpuPerRequestMs: number;
}

export interface EngineStats {
  running: number;
  waiting: number;
}

export interface Verdict {
  outcomes: Record<string, number>;
  /** "kind: class" → count. */
  errors: Record<string, number>;
  errorSamples: string[];
  errorCount: number;
  rejected: number;
  cancelled: number;
  /** Cancels planned that came too late: the response was whole. */
  cancelMissed: number;
  /** Bad input → "status" → count. */
  badStatuses: Record<string, Record<string, number>>;
  latency: { start: Window; end: Window; driftP50: number; driftP99: number };
  rss: { start: number; end: number; peak: number; growth: number };
  criteria: Criterion[];
  pass: boolean;
}

/** A short class for an error's detail, to count them by kind. */
function errorClass(detail: string | undefined): string {
  const d = detail ?? "unknown";
  if (d.startsWith("HTTP ")) return d.slice(0, 8);
  if (d.startsWith("expected a 4xx")) return d.split(":")[0];
  if (d.startsWith("asked for")) return "wrong token count";
  if (d.startsWith("the response did not report")) return "no final token count";
  if (d.startsWith("no outcome")) return "timeout";
  return cutText(d, 60);
}

function window(records: readonly SoakRecord[], samples: readonly ProcSample[]): Window {
  const e2e = records.filter((r) => r.kind === "ok" && r.outcome === "completed").map((r) => r.end - r.start);
  const from = smallest(records.map((r) => r.start));
  const to = largest(records.map((r) => r.end));
  const cpu = cpuBetween(samples, from, to);
  return { n: e2e.length, p50: quantile(e2e, 0.5), p99: quantile(e2e, 0.99), from, to, cpu, serverCpuPerRequestMs: cpu ? cpu.serverMs / records.length : NaN };
}

const change = (from: number, to: number): number => (to - from) / from;
const pct = (x: number): string => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)} %`;

/** Median RSS over the samples between two times (ms). */
function rssBetween(samples: readonly ProcSample[], from: number, to: number): number {
  return quantile(
    samples.filter((s) => s.t >= from && s.t <= to).map((s) => s.rssMiB),
    0.5,
  );
}

export interface VerdictInput {
  /** Every request sent, the warm-up's included: all of them must have an outcome and a timeline. */
  records: readonly SoakRecord[];
  /** The measured run's requests, by index. */
  measured: readonly SoakRecord[];
  /** Requests per tenth of the run (the plan's round). */
  round: number;
  join: JoinResult;
  samples: readonly ProcSample[];
  statsAfter: EngineStats | undefined;
  exit: ServerExit;
}

interface Tally {
  outcomes: Record<string, number>;
  errors: Record<string, number>;
  errorSamples: string[];
  badStatuses: Record<string, Record<string, number>>;
}

/** Outcomes and errors, the client's and those of the join (a timeline that contradicts the client is an error too). */
function tally(records: readonly SoakRecord[], join: JoinResult): Tally {
  const t: Tally = { outcomes: {}, errors: {}, errorSamples: [], badStatuses: {} };
  for (const r of records) {
    bump(t.outcomes, r.outcome);
    if (r.kind === "bad") bump((t.badStatuses[r.variant] ??= {}), String(r.status));
    if (r.outcome !== "error") continue;
    bump(t.errors, `${r.kind}: ${errorClass(r.detail)}`);
    if (t.errorSamples.length < 10) t.errorSamples.push(`${r.id} (${r.variant}${r.stage ? `, cancel ${r.stage}` : ""}): ${r.detail}`);
  }
  for (const m of join.mismatches) {
    bump(t.errors, "server timeline disagrees");
    if (t.errorSamples.length < 20) t.errorSamples.push(`${m.id}: ${m.why}`);
  }
  if (join.idReplaced) bump(t.errors, "x-request-id not kept", join.idReplaced);
  return t;
}

function criteriaOf(v: VerdictInput, errorCount: number, clientDuplicates: number, latency: Verdict["latency"], rss: Verdict["rss"]): Criterion[] {
  const { join, exit, statsAfter } = v;
  const lost = join.lost.length + join.duplicated.length + join.unreadableLines + clientDuplicates;
  const idle = statsAfter !== undefined && statsAfter.running === 0 && statsAfter.waiting === 0;
  const within = (x: number): boolean => Math.abs(x) < DRIFT_LIMIT;
  return [
    { name: "errors (besides the intended 4xx and cancels)", pass: errorCount === 0, value: String(errorCount), target: "0" },
    {
      name: "requests lost (each sent request: one outcome, one timeline)",
      pass: lost === 0,
      value: `${join.lost.length} without a timeline, ${join.duplicated.length} with several, ${join.unreadableLines} unreadable lines, ${clientDuplicates} client outcomes twice`,
      target: "0",
    },
    { name: "p50 latency drift, first → last tenth", pass: within(latency.driftP50), value: pct(latency.driftP50), target: `within ±${DRIFT_LIMIT * 100} %` },
    { name: "p99 latency drift, first → last tenth", pass: within(latency.driftP99), value: pct(latency.driftP99), target: `within ±${DRIFT_LIMIT * 100} %` },
    { name: "RSS growth, first → last tenth (median)", pass: rss.growth < DRIFT_LIMIT, value: pct(rss.growth), target: `< +${DRIFT_LIMIT * 100} %` },
    { name: "engine idle after the run (/stats)", pass: idle, value: statsAfter ? `${statsAfter.running} running, ${statsAfter.waiting} waiting` : "no answer", target: "0 running, 0 waiting" },
    {
      name: "server exit on SIGTERM",
      pass: exit.code === 0 && !exit.killed,
      value: `code ${exit.code}${exit.signal ? `, signal ${exit.signal}` : ""}${exit.killed ? " (killed)" : ""} after ${(exit.shutdownMs / 1000).toFixed(2)} s`,
      target: "code 0",
    },
  ];
}

export function judgeSoak(v: VerdictInput): Verdict {
  const t = tally(v.records, v.join);
  const errorCount = Object.values(t.errors).reduce((a, b) => a + b, 0);
  const clientDuplicates = v.records.length - new Set(v.records.map((r) => r.id)).size;

  const start = window(v.measured.slice(0, v.round), v.samples);
  const end = window(v.measured.slice(Math.max(0, v.measured.length - v.round)), v.samples);
  const latency = { start, end, driftP50: change(start.p50, end.p50), driftP99: change(start.p99, end.p99) };
  const rssStart = rssBetween(v.samples, start.from, start.to);
  const rssEnd = rssBetween(v.samples, end.from, end.to);
  const rss = { start: rssStart, end: rssEnd, peak: largest(v.samples.map((s) => s.rssMiB)), growth: change(rssStart, rssEnd) };

  const criteria = criteriaOf(v, errorCount, clientDuplicates, latency, rss);
  return {
    ...t,
    errorCount,
    rejected: t.outcomes.rejected ?? 0,
    cancelled: t.outcomes.cancelled ?? 0,
    cancelMissed: v.records.filter((r) => r.cancelMissed).length,
    latency,
    rss,
    criteria,
    pass: criteria.every((c) => c.pass),
  };
}
