/**
 * The analysis report, as blocks rendered two ways: Markdown (charts left
 * out) and a self-contained HTML page (inline CSS and SVG charts). It says
 * what was read, the answer in one sentence per cause, the reconciliation
 * table those sentences come from, and whatever else the data gives; what
 * it does not give is listed as not measured, with the reason.
 */
import { fixed as f } from "../bench/stats.js";
import type { Explanation } from "./explain.js";
import { esc, REPORT_CSS, tableHtml } from "./htmlTable.js";
import { stepTraceRows } from "./input/stepTable.js";
import { CLIENT_CLOCK_CAVEAT, largestPausesTable, pauseRequestTable, pauseSummaryTable } from "./pauseReport.js";
import { causesClause, PAUSE_CAUSES, type PauseCauses } from "./pauseCauses.js";
import { grouped, ms, pct } from "./pauseVerdict.js";
import { prefaceHtml } from "./markdownToHtml.js";
import type { PauseAnalysis } from "./pauses.js";
import type { Reconciliation } from "./reconcile.js";
import { markdownTable, msPct, NOT_MEASURED, outlierTable, val, type Block } from "./reportBlocks.js";
import { serverBlocks } from "./serverSection.js";
import { scatterWithFit } from "./svgCharts.js";

export interface ReportInput {
  explanation: Explanation;
  /** Extra sections that come before the analysis (a sweep's tables), in Markdown. */
  preface?: string;
}

function reconciliationBlocks(r: Reconciliation, points: ReadonlyArray<{ x: number; y: number }>): Block[] {
  const out: Block[] = [{ kind: "heading", text: "The answer" }, { kind: "list", items: r.verdicts }];
  const fit = r.fit
    ? `A line through the measurements (Theil–Sen, then least squares over the ${r.rows.reduce((a, x) => a + x.requests, 0) - r.fitExcluded} within ${r.k} × MAD): e2e = ${f(r.fit.a)} + ${f(r.fit.b)} × n ms (R² ${f(r.fit.r2, 4)}).`
    : "No line: every measurement has the same output length.";
  const t = r.t ? `t = ${f(r.t.ms)} ms per token (${r.t.source}).` : `t: ${NOT_MEASURED} (give --step-log or --step-ms, or records with server timelines or backend timings).`;
  out.push({ kind: "heading", text: "Reconciliation" }, { kind: "text", text: `${fit} ${t}` });
  out.push({
    kind: "table",
    caption: "measured − n × t = fixed cost a + per-token excess (b − t)·n + residual; each in ms and (in brackets) % of n × t.",
    head: ["output length", "requests", "n", "measured e2e", "n × t", "extra", "fixed cost a", "per token (b − t)·n", "residual"],
    rows: r.rows.map((x) => [String(x.length), String(x.requests), f(x.n, 1), f(x.measured), val(x.nTimesT), msPct(x.extra), msPct(x.fixed), msPct(x.perToken), msPct(x.residual)]),
  });
  if (points.length) out.push({ kind: "chart", caption: "Every measurement against its output tokens, with the line.", svg: scatterWithFit("e2e against output tokens, with the line", points, r.fit, "output tokens n", "e2e (ms)") });
  return out;
}

function traceBlocks(e: Explanation): Block[] {
  if (!e.stepTrace) return [];
  const { head, rows, notes } = stepTraceRows(e.stepTrace);
  return [{ kind: "heading", text: "Per step, from the step log (the study's table 2)" }, { kind: "table", head, rows, caption: notes.join(" ") }];
}

function spanBlocks(e: Explanation): Block[] {
  if (!e.spans?.length) return [];
  const labels = [...new Set(e.spans.flatMap((r) => Object.keys(r.spans)))];
  return [
    { kind: "heading", text: "The table's server-side columns" },
    {
      kind: "table",
      caption: "Mean ms per length and (in brackets) % of that length's e2e.",
      head: ["output length", "e2e", ...labels],
      rows: e.spans.map((r) => [String(r.length), f(r.e2e), ...labels.map((l) => msPct(r.spans[l]))]),
    },
  ];
}

function backendBlocks(e: Explanation): Block[] {
  if (!e.backend) return [];
  return [
    { kind: "heading", text: "The backend's own time (as it reported it)" },
    {
      kind: "table",
      caption: `Engine time is what the backend (${e.backend.sources.join(", ")}) reported for prefill and decode (TGI: its inference time); outside = client e2e − engine: validation, queue, HTTP, network. Mean ms.`,
      head: ["output length", "requests", "client e2e", "backend engine", "outside", "outside %", "backend queue"],
      rows: e.backend.rows.map((r) => [String(r.length), String(r.requests), f(r.e2e), f(r.engine), f(r.outside), f((r.outside / r.e2e) * 100, 1), val(r.queue)]),
    },
  ];
}

function pauseBlocks(e: Explanation): Block[] {
  const p = e.pauses;
  if (!p) return [];
  if (!p.measured) return [{ kind: "heading", text: "Pauses in the stream" }, { kind: "text", text: `${NOT_MEASURED}: ${p.reason}.` }];
  const summary = pauseSummaryTable(p);
  const requests = pauseRequestTable(p);
  const c = e.pauseCauses;
  const onServer = c && causesClause(c);
  return [
    { kind: "heading", text: "Pauses in the stream (client side)" },
    { kind: "text", text: `${p.verdict}${onServer ? `; ${onServer}` : ""}. ${onServer ? "" : CLIENT_CLOCK_CAVEAT}`.trimEnd() },
    { kind: "table", head: ["figure", "value"], rows: summary.rows },
    ...(c?.pauses.length ? [causeTable(c)] : []),
    { kind: "table", head: requests.head, rows: requests.rows, caption: "The requests that paused most." },
    largestPauses(p, c),
  ];
}

function largestPauses(p: PauseAnalysis, c: PauseCauses | undefined): Block {
  const t = largestPausesTable(p, c && new Map(c.pauses.map((x) => [x.pause, x.cause])));
  const why = c ? ", and its cause on the server's records" : "";
  return { kind: "table", head: t.head, rows: t.rows, caption: `The largest pauses: the request, the token that came late (its index in the stream), the gap before it, the pause (gap − the request's typical gap)${why}. GET /debug/requests/{id} shows the steps that made it.` };
}

function causeTable(c: PauseCauses): Block {
  const rows = PAUSE_CAUSES.flatMap(({ cause, meaning }) => {
    const x = c.byCause.get(cause);
    return x ? [[cause, `pauses that ${meaning}`, grouped(x.count), ms(x.ms), pct(x.ms / c.totalMs)]] : [];
  });
  return {
    kind: "table",
    caption: "Each pause's cause on the server's records: the engine steps that made its late token, and what they carried. One cause per pause, the one that accounts for most of it (at least a quarter).",
    head: ["cause", "meaning", "pauses", "pause ms", "% of pause time"],
    rows,
  };
}

function clientOutlierBlocks(e: Explanation): Block[] {
  const o = e.outliers;
  if (!o) return [];
  const head: Block[] = [{ kind: "heading", text: "Slow requests (client side)" }];
  if (o.length === 0) return [...head, { kind: "text", text: `No request is slower than expected by more than ${e.k} × MAD.` }];
  return [
    ...head,
    { kind: "text", text: `${o.length} ${o.length === 1 ? "request" : "requests"} slower than expected by more than ${e.k} × MAD (against the median of at least 3 requests of the same length, relatively; else against the line, in ms), with what the client and the backend saw of them (without server records, no more can be said):` },
    outlierTable(o, "seen"),
  ];
}

function blocks(input: ReportInput): Block[] {
  const e = input.explanation;
  const points = e.reconciliation.rows.length ? pointsOf(e) : [];
  return [
    { kind: "heading", text: "What was read" },
    { kind: "text", text: e.source },
    ...reconciliationBlocks(e.reconciliation, points),
    ...traceBlocks(e),
    ...spanBlocks(e),
    ...backendBlocks(e),
    ...pauseBlocks(e),
    ...clientOutlierBlocks(e),
    ...(e.server ? serverBlocks(e.server) : []),
    ...(e.notMeasured.length ? [{ kind: "heading", text: "Not measured" } as Block, { kind: "list", items: e.notMeasured } as Block] : []),
  ];
}

/** The measurements for the scatter: the server analysis marks its outliers; otherwise the lengths' means. */
function pointsOf(e: Explanation): Array<{ x: number; y: number; outlier?: boolean }> {
  if (e.server) return e.server.points;
  return e.reconciliation.rows.map((r) => ({ x: r.n, y: r.measured, outlier: e.reconciliation.events.includes(r) }));
}

export function markdownReport(input: ReportInput): string {
  const lines = ["# llm-serving analysis", ""];
  if (input.preface) lines.push(input.preface, "");
  for (const b of blocks(input)) {
    if (b.kind === "heading") lines.push(`## ${b.text}`, "");
    else if (b.kind === "text") lines.push(b.text, "");
    else if (b.kind === "list") lines.push(...b.items.map((i) => `- ${i}`), "");
    else if (b.kind === "table") {
      lines.push(...markdownTable(b.head, b.rows));
      if (b.caption) lines.push("", b.caption);
      lines.push("");
    }
  }
  lines.push("(Charts: in the HTML report, written with `--html FILE`.)");
  return lines.join("\n") + "\n";
}

function blockHtml(b: Block): string {
  if (b.kind === "heading") return `<h2>${esc(b.text)}</h2>`;
  if (b.kind === "text") return `<p>${esc(b.text)}</p>`;
  if (b.kind === "list") return `<ul>${b.items.map((i) => `<li>${esc(i)}</li>`).join("")}</ul>`;
  if (b.kind === "chart") return `<figure>${b.svg}<figcaption>${esc(b.caption)}</figcaption></figure>`;
  return tableHtml(b);
}

/** One page with its style inline and its charts as SVG: no script, nothing to fetch. */
export function htmlReport(input: ReportInput): string {
  const body = blocks(input).map(blockHtml).join("\n");
  const preface = input.preface ? `<section class="preface">\n${prefaceHtml(input.preface)}\n</section>\n` : "";
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>llm-serving analysis</title><style>${REPORT_CSS}</style></head><body><h1>llm-serving analysis</h1>\n${preface}${body}\n</body></html>\n`;
}
