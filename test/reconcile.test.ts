import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { reconcile, type Sample } from "../src/analysis/reconcile.js";
import { Prng } from "../src/model/Prng.js";

/** e2e = a + b·n with ±noise ms of jitter, `repeats` per length, and `event` ms added at one length. */
function samples(a: number, b: number, lengths: number[], o: { repeats?: number; noise?: number; event?: { n: number; ms: number }; seed?: number } = {}): Sample[] {
  const prng = new Prng(o.seed ?? 1, 7);
  const out: Sample[] = [];
  for (const n of lengths) {
    for (let r = 0; r < (o.repeats ?? 1); r++) {
      const jitter = ((prng.nextUint32() / 2 ** 32) * 2 - 1) * (o.noise ?? 0);
      out.push({ n, e2e: a + b * n + jitter + (o.event?.n === n ? o.event.ms : 0) });
    }
  }
  return out;
}

const LENGTHS = [1, 5, 10, 30, 60, 65, 120, 240, 360, 480];

describe("reconciliation", () => {
  test("recovers the fixed cost, the per-token excess and an injected event within 1 %", () => {
    const r = reconcile(samples(30, 42, LENGTHS, { noise: 5, event: { n: 120, ms: 540 } }), { ms: 40, source: "chosen", traced: true });
    assert.ok(Math.abs(r.fit!.a - 30) < 0.3 + 5, `a ${r.fit!.a}`);
    assert.ok(Math.abs(r.fit!.b - 42) / 42 < 0.01, `b ${r.fit!.b}`);
    assert.ok(Math.abs(r.perTokenExcess! - 2) < 0.05, `b − t ${r.perTokenExcess}`);
    assert.deepEqual(r.events.map((e) => e.n), [120]);
    assert.ok(Math.abs(r.events[0].residual!.ms - 540) / 540 < 0.01, `event ${r.events[0].residual!.ms}`);
    for (const row of r.rows) {
      const sum = row.fixed!.ms + row.perToken!.ms + row.residual!.ms;
      assert.ok(Math.abs(sum - row.extra!.ms) < 1e-6, "the parts add up to the extra");
    }
    assert.match(r.verdicts.join("\n"), /\+(1\.9\d|2\.0\d) ms per token \(5\.0 % of t\) outside the traced step/);
    assert.match(r.verdicts.join("\n"), /at n = 120 the measurement lies \+5\d\d ms from the line/);
    assert.match(r.verdicts.join("\n"), /pause-shaped is not measured: the records were not streamed/);
  });

  test("a line that fits the measurements loosely says its split is rough; one that fits well does not", () => {
    const tight = reconcile(samples(30, 42, LENGTHS, { noise: 1 }), { ms: 40, source: "chosen" });
    assert.doesNotMatch(tight.verdicts.join("\n"), /rough/);
    // Continuous batching: each request's e2e depends on what ran beside it.
    const scattered = LENGTHS.flatMap((n, i) => [0, 1, 2].map((k) => ({ n, e2e: 30 + 42 * n + (((i * 7 + k * 13) % 5) - 2) * 15 * Math.max(...LENGTHS) })));
    const loose = reconcile(scattered, { ms: 40, source: "chosen" });
    assert.ok(loose.fit!.r2 < 0.5, `R² ${loose.fit!.r2}`);
    assert.match(loose.verdicts.join("\n"), /the line fits the measurements loosely \(R² = 0\.\d\d\): read this split as rough/);
  });

  test("the first token is its own line: one-token requests, or the TTFT when known; never an event", () => {
    const data = samples(30, 42, LENGTHS, { repeats: 3, noise: 1 });
    data.filter((s) => s.n === 1).forEach((s) => (s.e2e += 200)); // a slow prefill
    const r = reconcile(data, { ms: 40, source: "chosen" });
    assert.ok(r.events.every((e) => e.n !== 1));
    assert.ok(Math.abs(r.firstToken!.excessMs! - (30 + 42 + 200 - 40)) < 2, `first-token excess ${r.firstToken!.excessMs}`);
    const streamed = reconcile(data, { ms: 40, source: "chosen" }, 5, { ms: 95, source: "median TTFT" });
    assert.equal(streamed.firstToken!.excessMs, 55);
    assert.match(streamed.verdicts[0], /First token: 95\.0 ms \(median TTFT\) against one step of 40\.0 ms: 55\.0 ms beyond one step/);
  });

  test("directions are said as the numbers go: a per-token cost below t is not called an excess outside the step", () => {
    const r = reconcile(samples(10, 38, LENGTHS), { ms: 40, source: "chosen", traced: true });
    assert.ok(r.perTokenExcess! < 0);
    assert.match(r.verdicts.join("\n"), /−2\.00 ms per token \(5\.0 % of t\) less than the traced step/);
    // A t that is no trace's (the engine's own time per token, a backend's) is not called a traced step.
    const engine = reconcile(samples(10, 38, LENGTHS), { ms: 40, source: "the engine's own time per token" });
    assert.match(engine.verdicts.join("\n"), /−2\.00 ms per token \(5\.0 % of t\) less than t \(/);
    assert.doesNotMatch(engine.verdicts.join("\n"), /traced/);
    const pauses = reconcile(samples(10, 42, LENGTHS), { ms: 40, source: "chosen" }, 5, undefined, { kind: "periodic", perTokenMs: 1.5, verdict: "every ~1 s" });
    assert.match(pauses.verdicts.join("\n"), /Pauses in the streamed gaps come to 1\.50 ms per token — 75 % of the excess/);
  });

  test("what cannot be computed is said, never a number", () => {
    const noT = reconcile(samples(10, 40, LENGTHS), undefined);
    assert.equal(noT.rows[0].nTimesT, null);
    assert.equal(noT.rows[0].extra, null);
    assert.match(noT.verdicts.join("\n"), /No time per token is known/);
    const oneLength = reconcile(samples(10, 40, [64, 64, 64]), { ms: 40, source: "chosen" });
    assert.equal(oneLength.fit, undefined);
    assert.equal(oneLength.rows[0].fixed, null);
    assert.match(oneLength.verdicts.join("\n"), /same output length: no line can be fitted/);
  });
});
