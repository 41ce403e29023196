import { quotedText } from "../text/shownText.js";

/** Longest piece of a bad string quoted back in an error. */
const QUOTE_CHARS = 64;

/**
 * A bad value as an error shows it: a string is quoted (cut at 64
 * characters), an object or array is named, never serialized (it may be
 * megabytes, or 10 000 levels deep).
 */
export function shownValue(v: unknown): string {
  if (v !== null && typeof v === "object") return Array.isArray(v) ? "an array" : "an object";
  return typeof v === "string" ? quotedText(v, QUOTE_CHARS) : String(v);
}

/** The integers allowed, as an error says them: Infinity is no bound ("at least 1", not "in [1, Infinity]"). */
export function shownRange(min: number, max: number): string {
  if (max === Infinity) return `at least ${min}`;
  if (min === -Infinity) return `at most ${max}`;
  return `in [${min}, ${max}]`;
}
