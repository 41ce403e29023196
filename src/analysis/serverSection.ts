/**
 * The part of the report that only our own server's timelines can give:
 * the engine's time beside the client's, the overhead of every request split
 * into named parts, the step time by output position, and each outlier's
 * cause. Every sentence is computed from the numbers of the table beside it.
 */
import { fixed as f } from "../bench/stats.js";
import type { Analysis } from "./analyze.js";
import { linearFit } from "./fit.js";
import { OVERHEAD_PARTS, PART_MEANING } from "./overhead.js";
import { outlierTable, val, type Block } from "./reportBlocks.js";
import { stackedBars, timeSeries } from "./svgCharts.js";

function engineBlocks(a: Analysis): Block[] {
  const out: Block[] = [];
  const rows = a.lengths.filter((l) => Number.isFinite(l.engineExtraPct) && Number.isFinite(l.outsidePct));
  out.push({
    kind: "text",
    text: `${a.clientRecords} client records; ${a.completed} completed; ${a.joined} joined with the server's timelines by request id: join rate ${f(a.joinRate * 100, 1)} %. The engine's time per token t = ${val(a.enginePerToken)} ms (the decode phase, first token to the last step, / (n − 1), median over requests); the native time of one decode step (decode + sample) c = ${val(a.nativePerToken)} ms; median TTFT at the server ${val(a.ttft)} ms.`,
  });
  out.push({
    kind: "table",
    caption: "The extra over n × t, split at the engine's edge: the engine's own time (queued → finished) beyond n × t, and everything outside it (client e2e − engine time: HTTP, parsing, writing, network), in % of n × t.",
    head: ["output length", "requests", "n", "measured e2e", "n × t", "extra %", "of which engine %", "outside engine %", "outside engine ms"],
    rows: a.lengths.map((l) => [String(l.length), String(l.requests), f(l.n, 1), f(l.measured), val(l.nTimesT), val(l.extraPct, 1), val(l.engineExtraPct, 1), val(l.outsidePct, 1), val((l.outsidePct / 100) * l.nTimesT, 1)]),
  });
  // The outside part as a line in n, from the same per-length figures as the table.
  if (new Set(rows.map((l) => l.n)).size >= 2) {
    const outside = linearFit(
      rows.map((l) => l.n),
      rows.map((l) => (l.outsidePct / 100) * l.nTimesT),
    );
    out.push({
      kind: "text",
      text: `Outside the engine, over these lengths: ${f(outside.a)} ms per request ${outside.b >= 0 ? "+" : "−"} ${f(Math.abs(outside.b), 4)} ms per token (least squares over the table's "outside engine ms"), i.e. ${f((outside.b / a.enginePerToken) * 100, 1)} % of t per token.`,
    });
  }
  return out;
}

function positionBlocks(a: Analysis): Block[] {
  if (a.positions.length < 2) return [];
  return [
    { kind: "text", text: positionSentence(a.positions) },
    { kind: "table", head: ["output positions", "steps", "mean step ms"], rows: a.positions.map((p) => [`${p.from}–${p.to}`, String(p.steps), f(p.meanMs)]) },
  ];
}

/** What the decode step time does with the output position, as far as the groups (two or more) say it. */
export function positionSentence(positions: Analysis["positions"]): string {
  const first = positions[0];
  const last = positions.at(-1)!;
  const change = ((last.meanMs - first.meanMs) / first.meanMs) * 100;
  const direction = change > 0 ? "grows" : change < 0 ? "falls" : "stays";
  const means = positions.map((p) => p.meanMs);
  // Steady: each group within 5 % of the one before, in the direction of the change (a table that goes up and down is no trend).
  const steady = means.every((m, i) => i === 0 || (change >= 0 ? m >= means[i - 1] * 0.95 : m <= means[i - 1] * 1.05));
  const unsteady = ` Not steadily, though: between them it runs from ${f(Math.min(...means))} to ${f(Math.max(...means))} ms (a position's steps also carried other requests' prompts under continuous batching): read it as noise, not a trend.`;
  const why = !steady && Math.abs(change) > 10
    ? unsteady
    : change > 10
      ? " A step attends to every token before it, so a step time that grows with the context makes n × t fall short of long requests inside the engine, and e2e is not a straight line in n: the fit's slope is an average over the lengths swept, and its intercept is partly curvature, not a fixed cost."
      : change < -10
        ? " It falls with the position: long requests' later steps were cheaper than their first ones (a warmer cache, or less load late in the run)."
        : " It changes by 10 % or less: the step time is flat enough for n × t to hold.";
  return `The engine's decode step time by output position (native: decode + sample) ${direction} from ${f(first.meanMs)} ms at positions ${first.from}–${first.to} to ${f(last.meanMs)} ms at ${last.from}–${last.to} (${change >= 0 ? "+" : ""}${f(change, 1)} %).${why}`;
}

function overheadBlocks(a: Analysis): Block[] {
  return [
    { kind: "heading", text: "Where the overhead goes (server records)" },
    { kind: "text", text: `Overhead = client e2e − n × c, split into named parts that add up to it (mean ms per request over the ${a.joined} joined requests: ${val(a.overheadMean)} ms).` },
    { kind: "table", head: ["output length", "overhead", ...OVERHEAD_PARTS], rows: a.lengths.map((l) => [String(l.length), val(l.overhead), ...OVERHEAD_PARTS.map((p) => val(l.parts[p]))]) },
    { kind: "table", head: ["part", "mean ms", "what it is"], rows: OVERHEAD_PARTS.map((p) => [p, val(a.partsMean[p]), PART_MEANING[p]]) },
    {
      kind: "chart",
      caption: `Overhead parts per output length: mean ms per request, stacked.${a.lengths.some((l) => OVERHEAD_PARTS.some((p) => (l.parts[p] ?? 0) < 0)) ? " Negative parts (a part below what c expects) are not drawn, so a bar can stand above its overhead: the table above has them." : ""}`,
      svg: stackedBars(
        "overhead parts per output length (mean ms)",
        a.lengths.map((l) => String(l.length)),
        OVERHEAD_PARTS.map((p) => ({ name: p, values: a.lengths.map((l) => l.parts[p]) })),
        "ms",
      ),
    },
  ];
}

function outlierBlocks(a: Analysis): Block[] {
  const out: Block[] = [{ kind: "heading", text: "Outliers" }];
  out.push({
    kind: "text",
    text: a.outliers.length
      ? `${a.outliers.length} ${a.outliers.length === 1 ? "request" : "requests"} slower than expected by more than ${a.k} × MAD (against the median of at least 3 requests of the same length, relatively; else against the fit's line, in ms), each with the cause its timeline shows:`
      : `No request is slower than expected by more than ${a.k} × MAD.`,
  });
  if (a.outliers.length) out.push(outlierTable(a.outliers, "cause"));
  if (a.steps.length) {
    out.push({
      kind: "chart",
      caption: "Every engine step of the joined requests on the server's clock; GC pauses marked.",
      svg: timeSeries("engine step durations, GC pauses marked", a.steps.map((s) => ({ t: s.t, v: s.dur, end: s.t + s.dur })), a.gc.map((g) => ({ t: g.t, label: `${g.kind} GC ${f(g.dur, 1)} ms` })), "step (ms)"),
    });
  }
  return out;
}

export function serverBlocks(a: Analysis): Block[] {
  return [{ kind: "heading", text: "The engine's side (server records)" }, ...engineBlocks(a), ...positionBlocks(a), ...overheadBlocks(a), ...outlierBlocks(a)];
}
