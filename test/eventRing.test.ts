import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { EventRing } from "../src/timing/EventRing.js";

/** The covered length of [start, end] by brute force, on a 0.25 ms grid (the generated times are on it). */
function covered(events: Array<[number, number]>, start: number, end: number): number {
  let ms = 0;
  for (let t = start; t < end; t += 0.25) if (events.some(([s, e]) => s <= t && t + 0.25 <= e)) ms += 0.25;
  return ms;
}

test("an event ring's overlap counts covered time once, however many events overlap (GC entries nest)", () => {
  const grid = fc.integer({ min: 0, max: 400 }).map((q) => q / 4);
  const event = fc.tuple(grid, fc.integer({ min: 1, max: 80 }).map((q) => q / 4)).map(([s, d]) => [s, s + d] as [number, number]);
  fc.assert(
    fc.property(fc.array(event, { maxLength: 12 }), grid, grid, (events, a, b) => {
      const [start, end] = a <= b ? [a, b] : [b, a];
      const ring = new EventRing(32);
      for (const [s, e] of [...events].sort((x, y) => x[0] - y[0])) ring.add(s, e);
      const o = ring.overlap(start, end);
      assert.ok(Math.abs(o.ms - covered(events, start, end)) < 1e-9, `${o.ms} vs ${covered(events, start, end)}`);
      assert.ok(o.ms <= Math.max(0, end - start));
    }),
    { seed: 7, numRuns: 300 },
  );
});
