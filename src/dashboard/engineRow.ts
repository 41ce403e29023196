/**
 * One engine behind the router, as GET /stats and the live feed give it
 * (RemoteEngineStats, src/engines/Engine.ts; the page is compiled apart, so
 * it has its own copy: test/dashboardData.test.ts checks that the server's
 * shape is one the page reads). DOM-free.
 */
export interface EngineRow {
  name: string;
  kind: string;
  healthy: boolean;
  outstanding: number;
  served: number;
  failures: number;
  /** Why it is out (cleared when a health check passes). */
  lastError: string | null;
  /** Why its last failed request failed (kept after it is back). */
  lastFailure?: string | null;
  load: { running?: number; waiting?: number; kvUsage?: number } | null;
}
