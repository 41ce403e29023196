/** What a report is made of: headings, sentences, tables and charts, rendered as Markdown or HTML. */
import { fixed } from "../bench/stats.js";

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
