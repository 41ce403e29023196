/**
 * LogHistogram, the dashboard's latency histograms: counted as values come,
 * and merged from parts (a request's gaps are binned once and added to each
 * later view). Merging parts must give what counting every value at once
 * gives, and every value must sit in its bin.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { LogHistogram } from "../src/timing/LogHistogram.js";

/** Latencies as they come: microseconds to minutes, with exact powers of ten among them (bin edges). */
const latency = fc.oneof(
  fc.double({ min: 1e-3, max: 1e5, noNaN: true }),
  fc.integer({ min: -15, max: 25 }).map((k) => 10 ** (k / 5)),
  // An ulp either side of an edge, where the logarithm alone puts a value in the wrong bin (from 1 µs: the edges are shown to the µs).
  fc.tuple(fc.integer({ min: -14, max: 25 }), fc.boolean()).map(([k, up]) => {
    const e = 10 ** (k / 5);
    return up ? e + e * Number.EPSILON : e - e * Number.EPSILON;
  }),
);

const of = (values: readonly number[]): LogHistogram => {
  const h = new LogHistogram();
  for (const v of values) h.add(v);
  return h;
};

describe("LogHistogram", () => {
  test("parts merged give the histogram of all their values at once", () => {
    fc.assert(
      fc.property(fc.array(fc.array(latency, { maxLength: 50 }), { maxLength: 8 }), (parts) => {
        const merged = new LogHistogram();
        for (const p of parts) merged.merge(of(p));
        assert.deepEqual(merged.toJson(), of(parts.flat()).toJson());
      }),
    );
  });

  test("every value is counted once, in the bin whose edges hold it; the edges span the values and rise", () => {
    fc.assert(
      fc.property(fc.array(latency, { minLength: 1, maxLength: 200 }), (values) => {
        const h = of(values).toJson();
        assert.equal(h.n, values.length);
        assert.equal(h.counts.reduce((a, b) => a + b, 0), values.length);
        assert.equal(h.edges.length, h.counts.length + 1);
        for (let i = 1; i < h.edges.length; i++) assert.ok(h.edges[i] > h.edges[i - 1], `edges rise: ${h.edges}`);
        // The edges are rounded to the µs: the bins' exact edges are 10^(k/5), the first one the last at or below the smallest value.
        const min = Math.min(...values);
        let lo = Math.round(Math.log10(min) * 5) + 1;
        while (10 ** (lo / 5) > min) lo--;
        const edge = (i: number): number => 10 ** ((lo + i) / 5);
        const expected = new Array<number>(h.counts.length).fill(0);
        for (const v of values) {
          const i = expected.findIndex((_, k) => v >= edge(k) && v < edge(k + 1));
          assert.ok(i >= 0, `${v} inside [${edge(0)}, ${edge(expected.length)})`);
          expected[i]++;
        }
        assert.ok(expected.at(-1)! > 0, "the last bin holds the largest value");
        assert.deepEqual(h.counts, expected);
      }),
    );
  });

  test("values with no place on a log axis are left out; nothing counted is an empty histogram", () => {
    assert.deepEqual(of([0, -1, NaN, Infinity]).toJson(), { edges: [], counts: [], n: 0 });
    assert.deepEqual(of([0, 2, -5]).toJson().n, 1);
  });

  test("a value on an edge is in the bin above it", () => {
    assert.deepEqual(of([10, 10]).toJson(), { edges: [10, 15.849], counts: [2], n: 2 });
    assert.deepEqual(of([99999.99999999991, 100000]).toJson(), { edges: [63095.734, 100000, 158489.319], counts: [1, 1], n: 2 });
  });
});
