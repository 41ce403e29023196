import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { ClientRecord } from "../src/bench/LoadClient.js";
import { analyzePauses, type PauseAnalysis, type PausesNotMeasured } from "../src/analysis/pauses.js";
import { beatFit, periodicCause, type Periodicity } from "../src/analysis/pausePeriod.js";
import { pausesMarkdown } from "../src/analysis/pauseReport.js";

/** A seeded generator (mulberry32), so that every simulated run is the same run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A streamed record as the load client makes it, one chunk per token arrival. */
function record(index: number, sent: number, tokens: number[], over: Partial<ClientRecord> = {}): ClientRecord {
  const last = tokens.length ? tokens[tokens.length - 1] : sent + 10;
  return {
    id: `req-${index}`,
    index,
    planned: sent,
    sent,
    headers: sent + 1,
    firstByte: tokens[0] ?? last,
    chunks: [...new Set(tokens)],
    tokens,
    end: last + 0.2,
    status: 200,
    outputTokens: tokens.length,
    maxTokens: tokens.length,
    promptChars: 40,
    stream: true,
    protocol: "llm-serving",
    ...over,
  };
}

/** Arrivals from a TTFT and the gaps after it. */
function fromGaps(index: number, sent: number, ttft: number, gaps: readonly number[]): ClientRecord {
  const tokens = [sent + ttft];
  for (const g of gaps) tokens.push(tokens[tokens.length - 1] + g);
  return record(index, sent, tokens);
}

function measured(a: PauseAnalysis | PausesNotMeasured): PauseAnalysis {
  assert.ok(a.measured, `not measured: ${a.measured ? "" : a.reason}`);
  return a;
}

interface Stall {
  at: number;
  dur: number;
}

/** When a token due at `to` (its step began at `from`) arrives, if every stall that began in between held it up. */
function heldUp(from: number, to: number, stalls: readonly Stall[]): number {
  let t = to;
  for (const s of stalls) if (s.at > from && s.at <= t) t += s.dur;
  return t;
}

/**
 * Closed-loop workers streaming back to back from a server that stops every
 * stream during each stall (as a GC stops the process): each worker has its
 * own step time, jittered ±5 % per token.
 */
function simulate(workers: number, untilMs: number, stalls: readonly Stall[], rand: () => number): ClientRecord[] {
  const out: ClientRecord[] = [];
  for (let w = 0; w < workers; w++) {
    const step = 8 + rand() * 6;
    let t = w * 3.7;
    while (t < untilMs) {
      const n = 100 + Math.floor(rand() * 200);
      const tokens: number[] = [];
      let prev = t;
      for (let i = 0; i < n; i++) {
        const due = prev + (i === 0 ? 25 : step * (1 + (rand() * 2 - 1) * 0.05));
        prev = heldUp(prev, due, stalls);
        tokens.push(prev);
      }
      out.push(record(out.length, t, tokens));
      t = prev + 1;
    }
  }
  return out;
}

test("steady streams with no pause: absent, every request with its TTFT and typical gap", () => {
  const rand = rng(1);
  const records = Array.from({ length: 20 }, (_, i) => fromGaps(i, i * 30, 40 + i, Array.from({ length: 199 }, () => 20 * (1 + (rand() * 2 - 1) * 0.02))));
  const a = measured(analyzePauses(records));
  assert.equal(a.kind, "absent");
  assert.equal(a.summary.count, 0);
  assert.equal(a.summary.gaps, 20 * 199);
  assert.equal(a.verdict, "no pause (gap > typical + max(5 × MAD, 2 ms, 50 % of typical)) in 3 980 gaps of 20 requests: absent");
  a.requests.forEach((r, i) => {
    assert.ok(Math.abs(r.ttft - (40 + i)) < 1e-9);
    assert.ok(Math.abs(r.typicalGap - 20) < 0.4);
    assert.equal(r.pauses.length, 0);
    assert.equal(r.pauseMs, 0);
  });
});

test("two small pauses in 10 000 gaps: listed, but too few to matter, absent", () => {
  const records = Array.from({ length: 20 }, (_, i) => fromGaps(i, i * 30, 40, Array.from({ length: 500 }, (_, j) => 20 + ((i === 3 && j === 99) || (i === 11 && j === 299) ? 12 : 0))));
  const a = measured(analyzePauses(records));
  assert.equal(a.kind, "absent");
  assert.deepEqual(
    a.pauses.map((p) => [p.id, p.position]),
    [
      ["req-3", 100],
      ["req-11", 300],
    ],
  );
  assert.equal(a.verdict, "2 pauses of 12 ms in 10 000 gaps (0.020 % of gaps, 0.012 % of decode time): too few to matter, absent");
});

test("stalls every 1000 ms of wall time across concurrent requests, with jitter: periodic in wall time, the period within 1 %", () => {
  const rand = rng(2);
  const stalls = Array.from({ length: 29 }, (_, k) => ({ at: 1000 * (k + 1) + (rand() * 2 - 1) * 20, dur: 10 + rand() * 4 }));
  const a = measured(analyzePauses(simulate(4, 30_000, stalls, rand)));
  assert.equal(a.kind, "periodic");
  assert.equal(a.periodicIn, "wall time");
  assert.ok(a.wall?.periodic);
  assert.ok(Math.abs(a.wall.period - 1000) / 1000 < 0.01, `period ${a.wall.period}`);
  assert.ok(a.wall.cv < 0.05, `cv ${a.wall.cv}`);
  // A process-wide stall holds up every stream decoding through it.
  assert.ok((a.wall.shared ?? 0) > 0.9, `shared ${a.wall.shared}`);
  // Several streams see each stall; merged, they are the stalls again.
  assert.ok(a.summary.count > stalls.length, `${a.summary.count} pauses`);
  assert.equal(a.episodes.length, stalls.length);
  for (const p of a.pauses) assert.ok(p.size > 8 && p.size < 16, `size ${p.size}`);
  assert.match(a.verdict, /every ~1\.00 s of wall time across requests \(CV 0\.0\d; .*\): periodic, GC-shaped$/);
});

test("a pause every 64 tokens in each request: periodic in token position, period 64", () => {
  const rand = rng(3);
  const records = Array.from({ length: 6 }, (_, w) => {
    const step = 10 + 2 * w;
    const gaps = Array.from({ length: 639 }, (_, j) => step * (1 + (rand() * 2 - 1) * 0.05) + ((j + 1) % 64 === 0 ? 14 + rand() * 2 : 0));
    return fromGaps(w, w * 137, 30, gaps);
  });
  const a = measured(analyzePauses(records));
  assert.equal(a.kind, "periodic");
  assert.equal(a.periodicIn, "token position");
  assert.equal(a.position?.period, 64);
  assert.equal(a.position?.cv, 0);
  assert.equal(a.position?.aligned, 1);
  assert.equal(a.summary.count, 6 * 9);
  for (const p of a.pauses) assert.equal(p.position % 64, 0);
  assert.match(a.verdict, /every 64 tokens within requests .*: periodic in token position/);
});

test("stalls every 1000 ms through one steady stream: a token period follows, but the wall time explains it", () => {
  const rand = rng(6);
  const stalls = Array.from({ length: 29 }, (_, k) => ({ at: 1000 * (k + 1) + (rand() * 2 - 1) * 10, dur: 15 }));
  const a = measured(analyzePauses(simulate(1, 30_000, stalls, rand)));
  assert.ok(a.position?.periodic, "a 1 s period through a steady stream is a token period too");
  assert.ok((a.position.aligned ?? 0) < 0.75, `aligned ${a.position.aligned}`);
  assert.equal(a.periodicIn, "wall time");
  assert.ok(Math.abs(a.wall!.period - 1000) / 1000 < 0.01, `period ${a.wall!.period}`);
});

test("a few big pauses at random places: sporadic, each found at its position with its size", () => {
  const rand = rng(4);
  const injected = new Map<string, { request: number; position: number; size: number }>();
  while (injected.size < 3) {
    const p = { request: Math.floor(rand() * 10), position: 1 + Math.floor(rand() * 299), size: 40 + rand() * 500 };
    injected.set(`${p.request}:${p.position}`, p);
  }
  const records = Array.from({ length: 10 }, (_, i) => {
    const gaps = Array.from({ length: 299 }, (_, j) => 12 + ([...injected.values()].find((p) => p.request === i && p.position === j + 1)?.size ?? 0));
    return fromGaps(i, i * 50, 30, gaps);
  });
  const a = measured(analyzePauses(records));
  assert.equal(a.kind, "sporadic");
  assert.equal(a.pauses.length, 3);
  const expected = [...injected.values()].sort((x, y) => x.request - y.request || x.position - y.position);
  const found = [...a.pauses].sort((x, y) => x.id.localeCompare(y.id) || x.position - y.position);
  found.forEach((p, i) => {
    assert.equal(p.id, `req-${expected[i].request}`);
    assert.equal(p.position, expected[i].position);
    assert.ok(Math.abs(p.size - expected[i].size) < 1e-9, `${p.size} vs ${expected[i].size}`);
    const r = records[expected[i].request];
    assert.ok(Math.abs(p.at - r.tokens[p.position]) < 1e-9);
  });
  const total = expected.reduce((s, p) => s + p.size, 0);
  assert.ok(Math.abs(a.summary.totalMs - total) < 1e-9);
  assert.ok(Math.abs(a.summary.decodeShare - total / (10 * 299 * 12 + total)) < 1e-12);
  const paused = a.requests.find((r) => r.id === `req-${expected[0].request}`)!;
  assert.ok(paused.pauses.length >= 1 && paused.pauseMs >= expected[0].size - 1e-9);
  assert.match(a.verdict, /^3 pauses of \d+–\d+ ms at no regular interval \(.* % of decode time\): sporadic$/);
});

test("noisy gaps (±20 % jitter) are no pauses", () => {
  const rand = rng(5);
  const records = Array.from({ length: 20 }, (_, i) => {
    const step = 5 + rand() * 45;
    return fromGaps(i, i * 10, 50, Array.from({ length: 499 }, () => step * (1 + (rand() * 2 - 1) * 0.2)));
  });
  const a = measured(analyzePauses(records));
  assert.equal(a.summary.count, 0);
  assert.equal(a.kind, "absent");
});

test("tokens that share a chunk share an arrival: their zero gaps are no timing, and the chunk gaps no pause", () => {
  const tokens = Array.from({ length: 200 }, (_, i) => 100 + 40 * Math.floor(i / 4));
  const a = measured(analyzePauses([record(0, 50, tokens)]));
  assert.equal(a.summary.count, 0);
  assert.equal(a.requests[0].gaps, 49);
  assert.equal(a.requests[0].typicalGap, 40);
  // A late chunk is found at its first token.
  const late = tokens.map((t, i) => (i >= 120 ? t + 30 : t));
  const b = measured(analyzePauses([record(0, 50, late)]));
  assert.deepEqual(
    b.pauses.map((p) => [p.position, p.size]),
    [[120, 30]],
  );
});

test("whole responses are not measured, not zeros; errors and short streams are left out and counted", () => {
  const whole = Array.from({ length: 5 }, (_, i) => record(i, i * 100, [], { stream: false, chunks: [i * 100 + 90], end: i * 100 + 90, outputTokens: 30 }));
  const none = analyzePauses(whole);
  assert.deepEqual(none, { measured: false, reason: "not streamed", leftOut: { notStreamed: 5, errors: 0, fewTokens: 0, fewArrivals: 0 } });
  assert.equal(pausesMarkdown(none), "Pauses: not measured: not streamed.");
  assert.deepEqual(analyzePauses([]), { measured: false, reason: "no records", leftOut: { notStreamed: 0, errors: 0, fewTokens: 0, fewArrivals: 0 } });

  const broken = [
    fromGaps(10, 0, 20, [10, 10, 10]),
    { ...fromGaps(11, 0, 20, [10, 10, 10]), error: "socket hang up" },
    { ...fromGaps(12, 0, 20, [10, 10, 10]), status: 503 },
    fromGaps(13, 0, 20, [10]),
    record(14, 0, [20, 20, 20, 35, 35]),
  ];
  const onlyBroken = analyzePauses(broken.slice(1));
  assert.equal(onlyBroken.measured, false);
  assert.equal(!onlyBroken.measured && onlyBroken.reason, "no usable streamed request");
  const a = measured(analyzePauses([...whole, ...broken]));
  assert.deepEqual(a.leftOut, { notStreamed: 5, errors: 2, fewTokens: 1, fewArrivals: 1 });
  assert.deepEqual(
    a.requests.map((r) => r.id),
    ["req-10"],
  );
  assert.match(pausesMarkdown(a), /5 not streamed, 2 errors, 1 under 3 tokens, 1 under 3 arrivals/);
  assert.match(pausesMarkdown(a), /client's clock/);
});

test("the beat rule: a missed beat keeps a series periodic; pauses between beats make it not", () => {
  const missed = beatFit([1000, 1010, 1990, 1000, 1005, 995], "ms")!;
  assert.ok(missed.periodic);
  assert.equal(missed.beats, 7);
  assert.ok(Math.abs(missed.period - 1000) < 1e-9);
  const extra = beatFit([1000, 300, 700, 1000, 400, 600, 1000], "ms")!;
  assert.equal(extra.periodic, false);
  assert.equal(beatFit([1000, 1000, 1000], "ms"), undefined);
});

test("both periodic: token position when the pauses sit at one phase or hold up one stream at a time, else wall time", () => {
  const base: Periodicity = { unit: "ms", period: 1000, cv: 0.02, intervals: 20, onBeat: 20, onBeatShare: 1, beats: 20, periodic: true };
  const wall = (shared: number): Periodicity => ({ ...base, shared });
  const position = (aligned: number | undefined): Periodicity => ({ ...base, unit: "tokens", period: 64, aligned });
  assert.equal(periodicCause(wall(1), position(0.1)), "wall time");
  assert.equal(periodicCause(wall(1), position(undefined)), "wall time");
  assert.equal(periodicCause(wall(1), position(1)), "token position");
  assert.equal(periodicCause(wall(0.2), position(0.1)), "token position");
  assert.equal(periodicCause({ ...wall(1), periodic: false }, position(0.1)), "token position");
  assert.equal(periodicCause(wall(1), { ...position(1), periodic: false }), "wall time");
  assert.equal(periodicCause(undefined, undefined), undefined);
});

test("property: a pause of size S at position p of a steady stream is found at p, its size within 1 % of S", () => {
  fc.assert(
    fc.property(fc.double({ min: 1, max: 60, noNaN: true }), fc.integer({ min: 10, max: 400 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 1.01, max: 100, noNaN: true }), (step, n, where, above) => {
      const p = 1 + Math.floor(where * (n - 2));
      const floor = Math.max(2, 0.5 * step);
      const size = floor * above;
      const gaps = Array.from({ length: n - 1 }, (_, j) => step + (j + 1 === p ? size : 0));
      const a = measured(analyzePauses([fromGaps(0, 0, 30, gaps)]));
      assert.equal(a.pauses.length, 1);
      assert.equal(a.pauses[0].position, p);
      assert.ok(Math.abs(a.pauses[0].size - size) <= 0.01 * size, `${a.pauses[0].size} vs ${size}`);
    }),
    { seed: 20240611, numRuns: 300 },
  );
});

test("property: on a stream jittered ±1 %, a pause of at least two steps is found at its position, its size within 1 %", () => {
  fc.assert(
    fc.property(
      fc.double({ min: 1, max: 60, noNaN: true }),
      fc.integer({ min: 10, max: 400 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 2, max: 50, noNaN: true }),
      fc.integer({ min: 1, max: 1_000_000 }),
      (step, n, where, steps, seed) => {
        const rand = rng(seed);
        const p = 1 + Math.floor(where * (n - 2));
        const size = Math.max(steps * step, 2.5);
        const gaps = Array.from({ length: n - 1 }, (_, j) => step * (1 + (rand() * 2 - 1) * 0.01) + (j + 1 === p ? size : 0));
        const a = measured(analyzePauses([fromGaps(0, 0, 30, gaps)]));
        assert.equal(a.pauses.length, 1);
        assert.equal(a.pauses[0].position, p);
        assert.ok(Math.abs(a.pauses[0].size - size) <= 0.01 * size, `${a.pauses[0].size} vs ${size}`);
      },
    ),
    { seed: 7, numRuns: 300 },
  );
});

test("pauses whose intervals fall on no common beat: no period, no phase, and no error", async () => {
  const { positionPeriodicity } = await import("../src/analysis/pausePeriod.js");
  const request = (id: string, positions: number[]) => ({ id, pauses: positions.map((position) => ({ position })) }) as unknown as Parameters<typeof positionPeriodicity>[0][number];
  // Intervals 3, 3, 10, 10 around a median of 6.5: none is on its beat, so there is no period (it used to throw).
  const p = positionPeriodicity([request("a", [1, 4, 7]), request("b", [2, 12, 22])]);
  assert.ok(p === undefined || (p.periodic === false && p.phase === undefined), JSON.stringify(p));
});
