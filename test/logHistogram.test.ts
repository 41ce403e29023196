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
const latency = fc.oneof(fc.double({ min: 1e-3, max: 1e5, noNaN: true }), fc.integer({ min: -3, max: 5 }).map((e) => 10 ** e));

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
        // The edges are rounded to the µs: the bins' exact edges are 10^(k/5), the first one at or below the smallest value.
        const lo = Math.floor(Math.log10(Math.min(...values)) * 5);
        const edge = (i: number): number => 10 ** ((lo + i) / 5);
        const expected = new Array<number>(h.counts.length).fill(0);
        for (const v of values) {
          const i = expected.findIndex((_, k) => v >= edge(k) && (v < edge(k + 1) || k === expected.length - 1));
          assert.ok(i >= 0 && v <= edge(expected.length), `${v} inside [${edge(0)}, ${edge(expected.length)}]`);
          expected[i]++;
        }
        assert.deepEqual(h.counts, expected);
      }),
    );
  });

  test("values with no place on a log axis are left out; nothing counted is an empty histogram", () => {
    assert.deepEqual(of([0, -1, NaN, Infinity]).toJson(), { edges: [], counts: [], n: 0 });
    assert.deepEqual(of([0, 2, -5]).toJson().n, 1);
  });

  test("one value on an edge has a bin of its own above it", () => {
    const h = of([10, 10]).toJson();
    assert.deepEqual(h, { edges: [10, 15.849], counts: [2], n: 2 });
  });
});
