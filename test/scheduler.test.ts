/**
 * The scheduler alone, on a fake row source: no model is loaded, so these
 * run in milliseconds. It is the only writer of a request's lifecycle
 * (waiting → running → finished, rows, prefill progress, cancellation).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { GREEDY } from "../src/agent/Sampling.js";
import type { Row } from "../src/agent/SequencePool.js";
import { Request } from "../src/master/Request.js";
import { Scheduler, type BatchingPolicy, type RowSource } from "../src/master/Scheduler.js";
import type { BatchRow } from "../src/master/Step.js";
import { RequestTrace } from "../src/timing/RequestTrace.js";

/** Rows 0..n-1, the lowest free one first, as the agent's pool hands them out. */
class FakeRows implements RowSource {
  private readonly free: boolean[];
  released = 0;
  constructor(n: number) {
    this.free = Array(n).fill(true);
  }
  acquire(): Row | undefined {
    const i = this.free.indexOf(true);
    if (i < 0) return undefined;
    this.free[i] = false;
    return { index: i, position: 0 } as unknown as Row;
  }
  release(row: Row): void {
    assert.equal(this.free[row.index], false, `row ${row.index} released twice`);
    this.free[row.index] = true;
    this.released++;
  }
}

let ids = 0;
function request(promptLength: number, maxNewTokens = 4): Request {
  const prompt = Array.from({ length: promptLength }, (_, i) => 100 + i);
  const valid = { prompt, maxNewTokens, sampling: GREEDY, seed: 0, stop: [], ignoreEos: false, eosTokenIds: undefined, logprobs: false, topLogprobs: 0 };
  return new Request(new RequestTrace(), `r${++ids}`, valid, 0, (t) => t.join(","), () => undefined);
}

function scheduler(policy: BatchingPolicy, rows: number, batchTokens = 64, maxBatchSize = rows): { s: Scheduler; source: FakeRows } {
  const source = new FakeRows(rows);
  return { s: new Scheduler({ policy, maxBatchSize, batchTokens }, source), source };
}

/** What the engine would do with the step: feed the prompt chunks, and give every sampling row a token. */
function run(s: Scheduler, batch: readonly BatchRow[]): void {
  for (const row of batch) {
    if (row.kind === "prefill") s.fed(row.request, row.tokens.length);
    if (row.samples) row.request.output.push(7);
  }
}

const shape = (batch: readonly BatchRow[]): string[] => batch.map((b) => `${b.request.id}:${b.kind}:${b.tokens.length}${b.samples ? "*" : ""}`);

describe("scheduler", () => {
  test("continuous: a finished row is taken by the next waiting request at the next step", () => {
    const { s, source } = scheduler("continuous", 2);
    const [a, b, c] = [request(3), request(3), request(3)];
    for (const r of [a, b, c]) s.enqueue(r);
    const first = s.schedule();
    assert.deepEqual(shape(first), [`${a.id}:prefill:3*`, `${b.id}:prefill:3*`]);
    assert.deepEqual([a.phase, b.phase, c.phase], ["running", "running", "waiting"]);
    run(s, first);
    assert.equal(s.finish(a, "length"), true);
    assert.equal(a.row, undefined);
    assert.equal(source.released, 1);
    const second = s.schedule();
    assert.deepEqual(shape(second), [`${b.id}:decode:1*`, `${c.id}:prefill:3*`], "running rows first, then the newcomer");
  });

  test("static: nobody joins a running batch; the next batch is admitted together", () => {
    const { s } = scheduler("static", 2);
    const [a, b, c, d] = [request(2), request(2), request(2), request(2)];
    for (const r of [a, b, c, d]) s.enqueue(r);
    run(s, s.schedule());
    s.finish(a, "length");
    assert.deepEqual(shape(s.schedule()), [`${b.id}:decode:1*`], "c waits although a row is free");
    s.finish(b, "length");
    assert.deepEqual(shape(s.schedule()), [`${c.id}:prefill:2*`, `${d.id}:prefill:2*`]);
  });

  test("chunked prefill: a long prompt is fed over several steps within the token budget, sampling only after its last chunk", () => {
    const { s } = scheduler("continuous", 2, 4);
    const [long, short] = [request(10), request(2)];
    s.enqueue(long);
    s.enqueue(short);
    const steps: string[][] = [];
    for (let i = 0; i < 4; i++) {
      const batch = s.schedule();
      steps.push(shape(batch));
      assert.ok(batch.reduce((n, b) => n + b.tokens.length, 0) <= 4, "one decode's budget");
      run(s, batch);
    }
    assert.deepEqual(steps, [
      [`${long.id}:prefill:4`],
      [`${long.id}:prefill:4`],
      [`${long.id}:prefill:2*`, `${short.id}:prefill:2*`],
      [`${long.id}:decode:1*`, `${short.id}:decode:1*`],
    ]);
    assert.equal(long.prefilled, 10);
  });

  test("cancel: a waiting request is finished at once and never admitted; a running one leaves at its next step", () => {
    const { s, source } = scheduler("continuous", 1);
    const [a, b] = [request(2), request(2)];
    s.enqueue(a);
    s.enqueue(b);
    run(s, s.schedule());
    assert.equal(s.cancel(b), "finished");
    assert.equal(b.phase, "finished");
    assert.equal(b.finishReason, "cancelled");
    assert.equal(s.waiting.length, 0);
    assert.equal(s.cancel(a), "at_next_step");
    assert.equal(a.cancelRequested, true);
    assert.equal(a.phase, "running", "it keeps its row until the step that carries it ends it");
    assert.equal(s.finish(a, "cancelled"), true);
    assert.equal(s.finish(a, "cancelled"), false, "finished once");
    assert.equal(s.cancel(a), "already_finished");
    assert.equal(source.released, 1);
    assert.deepEqual(s.schedule(), []);
  });

  test("stopAll: the queue is handed back to be finished, running requests leave at their next step", () => {
    const { s } = scheduler("continuous", 1);
    const [a, b, c] = [request(2), request(2), request(2)];
    for (const r of [a, b, c]) s.enqueue(r);
    run(s, s.schedule());
    assert.deepEqual(s.stopAll(), [b, c]);
    assert.equal(s.waiting.length, 0);
    assert.equal(a.cancelRequested, true);
  });

  test("a penalty window of 0 holds no tokens (not the whole output)", () => {
    const r = request(3);
    r.output.push(5, 6);
    assert.deepEqual(r.recentTokens(0), []);
    assert.deepEqual(r.recentTokens(3), [102, 5, 6]);
  });
});
