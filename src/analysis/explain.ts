/**
 * `llm-serving analyze` on any server's measurements: whatever was brought —
 * a table, client records alone, records with the timings the backend
 * reported, records joined with our server's timelines, a step log, a known
 * step time — is turned into the one reconciliation, with as much of the
 * explanation as the data allows, and a plain "not measured" (with the
 * reason) for everything it does not.
 */
import { completed, serverIdOf, type ClientRecord } from "../bench/LoadClient.js";
import { backendEngineMs } from "../timing/backendTimings.js";
import type { ServerTimeline } from "../bench/serverRecords.js";
import { analyze, type Analysis } from "./analyze.js";
import { groupBy, mean, median } from "./fit.js";
import type { TableData } from "./input/table.js";
import type { StepTrace } from "./input/stepLog.js";
import { findOutliers, type Outlier } from "./outliers.js";
import { causesClause, pauseCauses, type PauseCauses } from "./pauseCauses.js";
import { analyzePauses, type PauseAnalysis, type PausesNotMeasured } from "./pauses.js";
import { reconcile, type PauseEvidence, type Reconciliation, type Sample, type StepTime } from "./reconcile.js";

export interface ExplainInput {
  /** A table of measurements (one row per request or per length). */
  table?: { data: TableData; source: string };
  /** The load client's records, and our server's timelines when there are any. */
  records?: { list: readonly ClientRecord[]; source: string; timelines?: ReadonlyMap<string, ServerTimeline> };
  /** `decode`: the log's decode steps alone, when it has prompt steps too (t is a decode step's time). */
  stepLog?: { trace: StepTrace; source: string; decode?: StepTrace };
  /** A known time per token, ms (--step-ms). */
  stepMs?: number;
  k?: number;
}

/** Per length: the client's time, the backend's engine time as it reported it, and what lies outside it. */
export interface BackendRow {
  length: number;
  requests: number;
  e2e: number;
  engine: number;
  outside: number;
  queue: number | null;
}

/** Per length: a table's server-side columns, mean ms and share of the e2e. */
export interface SpanRow {
  length: number;
  e2e: number;
  spans: Record<string, { ms: number; pct: number }>;
}

export interface Explanation {
  /** What was read, in a sentence. */
  source: string;
  reconciliation: Reconciliation;
  stepTrace?: StepTrace;
  pauses?: PauseAnalysis | PausesNotMeasured;
  /** Each pause's cause on our server's records, when the records joined them. */
  pauseCauses?: PauseCauses;
  backend?: { sources: string[]; rows: BackendRow[] };
  /** The analysis against our server's timelines (overhead parts, outliers), when records joined them. */
  server?: Analysis;
  /** Without server records: the slow requests, with what the client and the backend saw of them. */
  outliers?: Outlier[];
  spans?: SpanRow[];
  /** One line per figure the data cannot give, with the reason. */
  notMeasured: string[];
  k: number;
}

export class ExplainError extends Error {
  override name = "ExplainError";
}

/** The backend's time per generated token after the first, where it can be told. */
function backendPerToken(r: ClientRecord): number | undefined {
  const b = r.backend;
  if (!b) return undefined;
  const n = b.generatedTokens ?? r.outputTokens;
  // Ollama's eval_duration covers every generated token; the others' decode is first → last.
  if (b.decodeMs !== undefined && n > 1) return b.source === "ollama" ? b.decodeMs / n : b.decodeMs / (n - 1);
  return b.perTokenMs;
}

function stepTime(input: ExplainInput, server: Analysis | undefined, done: readonly ClientRecord[]): StepTime | undefined {
  if (input.stepMs !== undefined) return { ms: input.stepMs, source: "given with --step-ms" };
  // A prompt's step is not a token's: t is the decode steps' mean when the log has both.
  const decodeOnly = input.stepLog?.decode;
  const trace = decodeOnly ?? input.stepLog?.trace;
  const top = trace?.levels.find((l) => l.depth === 0) ?? trace?.levels[0];
  const steps = decodeOnly ? "decode steps" : "steps";
  if (top && Number.isFinite(top.mean)) return { ms: top.mean, traced: true, source: `the step log's ${top.name}, ${top.count === 1 ? `its one ${steps.slice(0, -1)}` : `mean over ${top.count} ${steps}`}` };
  if (server && Number.isFinite(server.enginePerToken)) return { ms: server.enginePerToken, source: "the engine's own time per token, from the server's records" };
  const reported = done.map(backendPerToken).filter((x): x is number => x !== undefined && Number.isFinite(x));
  if (reported.length) return { ms: median(reported), source: `the time per token the backend reported (${[...new Set(done.map((r) => r.backend?.source).filter(Boolean))].join(", ")}), median over ${reported.length} requests` };
  return undefined;
}

/** The median time to the first token: streamed arrivals first, then the server's own record. */
function firstToken(done: readonly ClientRecord[], server: Analysis | undefined): { ms: number; source: string } | undefined {
  const streamed = done.filter((r) => r.stream && r.tokens.length > 0);
  if (streamed.length) return { ms: median(streamed.map((r) => r.tokens[0] - r.sent)), source: `median TTFT of ${streamed.length} streamed requests, client clock` };
  if (server && Number.isFinite(server.ttft)) return { ms: server.ttft, source: "median TTFT, from the server's records" };
  return undefined;
}

function pauseEvidence(p: PauseAnalysis | PausesNotMeasured, causes: PauseCauses | undefined): PauseEvidence | string {
  if (!p.measured) return `${p.reason} (bench --stream records every token's arrival)`;
  const tokens = p.requests.reduce((a, r) => a + r.tokens, 0);
  const onServer = causes && causesClause(causes);
  return { kind: p.kind, perTokenMs: tokens ? p.summary.totalMs / tokens : 0, verdict: onServer ? `${p.verdict}; ${onServer}` : p.verdict };
}

/** A record whose backend reported its engine time, and that time (backendEngineMs), read once for the table and the outliers. */
interface Reported {
  record: ClientRecord;
  engine: number;
}

function reportedEngine(done: readonly ClientRecord[]): Reported[] {
  return done.flatMap((r) => {
    const engine = r.backend && backendEngineMs(r.backend);
    return engine === undefined ? [] : [{ record: r, engine }];
  });
}

function backendRows(reported: readonly Reported[]): Explanation["backend"] {
  if (reported.length === 0) return undefined;
  const rows = [...groupBy(reported, (x) => x.record.maxTokens)].map(([length, group]) => {
    const e2e = mean(group.map(({ record: r }) => r.end - r.sent));
    const engine = mean(group.map((x) => x.engine));
    const queues = group.map((x) => x.record.backend!.queueMs).filter((q): q is number => q !== undefined);
    return { length, requests: group.length, e2e, engine, outside: e2e - engine, queue: queues.length ? mean(queues) : null };
  });
  return { sources: [...new Set(reported.map((x) => x.record.backend!.source))], rows };
}

/** What the client and the backend saw of a slow request: its pauses, and the engine time the backend reported against its peers'. */
function clientCause(r: ClientRecord, pauses: PauseAnalysis | PausesNotMeasured, peersEngine: number | undefined): string {
  const parts: string[] = [];
  const own = pauses.measured ? pauses.requests.find((p) => p.id === r.id) : undefined;
  if (own?.pauses.length) {
    const largest = own.pauses.reduce((a, b) => (b.size > a.size ? b : a));
    parts.push(`its stream paused ${own.pauses.length} ${own.pauses.length === 1 ? "time" : "times"}, ${own.pauseMs.toFixed(1)} ms in all (the largest +${largest.size.toFixed(1)} ms before token ${largest.position})`);
  } else if (own) parts.push("its stream did not pause");
  const engine = r.backend && backendEngineMs(r.backend);
  if (engine !== undefined && peersEngine !== undefined) parts.push(`the backend reported ${engine.toFixed(1)} ms of engine time, against ${peersEngine.toFixed(1)} ms for requests like it`);
  return parts.length ? parts.join("; ") : "no server record or backend timing to explain it";
}

function clientOutliers(done: readonly ClientRecord[], reported: readonly Reported[], r: Reconciliation, pauses: PauseAnalysis | PausesNotMeasured, k: number): Outlier[] {
  const found = findOutliers(
    done.map((x) => ({ id: x.id, n: x.outputTokens, e2e: x.end - x.sent })),
    r.fit,
    k,
  );
  const byId = new Map(done.map((x) => [x.id, x]));
  const byTokens = groupBy(reported, (x) => x.record.outputTokens);
  return found.map((o) => {
    const peers = (byTokens.get(o.n) ?? []).filter((x) => x.record.id !== o.id).map((x) => x.engine);
    return { ...o, cause: clientCause(byId.get(o.id)!, pauses, peers.length ? median(peers) : undefined) };
  });
}

function spanRows(data: TableData): SpanRow[] | undefined {
  if (data.spans.length === 0) return undefined;
  return [...groupBy(data.rows, (r) => r.length)].map(([length, group]) => {
    const e2e = mean(group.map((r) => r.e2eMs));
    const spans: SpanRow["spans"] = {};
    for (const s of data.spans) {
      const values = group.map((r) => r.spans[s.label]).filter((v): v is number => v !== undefined);
      if (values.length) {
        const ms = mean(values);
        spans[s.label] = { ms, pct: (ms / e2e) * 100 };
      }
    }
    return { length, e2e, spans };
  });
}

function fromTable(input: ExplainInput, k: number): Explanation {
  const { data, source } = input.table!;
  const samples: Sample[] = data.rows.map((r) => ({ n: r.length, e2e: r.e2eMs, length: r.length }));
  const t = stepTime(input, undefined, []);
  const notMeasured = [
    "TTFT and every inter-token gap: not measured (a table has one time per request; bench --stream records every token's arrival).",
    "Pauses: not measured (a table has no per-token arrivals).",
    "Overhead parts, GC and event-loop stalls per request: not measured (no server records; they come from our server's timelines).",
  ];
  return { source, reconciliation: reconcile(samples, t, k, undefined, "a table has one time per request, not every token's arrival"), stepTrace: input.stepLog?.trace, spans: spanRows(data), notMeasured, k };
}

/** The server's records by the client's ids: the pauses are the client's, the records under the id the server answered with. */
function byClientId(list: readonly ClientRecord[], timelines: ReadonlyMap<string, ServerTimeline>): Map<string, ServerTimeline> {
  const out = new Map<string, ServerTimeline>();
  for (const r of list) {
    const t = timelines.get(serverIdOf(r));
    if (t) out.set(r.id, t);
  }
  return out;
}

function fromRecords(input: ExplainInput, k: number): Explanation {
  const { list, source, timelines } = input.records!;
  const done = list.filter((r) => completed(r) && Number.isFinite(r.end - r.sent));
  if (done.length === 0) throw new ExplainError(`${source}: no completed request to analyze (${list.length} records, all failed or empty)`);
  const server = timelines?.size ? analyze(list, timelines, { k }) : undefined;
  if (server?.joined === 0) {
    throw new ExplainError(`join rate 0 %: none of the ${done.length} completed requests has a server timeline (the ids differ: was --timeline-file or --url from the same run?)`);
  }
  const pauses = analyzePauses(list, { k });
  const causes = pauses.measured && server ? pauseCauses(pauses, byClientId(list, timelines!)) : undefined;
  const samples: Sample[] = done.map((r) => ({ n: r.outputTokens, e2e: r.end - r.sent, length: r.maxTokens }));
  const t = stepTime(input, server, done);
  const notMeasured: string[] = [];
  if (!pauses.measured) notMeasured.push(`TTFT, inter-token gaps and pauses: not measured (${pauses.reason}; bench --stream records every token's arrival).`);
  if (!server) notMeasured.push("Overhead parts, GC and event-loop stalls per request: not measured (no server records; they come from our server's timelines: --url or --timelines).");
  const reported = reportedEngine(done);
  const backend = backendRows(reported);
  if (!backend && !server) notMeasured.push("The engine's own time per request: not measured (the backend reported no timings, and there are no server records).");
  const reconciliation = reconcile(samples, t, k, firstToken(done, server), pauseEvidence(pauses, causes));
  return {
    source,
    reconciliation,
    stepTrace: input.stepLog?.trace,
    pauses,
    pauseCauses: causes,
    backend,
    server,
    outliers: server ? undefined : clientOutliers(done, reported, reconciliation, pauses, k),
    notMeasured,
    k,
  };
}

export function explain(input: ExplainInput): Explanation {
  const k = input.k ?? 5;
  if (input.table && input.records) throw new ExplainError("give a table or client records, not both");
  if (!input.table && !input.records) throw new ExplainError("nothing to analyze: give --records or --table");
  const explanation = input.table ? fromTable(input, k) : fromRecords(input, k);
  const log = input.stepLog;
  if (log) explanation.source += ` Step log: ${log.source} (${log.trace.format} format, ${log.trace.steps} step${log.trace.steps === 1 ? "" : "s"}).`;
  return explanation;
}
