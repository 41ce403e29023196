/**
 * The study's "table 2" from a StepTrace: per level its mean and p90, its
 * named parts and what they leave unnamed. Rows come apart from their
 * Markdown so that an HTML report can lay out the same table.
 */
import { fixed as f } from "../../bench/stats.js";
import { markdownTable } from "../reportBlocks.js";
import type { LevelSummary, StepTrace } from "./stepTrace.js";

export interface StepTraceTable {
  head: string[];
  rows: string[][];
  /** Lines to print under the table: what was read, and every level whose parts overlap. */
  notes: string[];
}

const HEAD = ["level", "mean", "p90", "named parts (mean)", "unnamed remainder: mean", "p90"];

/** "· " per depth, like the indentation of the logs (Markdown cells lose leading spaces). */
function levelName(l: LevelSummary): string {
  return `${"· ".repeat(l.depth)}${l.name}${l.component ? ` (${l.component})` : ""}`;
}

function remainderCells(l: LevelSummary): [string, string] {
  const o = l.overlap;
  if (!o) return [f(l.remainder.mean), f(l.remainder.p90)];
  const where = o.steps === l.remainder.count ? "" : ` in ${o.steps} of ${l.remainder.count} steps`;
  const overlap = `parts overlap by ${f(o.mean)} ms${where}`;
  return o.steps === l.remainder.count ? [overlap, ""] : [`${f(l.remainder.mean)}; ${overlap}`, f(l.remainder.p90)];
}

export function stepTraceRows(t: StepTrace): StepTraceTable {
  const rows = t.levels.map((l) => [levelName(l), f(l.mean), f(l.p90), l.parts.map((p) => `${p.name} ${f(p.mean)}`).join(", "), ...remainderCells(l)]);
  for (const e of t.extras) rows.push([e.name, f(e.mean), f(e.p90), "", "", ""]);
  const kinds = t.kinds ? ` (${t.kinds.decode} decode, ${t.kinds.prefill} prefill${t.excluded ? `; ${t.excluded} left out` : ""})` : "";
  const read = `ms, over ${t.steps} steps${kinds}; ${t.skipped} other lines skipped${t.incomplete ? `; ${t.incomplete} steps lack some value (left out of what needs it)` : ""}.`;
  return { head: HEAD, rows, notes: [read, ...t.levels.flatMap((l) => (l.overlap ? [l.overlap.message + "."] : []))] };
}

/** Table 2 in Markdown, its notes under it. */
export function stepTraceTable(t: StepTrace): string {
  const { head, rows, notes } = stepTraceRows(t);
  // The level and its named parts are text.
  return [...markdownTable(head, rows, (c) => c === 0 || c === 3), "", ...notes].join("\n");
}
