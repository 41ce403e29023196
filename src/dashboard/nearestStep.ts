/** Which step a point of the step timeline is on (no DOM: the tests run it in Node too). */

export interface TimedStep {
  start: number;
  dur: number;
}

/** The step nearest to `ms` on the axis, if within `near` ms of its bar; `steps` in time order, not overlapping. */
export function nearestStep<S extends TimedStep>(steps: readonly S[], ms: number, near: number): S | undefined {
  let lo = 0;
  let hi = steps.length; // the first step starting after ms
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (steps[mid].start <= ms) lo = mid + 1;
    else hi = mid;
  }
  let best: S | undefined;
  let bestGap = near;
  for (const s of [steps[lo - 1], steps[lo]]) {
    if (!s) continue;
    const gap = ms < s.start ? s.start - ms : Math.max(0, ms - (s.start + s.dur));
    if (gap <= bestGap) [best, bestGap] = [s, gap];
  }
  return best;
}
