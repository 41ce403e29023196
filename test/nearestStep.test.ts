/**
 * The step timeline's hit test (src/dashboard/nearestStep.ts, DOM-free): the
 * step under a point of the axis, or the nearest within reach, found by a
 * binary search, is the one a scan of every step finds.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { nearestStep, type TimedStep } from "../src/dashboard/nearestStep.js";

/** Every step, looked at: the smallest distance, the earlier step on a tie. */
function scan(steps: readonly TimedStep[], ms: number, near: number): TimedStep | undefined {
  let best: TimedStep | undefined;
  let bestGap = Infinity;
  for (const s of steps) {
    const gap = ms < s.start ? s.start - ms : Math.max(0, ms - (s.start + s.dur));
    if (gap <= near && gap < bestGap) [best, bestGap] = [s, gap];
  }
  return best;
}

/** Steps one after another, with gaps (a timeline's steps never overlap). */
const timeline = fc.array(fc.tuple(fc.double({ min: 0, max: 5, noNaN: true }), fc.double({ min: 0.01, max: 20, noNaN: true })), { maxLength: 60 }).map((parts) => {
  let t = 0;
  return parts.map(([gap, dur]) => {
    const s = { start: t + gap, dur };
    t = s.start + dur;
    return s;
  });
});

test("the binary search finds the step a scan of all of them finds", () => {
  fc.assert(
    fc.property(timeline, fc.double({ min: -10, max: 800, noNaN: true }), fc.double({ min: 0, max: 3, noNaN: true }), (steps, ms, near) => {
      const found = nearestStep(steps, ms, near);
      const expected = scan(steps, ms, near);
      // On an exact tie between two neighbours either is right: compare distances.
      const gap = (s: TimedStep | undefined): number => (s ? (ms < s.start ? s.start - ms : Math.max(0, ms - (s.start + s.dur))) : NaN);
      assert.equal(found === undefined, expected === undefined);
      if (found) assert.equal(gap(found), gap(expected));
    }),
  );
});

test("a point inside a bar is that bar's step; none in reach is none", () => {
  const steps = [
    { start: 0, dur: 1 },
    { start: 1.5, dur: 0.1 },
    { start: 10, dur: 2 },
  ];
  assert.equal(nearestStep(steps, 0.5, 0.1), steps[0]);
  assert.equal(nearestStep(steps, 1.55, 0.1), steps[1]);
  assert.equal(nearestStep(steps, 1.2, 0.25), steps[0]);
  assert.equal(nearestStep(steps, 1.4, 0.25), steps[1]);
  assert.equal(nearestStep(steps, 5, 1), undefined);
  assert.equal(nearestStep([], 5, 1), undefined);
});
