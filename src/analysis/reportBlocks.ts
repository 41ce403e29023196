/** What a report is made of: headings, sentences, tables and charts, rendered as Markdown or HTML. */
import { fixed } from "../bench/stats.js";
import type { Outlier } from "./outliers.js";

export type Block =
  | { kind: "heading"; text: string }
  | { kind: "text"; text: string }
  | { kind: "list"; items: string[] }
  | { kind: "table"; head: string[]; rows: string[][]; caption?: string }
  | { kind: "chart"; svg: string; caption: string };

export const NOT_MEASURED = "not measured";

/** A figure, or "not measured" where there is none (never NaN, never a 0 that was not measured). */
export function val(x: number | null | undefined, digits = 3): string {
  return x === null || x === undefined || !Number.isFinite(x) ? NOT_MEASURED : fixed(x, digits);
}

/** ms and % of a reference, or "not measured". */
export function msPct(part: { ms: number; pct: number } | null | undefined): string {
  return part ? `${fixed(part.ms, 1)} (${fixed(part.pct, 1)} %)` : NOT_MEASURED;
}

/** The slow requests, a row each; `why` heads the last column (the cause its timeline shows, or what the client saw). */
export function outlierTable(outliers: readonly Outlier[], why: string): Block {
  return { kind: "table", head: ["request", "n", "e2e ms", "expected ms", "residual ms", why], rows: outliers.map((o) => [o.id, String(o.n), fixed(o.e2e), fixed(o.expected), fixed(o.residual), o.cause]) };
}

/**
 * A Markdown pipe table's lines: "|" inside a cell escaped, every column
 * right-aligned (figures) except those `left` says hold text.
 */
export function markdownTable(head: readonly string[], rows: ReadonlyArray<readonly string[]>, left: (column: number) => boolean = (c) => c === 0 || wordsIn(rows, c)): string[] {
  const line = (cells: readonly string[]): string => `| ${cells.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`;
  return [line(head), `|${head.map((_, i) => (left(i) ? "---" : "---:")).join("|")}|`, ...rows.map(line)];
}

/** A column of words (what a part is, its cause), not of figures: most of its cells begin with a letter, and read better left-aligned. */
function wordsIn(rows: ReadonlyArray<readonly string[]>, column: number): boolean {
  // "not measured" stands in a column of figures, and does not make it one of words.
  const cells = rows.map((r) => r[column]?.trim() ?? "").filter((c) => c !== "" && c !== NOT_MEASURED);
  return cells.length > 0 && cells.filter((c) => /^\p{L}/u.test(c)).length * 2 > cells.length;
}
