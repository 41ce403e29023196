/**
 * The one monotonic clock of llm-serving: milliseconds since the process's
 * time origin, with sub-microsecond resolution (~50 ns per read). It is the
 * clock PerformanceObserver GC entries use, so runtime events and our marks
 * line up without conversion.
 */
import { performance } from "node:perf_hooks";

export function now(): number {
  return performance.now();
}
