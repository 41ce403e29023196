/**
 * When to check a backend's health next, while it is out. A backend that is
 * merely down (not answering, or its /health failing) is asked again soon,
 * within a few seconds, so that one started after the gateway or restarted
 * takes requests shortly after it comes up. A backend that flaps — its
 * /health passes, and its requests take it out again soon after — is asked
 * ever more slowly, up to half a minute, for as long as it keeps flapping.
 * Times are passed in (ms on any one clock), so the rules are tested without
 * waiting.
 */

/** Health checks of a flapping backend back off up to this. */
export const MAX_BACKOFF_MS = 30_000;
/** A backend that is merely down is checked at least this often. A check is one small GET. */
export const DOWN_CHECK_MAX_MS = 5000;
/** Taken out again within this of the last time, it flaps. */
export const FLAP_WINDOW_MS = 60_000;

export class HealthBackoff {
  /** The wait before the next check while it is out. */
  private delayMs: number;
  /** What a flapping backend's checks back off to: doubled each time it is taken out within the flap window. */
  private flapDelayMs: number;
  private lastOutAt = -Infinity;

  /** `intervalMs`: the checks' interval while it is healthy; `downCapMs`: how seldom a down backend may be checked at most. */
  constructor(
    private readonly intervalMs: number,
    private readonly downCapMs = DOWN_CHECK_MAX_MS,
  ) {
    this.delayMs = intervalMs;
    this.flapDelayMs = intervalMs;
  }

  /** A request took it out at `at` (it was healthy): the wait before its next check. */
  takenOut(at: number): number {
    this.flapDelayMs = this.flapping(at) ? Math.min(this.flapDelayMs * 2, MAX_BACKOFF_MS) : this.intervalMs;
    this.lastOutAt = at;
    this.delayMs = this.flapDelayMs;
    return this.delayMs;
  }

  /** A check passed: the wait before the next. */
  passed(): number {
    this.delayMs = this.intervalMs;
    return this.delayMs;
  }

  /** A check failed at `at`: the wait before the next. One flapping keeps its longer backoff; one merely down is asked again within `downCapMs`. */
  failed(at: number): number {
    this.delayMs = Math.min(this.delayMs * 2, Math.max(this.downCapMs, this.flapping(at) ? this.flapDelayMs : 0));
    return this.delayMs;
  }

  private flapping(at: number): boolean {
    return at - this.lastOutAt < FLAP_WINDOW_MS;
  }
}
