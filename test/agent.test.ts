import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Agent, RowInput } from "../src/agent/Agent.js";
import { GREEDY, samplerConfig } from "../src/agent/Sampling.js";
import type { Row } from "../src/agent/SequencePool.js";
import { loadTinyAgent } from "./helpers/tinyModel.js";

let agent: Agent;
let rows: Row[];

before(async () => {
  agent = await loadTinyAgent({ rows: 4, contextSize: 256 });
  rows = [];
  for (let r = agent.pool.acquire(); r; r = agent.pool.acquire()) rows.push(r);
});
after(async () => {
  await agent.dispose();
});

const greedy = { params: GREEDY, seed: 0 };

/** Clears every row (release, then take them back: the pool hands out the lowest index first, so the same rows return). */
async function clearRows(): Promise<void> {
  for (const row of rows) agent.pool.release(row);
  await agent.pool.whenSettled();
  const back = rows.map(() => agent.pool.acquire());
  assert.deepEqual(back, rows);
  assert.ok(rows.every((r) => r.position === 0));
}

async function step(inputs: RowInput[]): Promise<number[]> {
  const { outputs } = await agent.runStep(inputs);
  await clearRows();
  return outputs.map((o) => (o.kind === "token" ? o.token : -1));
}

const prompt = (first: number, length: number) => Array.from({ length }, (_, i) => first + i);

describe("agent", () => {
  test("one step is exactly one llama_decode, with its time points", async () => {
    const before = agent.decodeCount;
    const { outputs, times } = await agent.runStep(rows.map((row, i) => ({ row, tokens: prompt(300 + 10 * i, 3 + i), sample: greedy })));
    await clearRows();
    assert.equal(agent.decodeCount - before, 1);
    assert.ok(outputs.every((o) => o.kind === "token"));
    assert.ok(times.inputsSubmitted <= times.decodeStart);
    assert.ok(times.decodeStart < times.decodeEnd);
    assert.ok(times.decodeEnd <= times.sampled);
  });

  test("a prompt chunk without sampling only feeds the row", async () => {
    const { outputs } = await agent.runStep([{ row: rows[0], tokens: prompt(300, 5) }]);
    assert.deepEqual(outputs, [{ kind: "fed" }]);
    assert.equal(rows[0].position, 5);
    await clearRows();
  });

  // Regression test for the output-reordering race that Agent.sample closes by sampling such a step's first row alone: without that
  // it fails in about 98 % of runs (a swap in roughly 1 step of 100, measured).
  test("rows of different lengths never sample each other's logits", async () => {
    const a = prompt(300, 11);
    const b = prompt(500, 4);
    const expected = [(await step([{ row: rows[0], tokens: a, sample: greedy }]))[0], (await step([{ row: rows[1], tokens: b, sample: greedy }]))[0]];
    for (let i = 0; i < 300; i++) {
      const got = await step([
        { row: rows[0], tokens: a, sample: greedy },
        { row: rows[1], tokens: b, sample: greedy },
      ]);
      assert.deepEqual(got, expected, `iteration ${i}`);
    }
  });

  test("rows given in any order get their own tokens back", async () => {
    const tokens = [[300], [350], [400]];
    const expected: number[] = [];
    for (let k = 0; k < 3; k++) expected.push((await step([{ row: rows[k], tokens: tokens[k], sample: greedy }]))[0]);
    const orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
    for (let i = 0; i < 300; i++) {
      const order = orders[i % orders.length];
      const got = await step(order.map((k) => ({ row: rows[k], tokens: tokens[k], sample: greedy })));
      assert.deepEqual(got, order.map((k) => expected[k]), `iteration ${i}, order ${order}`);
    }
  });
});

describe("agent edges", () => {
  test("a seed is taken as llama.cpp takes it (a uint32), so a reused row's generator is renewed for 2^32 + 7 as for 7", () => {
    assert.equal(samplerConfig(GREEDY, 2 ** 32 + 7, undefined).seed, 7);
    assert.equal(samplerConfig(GREEDY, 7.9, undefined).seed, 7);
    assert.equal(samplerConfig(GREEDY, -3, undefined).seed, 0);
  });

  // A step that started after dispose() had begun decoded while the context was torn down: the process aborted (exit 134).
  test("dispose waits for the step in flight, and no step starts after it", async () => {
    const own = await loadTinyAgent({ rows: 2, contextSize: 256 });
    const row = own.pool.acquire()!;
    const inFlight = own.runStep([{ row, tokens: prompt(300, 40), sample: greedy }]);
    const disposed = own.dispose();
    await assert.rejects(own.runStep([{ row, tokens: [300], sample: greedy }]), /disposed/);
    assert.equal((await inFlight).outputs[0].kind, "token");
    await disposed;
    await own.dispose(); // again: nothing left to do
    await assert.rejects(own.runStep([{ row, tokens: [300], sample: greedy }]), /disposed/);
  });
});
