/**
 * The soak report: what was sent, what came back, what the server recorded,
 * the verdict per criterion, and RSS and latency over the run as charts.
 * Written as report.md (with latency.svg and rss.svg next to it),
 * report.html (self-contained) and summary.json.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { lineChart, type Band } from "./soakChart.js";
import type { SoakRecord } from "./soakClient.js";
import { toHtml, toMarkdown, type Block } from "./soakDoc.js";
import type { JoinResult } from "./soakJoin.js";
import type { ProcSample } from "./soakProc.js";
import type { ServerExit } from "./benchServer.js";
import type { EngineStats, Verdict, Window } from "./soakVerdict.js";
import { fixed, quantile } from "./stats.js";

export interface SoakResult {
  title: string;
  /** One line: date, node, machine, options. */
  setup: string;
  requests: number;
  concurrency: number;
  warmup: number;
  /** Every request sent: the warm-up's, then the measured run's. */
  all: readonly SoakRecord[];
  /** The measured run's requests, by index. */
  measured: readonly SoakRecord[];
  round: number;
  runStart: number;
  runEnd: number;
  /** The whole bench, from start to report, s. */
  benchS: number;
  samples: readonly ProcSample[];
  /** Where the timeline file is, or why it is not kept. */
  timelineNote: string;
  join: JoinResult;
  exit: ServerExit;
  statsAfter: EngineStats | undefined;
  timelineBytes: number;
  verdict: Verdict;
}

const CHART_BUCKETS = 50;
const s = (ms: number): number => ms / 1000;

/** p50 and p99 of good requests' latency, in CHART_BUCKETS groups of consecutive requests, at the groups' median end time. */
function latencySeries(r: SoakResult): { p50: Array<{ x: number; y: number }>; p99: Array<{ x: number; y: number }> } {
  const ok = r.measured.filter((x) => x.kind === "ok" && x.outcome === "completed");
  const size = Math.max(1, Math.ceil(ok.length / CHART_BUCKETS));
  const p50: Array<{ x: number; y: number }> = [];
  const p99: Array<{ x: number; y: number }> = [];
  for (let i = 0; i < ok.length; i += size) {
    const group = ok.slice(i, i + size);
    const x = s(quantile(group.map((g) => g.end), 0.5) - r.runStart);
    const e2e = group.map((g) => g.end - g.start);
    p50.push({ x, y: quantile(e2e, 0.5) });
    p99.push({ x, y: quantile(e2e, 0.99) });
  }
  return { p50, p99 };
}

/** The compared windows as time bands. */
function bands(r: SoakResult): Band[] {
  const band = (w: Window, label: string): Band => ({ from: s(w.from - r.runStart), to: s(w.to - r.runStart), label });
  return [band(r.verdict.latency.start, "first tenth"), band(r.verdict.latency.end, "last tenth")];
}

function charts(r: SoakResult): { latency: string; rss: string } {
  const { p50, p99 } = latencySeries(r);
  const b = bands(r);
  const latency = lineChart("Latency of good requests over the run (client e2e)", "time since the run's start (s)", "ms", [{ name: "p99", points: p99 }, { name: "p50", points: p50 }], b);
  const points = r.samples.filter((x) => x.t >= r.runStart && Number.isFinite(x.rssMiB)).map((x) => ({ x: s(x.t - r.runStart), y: x.rssMiB }));
  const rss = lineChart("Server RSS over the run", "time since the run's start (s)", "MiB", [{ name: "RSS", points }], b);
  return { latency, rss };
}

const f1 = (x: number): string => fixed(x, 1);
const count = (rs: readonly SoakRecord[], pred: (x: SoakRecord) => boolean): string => String(rs.filter(pred).length);
const entries = (o: Record<string, number>): string[][] => Object.entries(o).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, String(v)]);

function verdictBlocks(r: SoakResult): Block[] {
  const v = r.verdict;
  return [
    { h: `Verdict: ${v.pass ? "PASS" : "FAIL"}` },
    { table: { head: ["criterion", "value", "target", "verdict"], rows: v.criteria.map((c) => [c.name, c.value, c.target, c.pass ? "PASS" : "FAIL"]) } },
  ];
}

function requestBlocks(r: SoakResult): Block[] {
  const rows = (["ok", "cancel", "bad"] as const).map((kind) => {
    const rs = r.all.filter((x) => x.kind === kind);
    return [kind, String(rs.length), count(rs, (x) => x.outcome === "completed"), count(rs, (x) => x.outcome === "cancelled"), count(rs, (x) => x.outcome === "rejected"), count(rs, (x) => x.outcome === "error")];
  });
  const v = r.verdict;
  const runS = s(r.runEnd - r.runStart);
  return [
    { h: "Requests" },
    {
      p: `${r.requests} measured requests in ${f1(runS)} s (${f1(r.requests / runS)} requests/s), after ${r.warmup} warm-up requests; the whole bench took ${f1(r.benchS)} s. The tables below count every request sent, the warm-up's included; latency and RSS are over the measured run.`,
    },
    { table: { head: ["kind", "sent", "completed", "cancelled", "rejected (4xx)", "error"], rows, align: ["l", "r", "r", "r", "r", "r"] } },
    { h: "Errors by kind" },
    v.errorCount ? { table: { head: ["kind", "count"], rows: entries(v.errors), align: ["l", "r"] } } : { p: "None." },
    ...(v.errorSamples.length ? [{ list: v.errorSamples.map((e) => `\`${e}\``) }] : []),
  ];
}

function cancelBlocks(r: SoakResult): Block[] {
  const c = r.join.cancels;
  return [
    { h: "Cancels" },
    {
      p: `${r.verdict.cancelled} requests cancelled by the client; their timelines: ${c.recorded} marked cancelled (aborted or 499), ${c.answeredFirst} answered in full (200) before the cancel reached the server. ${r.verdict.cancelMissed} planned cancels came after the whole response and count as completed. The server generated ${c.tokensGenerated} tokens for cancelled requests.`,
    },
    { table: { head: ["server status of cancelled requests", "count"], rows: entries(c.statuses), align: ["l", "r"] } },
    { table: { head: ["client cancel stage → where the server was", "count"], rows: entries(c.stages), align: ["l", "r"] } },
  ];
}

function badBlocks(r: SoakResult): Block[] {
  const rows = Object.entries(r.verdict.badStatuses).map(([name, statuses]) => {
    const expect = r.all.find((x) => x.variant === name)?.expect;
    return [name, String(Object.values(statuses).reduce((a, b) => a + b, 0)), Object.entries(statuses).map(([st, n]) => `${st} × ${n}`).join(", "), String(expect ?? "")];
  });
  return [{ h: "Bad inputs" }, { table: { head: ["input", "sent", "statuses", "expected"], rows, align: ["l", "r", "l", "r"] } }];
}

/** Above this share of one core used by other processes, the machine was shared and latency comparisons are suspect. */
const OTHERS_WARNING = 20;

function cpuRow(name: string, w: Window): string[] {
  const c = w.cpu;
  return [name, c ? f1(c.server) : "–", c ? f1(c.client) : "–", c ? f1(c.others) : "–", fixed(w.serverCpuPerRequestMs, 2)];
}

function latencyMemoryBlocks(r: SoakResult, svg: { latency: string; rss: string }): Block[] {
  const { start, end, driftP50, driftP99 } = r.verdict.latency;
  const pct = (x: number): string => `${x >= 0 ? "+" : ""}${f1(x * 100)} %`;
  const m = r.verdict.rss;
  const shared = [start, end].some((w) => (w.cpu?.others ?? 0) > OTHERS_WARNING);
  return [
    { h: "Latency" },
    { p: "Good requests only (client e2e: request start → last byte read), first tenth of the measured requests against the last; both tenths carry the same mix of requests." },
    {
      table: {
        head: ["window", "n", "p50 (ms)", "p99 (ms)"],
        rows: [
          ["first tenth", String(start.n), f1(start.p50), f1(start.p99)],
          ["last tenth", String(end.n), f1(end.p50), f1(end.p99)],
          ["drift", "", pct(driftP50), pct(driftP99)],
        ],
        align: ["l", "r", "r", "r"],
      },
    },
    { p: `CPU over the same windows (% of one core; the machine has ${start.cpu ? f1(start.cpu.cores) : "?"} cores), and the server's CPU time per request, which contention hardly changes: if latency drifts but this does not, the machine, not the server, changed.` },
    { table: { head: ["window", "server %", "this client %", "other processes %", "server CPU ms per request"], rows: [cpuRow("first tenth", start), cpuRow("last tenth", end)], align: ["l", "r", "r", "r", "r"] } },
    ...(shared ? [{ p: `WARNING: other processes used more than ${OTHERS_WARNING} % of a core during a compared window: the machine was shared, and the latency drift reflects that as much as the server.` }] : []),
    { svg: svg.latency, file: "latency.svg", alt: "p50 and p99 latency over the run" },
    { h: "Memory" },
    { p: `Server RSS (/proc/PID/status VmRSS, sampled every 250 ms), median over the first and the last tenth: ${f1(m.start)} MiB → ${f1(m.end)} MiB (${pct(m.growth)}); peak ${f1(m.peak)} MiB.` },
    { svg: svg.rss, file: "rss.svg", alt: "server RSS over the run" },
  ];
}

function serverBlocks(r: SoakResult): Block[] {
  const j = r.join;
  return [
    { h: "Server" },
    {
      list: [
        `timeline file: ${j.timelineLines} lines (${f1(r.timelineBytes / 2 ** 20)} MiB; ${r.timelineNote}), ${j.unreadableLines} unreadable; ${j.lost.length} requests without a timeline${j.lost.length ? ` (e.g. ${j.lost.slice(0, 3).join(", ")})` : ""}, ${j.duplicated.length} with more than one; ${j.unexpected.count} timelines of ids the client did not send${j.unexpected.count ? ` (e.g. ${j.unexpected.sample.join(", ")})` : ""}`,
        `x-request-id kept: ${j.idReplaced === 0 ? "always" : `replaced ${j.idReplaced} times`}`,
        `timelines whose durations contradict their definitions (not judged): ${Object.entries(j.oddities).map(([what, o]) => `${what} × ${o.count} (e.g. ${o.example})`).join("; ") || "none"}`,
        `after the run, /stats: ${r.statsAfter ? `${r.statsAfter.running} running, ${r.statsAfter.waiting} waiting` : "no answer"}`,
        `SIGTERM: exit code ${r.exit.code}${r.exit.signal ? `, signal ${r.exit.signal}` : ""}${r.exit.killed ? " (killed after the stop timeout)" : ""}, ${fixed(r.exit.shutdownMs / 1000, 2)} s`,
      ],
    },
  ];
}

function soakBlocks(r: SoakResult, svg: { latency: string; rss: string }): Block[] {
  return [{ p: r.setup }, ...verdictBlocks(r), ...requestBlocks(r), ...cancelBlocks(r), ...badBlocks(r), ...latencyMemoryBlocks(r, svg), ...serverBlocks(r)];
}

/** Writes the report files into `dir`; returns their paths. */
export async function writeSoakReport(r: SoakResult, dir: string, summary: object): Promise<{ markdown: string; html: string; json: string }> {
  const svg = charts(r);
  const blocks = soakBlocks(r, svg);
  const paths = { markdown: join(dir, "report.md"), html: join(dir, "report.html"), json: join(dir, "summary.json") };
  await Promise.all([
    writeFile(paths.markdown, toMarkdown(r.title, blocks)),
    writeFile(paths.html, toHtml(r.title, blocks)),
    writeFile(join(dir, "latency.svg"), svg.latency),
    writeFile(join(dir, "rss.svg"), svg.rss),
    writeFile(paths.json, `${JSON.stringify(summary, null, 2)}\n`),
  ]);
  return paths;
}
