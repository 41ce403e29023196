/**
 * The analysis report, as blocks rendered two ways: Markdown (charts left
 * out) and a self-contained HTML page (inline CSS and SVG charts).
 */
import type { Analysis } from "./analyze.js";
import { OVERHEAD_PARTS, PART_MEANING } from "./overhead.js";
import { fixed as f } from "../bench/stats.js";
import { scatterWithFit, stackedBars, timeSeries } from "./svgCharts.js";

type Block =
  | { kind: "heading"; text: string }
  | { kind: "text"; text: string }
  | { kind: "table"; head: string[]; rows: string[][] }
  | { kind: "chart"; svg: string };


export interface ReportInput {
  analysis: Analysis;
  /** Where the data came from, for the report's first line. */
  source: string;
  /** Extra sections that come before the analysis (a sweep's tables), in Markdown. */
  preface?: string;
}

function blocks({ analysis: a, source }: ReportInput): Block[] {
  const out: Block[] = [];
  out.push({ kind: "heading", text: "Join" });
  out.push({ kind: "text", text: `${a.clientRecords} client records from ${source}; ${a.completed} completed; ${a.joined} joined with the server's timelines by request id: join rate ${f(a.joinRate * 100, 1)} %.` });

  out.push({ kind: "heading", text: "Fit and reconciliation" });
  const fitLine = a.fit
    ? `Least squares over ${a.completed - a.fitExcluded} requests${a.fitExcluded ? ` (${a.fitExcluded} whose first residual was beyond ${a.k} × MAD left out, so that they do not pull the line)` : ""}: e2e = ${f(a.fit.a)} + ${f(a.fit.b)} × n ms (R² ${f(a.fit.r2, 4)}).`
    : `Every request had the same output length, so there is no slope to fit: residuals are measured from the median e2e.`;
  const slope = a.engineFit && a.fit
    ? ` Over the same requests the engine's own time is last_token − first_token = ${f(a.engineFit.a)} + ${f(a.engineFit.b)} × (n − 1) ms: the client's slope differs from the engine's by ${f(((a.fit.b - a.engineFit.b) / a.engineFit.b) * 100, 1)} %, which is the cost per token outside the engine.`
    : "";
  const engine = `The engine's time per token, (last_token − first_token) / (n − 1), median over requests: t = ${f(a.enginePerToken)} ms.${slope} Native time (decode + sample) of one decode step, c: ${f(a.nativePerToken)} ms.`;
  const ttft = a.decodeFit
    ? `TTFT separated from decode: median TTFT ${f(a.ttft)} ms; e2e − TTFT = ${f(a.decodeFit.a)} + ${f(a.decodeFit.b)} × (n − 1) ms (R² ${f(a.decodeFit.r2, 4)}).`
    : `Median TTFT ${f(a.ttft)} ms.`;
  out.push({ kind: "text", text: [fitLine, engine, ttft].join(" ") });
  out.push({
    kind: "table",
    head: ["output length", "requests", "n", "measured e2e", "n × t", "extra %", "of which engine %", "outside engine %", a.fit ? "fit a + b·n" : "median e2e", "residual"],
    rows: a.lengths.map((l) => [String(l.length), String(l.requests), f(l.n, 1), f(l.measured), f(l.nTimesT), f(l.extraPct, 1), f(l.engineExtraPct, 1), f(l.outsidePct, 1), f(l.fitted), f(l.residual)]),
  });
  out.push({
    kind: "text",
    text: "t is the engine's time per token above; extra % = (measured − n × t) / (n × t), the study's reconciliation. It splits in two: the engine's own time (queued → finished) beyond n × t, and the time outside the engine (client e2e − engine time: HTTP, parsing, writing, network), both as % of n × t. Were the engine's time per token constant, the fit's intercept would be the fixed cost of a request (TTFT beyond one step, HTTP) and its slope the cost per token.",
  });
  if (a.positions.length > 1) {
    const first = a.positions[0];
    const last = a.positions.at(-1)!;
    out.push({
      kind: "text",
      text:
        `The engine's decode step time by output position (native: decode + sample). From positions ${first.from}–${first.to} to ${last.from}–${last.to} it goes from ${f(first.meanMs)} to ${f(last.meanMs)} ms (${f(((last.meanMs - first.meanMs) / first.meanMs) * 100, 1)} %): a step attends to every token before it, so a per-token time that grows with the context makes n × t fall short of long requests inside the engine.` +
        (last.meanMs > 1.1 * first.meanMs && a.fit
          ? ` It grows by more than 10 % here, so e2e is not a straight line in n: the fit's slope is an average over the lengths swept, and its intercept (${f(a.fit.a)} ms) is the curvature, not a fixed cost.`
          : ""),
    });
    out.push({ kind: "table", head: ["output positions", "steps", "mean step ms"], rows: a.positions.map((p) => [`${p.from}–${p.to}`, String(p.steps), f(p.meanMs)]) });
  }
  out.push({ kind: "chart", svg: scatterWithFit("client e2e against output tokens, with the fit (outliers in red)", a.points, a.fit, "output tokens n", "e2e (ms)") });

  out.push({ kind: "heading", text: "Where the overhead goes" });
  out.push({ kind: "text", text: `Overhead = client e2e − n × c, split into named parts that add up to it (mean ms per request; all requests: ${f(a.overheadMean)} ms).` });
  out.push({
    kind: "table",
    head: ["output length", "overhead", ...OVERHEAD_PARTS],
    rows: a.lengths.map((l) => [String(l.length), f(l.overhead), ...OVERHEAD_PARTS.map((p) => f(l.parts[p]))]),
  });
  out.push({ kind: "table", head: ["part", "mean ms", "what it is"], rows: OVERHEAD_PARTS.map((p) => [p, f(a.partsMean[p]), PART_MEANING[p]]) });
  out.push({
    kind: "chart",
    svg: stackedBars(
      "overhead parts per output length (mean ms)",
      a.lengths.map((l) => String(l.length)),
      OVERHEAD_PARTS.map((p) => ({ name: p, values: a.lengths.map((l) => l.parts[p]) })),
      "ms",
    ),
  });

  out.push({ kind: "heading", text: "Outliers" });
  out.push({
    kind: "text",
    text: a.outliers.length
      ? `${a.outliers.length} ${a.outliers.length === 1 ? "request" : "requests"} slower than their peers (the median of requests of the same length, or the fit) by more than ${a.k} × MAD of all relative deviations, each with the cause its timeline shows:`
      : `No request is slower than its peers by more than ${a.k} × MAD.`,
  });
  if (a.outliers.length) {
    out.push({ kind: "table", head: ["request", "n", "e2e ms", "expected ms", "residual ms", "cause"], rows: a.outliers.map((o) => [o.id, String(o.n), f(o.e2e), f(o.expected), f(o.residual), o.cause]) });
  }
  out.push({ kind: "chart", svg: timeSeries("engine step durations, GC pauses marked", a.steps.map((s) => ({ t: s.t, v: s.dur })), a.gc.map((g) => ({ t: g.t, label: `${g.kind} GC ${f(g.dur, 1)} ms` })), "step (ms)") });
  return out;
}

function cell(s: string): string {
  return s.replace(/\|/g, "\\|");
}

export function markdownReport(input: ReportInput): string {
  const lines = ["# llm-serving analysis", ""];
  if (input.preface) lines.push(input.preface, "");
  for (const b of blocks(input)) {
    if (b.kind === "heading") lines.push(`## ${b.text}`, "");
    else if (b.kind === "text") lines.push(b.text, "");
    else if (b.kind === "table") {
      lines.push(`| ${b.head.map(cell).join(" | ")} |`, `|${b.head.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`);
      for (const r of b.rows) lines.push(`| ${r.map(cell).join(" | ")} |`);
      lines.push("");
    }
  }
  lines.push("(Charts: see the HTML report.)");
  return lines.join("\n") + "\n";
}

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function htmlReport(input: ReportInput): string {
  const body = blocks(input)
    .map((b) => {
      if (b.kind === "heading") return `<h2>${esc(b.text)}</h2>`;
      if (b.kind === "text") return `<p>${esc(b.text)}</p>`;
      if (b.kind === "chart") return `<figure>${b.svg}</figure>`;
      return `<table><thead><tr>${b.head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${b.rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
    })
    .join("\n");
  const preface = input.preface ? `<pre>${esc(input.preface)}</pre>` : "";
  return `<!doctype html><html><head><meta charset="utf-8"><title>llm-serving analysis</title><style>
body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}pre{background:#f6f6f6;padding:1em;overflow:auto}
</style></head><body><h1>llm-serving analysis</h1>${preface}${body}</body></html>\n`;
}
