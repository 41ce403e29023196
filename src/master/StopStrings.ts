/**
 * Stop strings over streamed text: finds the first stop string, and tells how
 * much of the text's end must be held back because it could still become one
 * (so no text past a stop string is ever emitted, even when it spans tokens).
 */
export class StopStrings {
  constructor(private readonly stops: readonly string[]) {}

  get empty(): boolean {
    return this.stops.length === 0;
  }

  /** Index of the earliest stop string starting at or after `from`, with the string; undefined if none. */
  find(text: string, from: number): { index: number; stop: string } | undefined {
    let best: { index: number; stop: string } | undefined;
    for (const stop of this.stops) {
      const index = text.indexOf(stop, from);
      if (index !== -1 && (best === undefined || index < best.index)) best = { index, stop };
    }
    return best;
  }

  /** Length of the longest end of `text` (from `from`) that is a proper prefix of some stop string. */
  heldBack(text: string, from: number): number {
    let held = 0;
    for (const stop of this.stops) {
      const max = Math.min(stop.length - 1, text.length - from);
      for (let n = max; n > held; n--) {
        if (text.endsWith(stop.slice(0, n))) {
          held = n;
          break;
        }
      }
    }
    return held;
  }
}
