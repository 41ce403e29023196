/**
 * Time units of a table's columns: milliseconds or seconds, from what the
 * table says (a unit in the header, or on the cells) or, failing that, from
 * the values (perTokenUnit).
 */
import { median } from "../fit.js";

export type TimeUnit = "ms" | "s";

export const MS_PER: Record<TimeUnit, number> = { ms: 1, s: 1000 };

const UNIT_WORDS: Record<string, TimeUnit> = {
  ms: "ms",
  msec: "ms",
  msecs: "ms",
  millisecond: "ms",
  milliseconds: "ms",
  s: "s",
  sec: "s",
  secs: "s",
  second: "s",
  seconds: "s",
};

const WORDS = Object.keys(UNIT_WORDS).join("|");
/** "latency (s)", "e2e [ms]": a unit in brackets at the end. */
const BRACKETED = new RegExp(`\\s*[(\\[]\\s*(${WORDS})\\s*[)\\]]\\s*$`, "i");
/** "e2e_ms", "total-s", "time ms": a unit word after a separator at the end. */
const SUFFIXED = new RegExp(`[\\s_-](${WORDS})\\s*$`, "i");

/** The unit a header names at its end, and the header without it. */
export function headerUnit(header: string): { unit?: TimeUnit; bare: string } {
  for (const re of [BRACKETED, SUFFIXED]) {
    const m = re.exec(header);
    if (m) return { unit: UNIT_WORDS[m[1].toLowerCase()], bare: header.slice(0, m.index).trim() };
  }
  return { bare: header.trim() };
}

export type CellNumber =
  | { kind: "number"; value: number; unit?: TimeUnit }
  | { kind: "empty" }
  | { kind: "decimal comma" }
  | { kind: "not a number" };

const CELL = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)\s*(ms|s)?$/i;

/** A cell as a number, with the unit it carries ("40 ms", "0.04s") if any. */
export function cellNumber(cell: string): CellNumber {
  const t = cell.trim();
  if (t === "") return { kind: "empty" };
  const m = CELL.exec(t);
  if (m) return { kind: "number", value: Number(m[1]), unit: m[2] ? UNIT_WORDS[m[2].toLowerCase()] : undefined };
  if (/^[+-]?\d+,\d+(\s*(ms|s))?$/i.test(t)) return { kind: "decimal comma" };
  return { kind: "not a number" };
}

/**
 * Below this many units per token, an end-to-end column without a stated
 * unit is read as seconds. Real LLM servers make a token in about 2 ms to
 * 1 s: read as ms, a median per token under 1 would mean under 1 ms a token
 * (only toy models); read as s, 1 or more would mean over a second a token
 * (rarely seen). The boundary sits where both readings are least likely.
 */
export const SECONDS_BELOW_PER_TOKEN = 1;

/** The unit of an end-to-end column from its values: the median of e2e / length over rows with length > 0. */
export function perTokenUnit(rows: ReadonlyArray<{ length: number; e2e: number }>): { unit: TimeUnit; evidence: string } | undefined {
  const perToken = rows.filter((r) => r.length > 0).map((r) => r.e2e / r.length);
  if (perToken.length === 0) return undefined;
  const typical = median(perToken);
  const unit: TimeUnit = typical < SECONDS_BELOW_PER_TOKEN ? "s" : "ms";
  const cmp = unit === "s" ? "<" : "≥";
  return { unit, evidence: `median e2e per token ${typical.toPrecision(3)} ${cmp} ${SECONDS_BELOW_PER_TOKEN}` };
}
