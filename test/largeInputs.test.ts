/**
 * The analysis over more values than a function call has room for as
 * arguments (~125 000 in Node 20): a long sweep's steps, a soak's tokens.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { largest, smallest } from "../src/analysis/fit.js";
import { stepsByPosition } from "../src/analysis/positions.js";
import { distribution } from "../src/bench/report.js";
import type { ServerTimeline } from "../src/bench/serverRecords.js";

const MANY = 300_000;

describe("analysis over very many values", () => {
  it("largest and smallest are Math.max and Math.min for any number of values", () => {
    assert.equal(largest([]), -Infinity);
    assert.equal(smallest([]), Infinity);
    assert.equal(largest([3, -1, 7]), 7);
    assert.equal(smallest([3, -1, 7]), -1);
    assert.ok(Number.isNaN(largest([1, NaN, 2])));
    const many = Array.from({ length: MANY }, (_, i) => i);
    assert.equal(largest(many), MANY - 1);
    assert.equal(smallest(many), 0);
  });

  it("a bench report's distribution of 300 000 inter-token gaps (a streamed run of 3000 requests × 100 tokens)", () => {
    const d = distribution(Array.from({ length: MANY }, (_, i) => i % 1000));
    assert.equal(d.n, MANY);
    assert.equal(d.max, 999);
    assert.equal(d.min, 0);
  });

  it("steps by position over a timeline of 300 000 decode steps", () => {
    const steps = Array.from({ length: MANY }, () => ({ requests: [{ id: "r", kind: "decode" }], spans: { decode: 2, sample: 0.5 } }));
    const timeline = { id: "r", steps } as unknown as ServerTimeline;
    const rows = stepsByPosition([timeline]);
    assert.equal(rows[0].from, 2);
    assert.equal(rows.at(-1)!.to, MANY + 1);
    assert.equal(rows.reduce((n, r) => n + r.steps, 0), MANY);
    for (const r of rows) assert.equal(r.meanMs, 2.5);
  });
});
