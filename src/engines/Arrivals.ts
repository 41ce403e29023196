/**
 * Requests admitted (received while the engine was ready) whose bodies may
 * still be arriving: a drain lets them in before it waits for the rest.
 */
export class Arrivals {
  private arriving = 0;
  private allArrived: (() => void) | undefined;

  /** A request begins; false (not counted) unless the engine is ready. */
  admit(ready: boolean): boolean {
    if (!ready) return false;
    this.arriving++;
    return true;
  }

  /** An admitted request has reached the engine, or ended without. */
  settle(): void {
    if (--this.arriving > 0) return;
    this.allArrived?.();
    this.allArrived = undefined;
  }

  /** Resolves once every admitted request has reached the engine. */
  all(): Promise<void> {
    return this.arriving === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.allArrived = resolve));
  }
}
