/**
 * What the engines table says went wrong with an engine (DOM-free): why it is
 * out while it is; once it is back, its last failed request, said as past —
 * a failure shown as "the error" beside "up" read as if it were still failing.
 */
/** An engine's row as GET /stats gives it (EngineRow in snapshot.ts), the fields this reads; apart, so that node's tests can load this without the page's DOM types. */
export interface EngineHealth {
  healthy: boolean;
  lastError: string | null;
  lastFailure?: string | null;
}

export function failureOf(x: EngineHealth): string {
  if (!x.healthy) return x.lastError ? `out: ${x.lastError}` : "out";
  const earlier = x.lastFailure ?? x.lastError;
  return earlier ? `earlier: ${earlier}` : "";
}
