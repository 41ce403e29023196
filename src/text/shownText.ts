/**
 * Untrusted text (a request's value, a URL, a name from a model file, a cell
 * of a records file) as a message or a terminal shows it: cut short, and
 * quoted on one line. Any layer may use it; it imports nothing.
 */

/** The first `max` characters and "…" when longer. A character outside the BMP (an emoji) is never cut in half. */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--; // the first half of a surrogate pair: leave the pair out whole
  return `${text.slice(0, end)}…`;
}

/**
 * Cut at `max` and quoted as JSON, on one line. JSON escapes the C0
 * controls; the C1 controls (a terminal may act on them) and the Unicode
 * line separators are escaped too.
 */
export function quotedText(text: string, max: number): string {
  return JSON.stringify(cutText(text, max)).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
