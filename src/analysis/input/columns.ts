/**
 * Which column of a table is which: by the name the caller gave, or by the
 * usual names of an output length and an end-to-end time. Names are compared
 * normalized (case, separators and a trailing unit do not matter), so
 * "e2e_ms", "E2E (ms)" and "e2e" are the same name.
 */
import { TableError, shown } from "./errors.js";
import { headerUnit } from "./units.js";

/** Usual names of the output length, best first. */
export const LENGTH_NAMES = [
  "output length",
  "output tokens",
  "output len",
  "generated tokens",
  "completion tokens",
  "num output tokens",
  "new tokens",
  "n",
  "length",
  "tokens",
  "num tokens",
  "n tokens",
  "len",
  "max new tokens",
  "max tokens",
];

/** Usual names of the end-to-end time, best first. */
export const E2E_NAMES = [
  "e2e",
  "e2e latency",
  "e2e time",
  "end to end",
  "end to end latency",
  "end to end time",
  "get full res",
  "latency",
  "request latency",
  "total",
  "total time",
  "response time",
  "time",
  "duration",
  "elapsed",
];

export const COMMENT_NAMES = ["comment", "comments", "note", "notes", "remark", "remarks"];

/** "`E2E_ms`" → "e2e", "Output Tokens (mean)" → "output tokens mean": no quotes, brackets or trailing unit, lower case, one space between words. */
export function normalizeHeader(header: string): string {
  const plain = header.replace(/[`"'*]/g, "").trim();
  return headerUnit(plain)
    .bare.toLowerCase()
    .replace(/[\s_.\-()[\]{}:,]+/g, " ")
    .trim();
}

/** A rate ("time per token", "tokens/s", "throughput") is never the length or the time of a request. */
function isRate(header: string): boolean {
  return /\bper\b|\/|\brate\b|throughput|\btps\b/i.test(header);
}

function listHeaders(headers: readonly string[]): string {
  return headers.map((h) => shown(h)).join(", ");
}

/** The index of the header the caller named; one-line errors list the headers there are. */
export function namedColumn(headers: readonly string[], name: string, what: string): number {
  const exact = headers.map((h, i) => (h === name ? i : -1)).filter((i) => i >= 0);
  const hits = exact.length ? exact : headers.map((h, i) => (normalizeHeader(h) === normalizeHeader(name) ? i : -1)).filter((i) => i >= 0);
  if (hits.length === 1) return hits[0];
  if (hits.length === 0) throw new TableError(`no column ${shown(name)} for the ${what}; the headers are: ${listHeaders(headers)}`, undefined, name);
  throw new TableError(`${hits.length} columns are named like ${shown(name)} (for the ${what}): ${listHeaders(hits.map((i) => headers[i]))}; name one exactly`, undefined, name);
}

/**
 * The column with a usual name: first a header that is exactly one of the
 * names (trying them best first), then a header that contains one of them as
 * whole words ("client e2e", "output tokens (mean)"), rates left out. Two
 * headers equally good is an error, as is none.
 */
export function usualColumn(headers: readonly string[], names: readonly string[], taken: ReadonlySet<number>, what: string, option: string): number {
  const free = headers.map((h, i) => ({ i, norm: normalizeHeader(h), raw: h })).filter(({ i, raw }) => !taken.has(i) && !isRate(raw));
  const contains = (norm: string, name: string): boolean => ` ${norm} `.includes(` ${name} `);
  for (const match of [(norm: string, name: string) => norm === name, contains]) {
    for (const name of names) {
      const hits = free.filter(({ norm }) => match(norm, name));
      if (hits.length === 1) return hits[0].i;
      if (hits.length > 1) {
        throw new TableError(`cannot decide which column is the ${what}: ${listHeaders(hits.map((h) => h.raw))} all fit; name one (${option})`);
      }
    }
  }
  throw new TableError(`cannot decide which column is the ${what}: no header is a usual name for it; name it (${option}); the headers are: ${listHeaders(headers)}`);
}

/** "send_request=receive,LLMServer.generate_answer=engine" → { send_request: "receive", … }: any header to any label. */
export function parseSpanMapping(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(",")) {
    if (pair.trim() === "") continue;
    const eq = pair.lastIndexOf("=");
    const header = pair.slice(0, eq).trim();
    const label = pair.slice(eq + 1).trim();
    if (eq < 0 || header === "" || label === "") throw new TableError(`a span mapping is header=label, comma-separated; got ${shown(pair.trim())}`);
    out[header] = label;
  }
  return out;
}
