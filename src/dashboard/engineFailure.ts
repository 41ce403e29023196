/**
 * What the engines table says went wrong with an engine (DOM-free): why it is
 * out while it is; once it is back, its last failed request, said as past —
 * a failure shown as "the error" beside "up" read as if it were still failing.
 */
import type { EngineRow } from "./engineRow.js";

export function failureOf(x: Pick<EngineRow, "healthy" | "lastError" | "lastFailure">): string {
  if (!x.healthy) return x.lastError ? `out: ${x.lastError}` : "out";
  const earlier = x.lastFailure ?? x.lastError;
  return earlier ? `earlier: ${earlier}` : "";
}
