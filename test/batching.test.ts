import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { RowOutput } from "../src/agent/Agent.js";
import { collect, type GenerationStream } from "../src/master/GenerationStream.js";
import { Master } from "../src/master/Master.js";
import type { Step } from "../src/master/Step.js";
import { ids, nextToken, run, sharedTinyAgent, stepsWith, withMaster } from "./helpers/masterHarness.js";
import { loadTinyAgent } from "./helpers/tinyModel.js";
import { waitFor } from "./helpers/serverHarness.js";

const shared = sharedTinyAgent();
const agent = () => shared.get();

describe("batching", () => {
  test("k active rows → exactly one llama_decode per step; prompts share steps with decodes", async () => {
    await withMaster(agent(), {}, async (m, steps) => {
      const first = await m.submit({ prompt: "early bird", maxNewTokens: 30 });
      const it = first[Symbol.asyncIterator]();
      for (let i = 0; i < 3; i++) await nextToken(it);
      const others: GenerationStream[] = await Promise.all([
        m.submit({ prompt: "second prompt joins", maxNewTokens: 20 }),
        m.submit({ prompt: "third prompt with more words in it", maxNewTokens: 10 }),
        m.submit({ prompt: [1, 400, 401, 402], maxNewTokens: 15 }),
      ]);
      for (let r = await it.next(); !r.done; r = await it.next());
      await Promise.all(others.map((s) => s.completion));
      assert.ok(steps.length > 0);
      for (const s of steps) assert.equal(s.decodes, 1, `step ${s.id} with ${s.rows.length} rows made ${s.decodes} decodes`);
      assert.ok(steps.some((s) => s.rows.length === 4), "a step carried all four rows");
      assert.ok(steps.some((s) => s.rows.some((r) => r.kind === "prefill") && s.rows.some((r) => r.kind === "decode")), "a prompt shared a step with running decodes");
      for (const s of steps) {
        const t = s.marks.t;
        for (let i = 1; i < t.length; i++) assert.ok(t[i] >= t[i - 1], `step ${s.id}: time points in order`);
      }
    });
  });

  test("long prompts are prefilled in chunks, still one decode per step", async () => {
    const small = await loadTinyAgent({ rows: 2, contextSize: 512, batchTokens: 16 });
    const master = new Master(small);
    const steps: Step[] = [];
    master.onStep((s) => steps.push(s));
    try {
      const prompt = "a long prompt that needs several chunks to prefill ".repeat(4);
      const c = await collect(await master.submit({ prompt, maxNewTokens: 5 }));
      assert.equal(c.finishReason, "length");
      assert.ok(c.promptTokens > 32);
      const prefillSteps = steps.filter((s) => s.rows.some((r) => r.kind === "prefill"));
      assert.equal(prefillSteps.length, Math.ceil(c.promptTokens / 16));
      for (const s of steps) {
        assert.equal(s.decodes, 1);
        assert.ok(s.tokenCount <= 16);
      }
      const solo = await withMaster(agent(), {}, (m) => run(m, { prompt, maxNewTokens: 5 }));
      assert.deepEqual(ids(c), ids(solo), "chunked prefill gives the same tokens");
    } finally {
      await master.close();
      await small.dispose();
    }
  });

  test("continuous: rows leave when done and new ones join mid-flight", async () => {
    await withMaster(agent(), { maxBatchSize: 2 }, async (m, steps) => {
      // Submitted in one tick: all three are queued before the first step.
      const [a, b, c] = await Promise.all([
        m.submit({ prompt: "short", maxNewTokens: 4 }),
        m.submit({ prompt: "long", maxNewTokens: 16 }),
        m.submit({ prompt: "joins", maxNewTokens: 4 }),
      ]);
      await Promise.all([a.completion, b.completion, c.completion]);
      const { firstWith, lastWith } = stepsWith(steps);
      assert.equal(lastWith(a.id), 3, "a leaves after its 4 tokens");
      assert.equal(firstWith(c.id), 4, "c joins at the very next step");
      assert.ok(lastWith(b.id) > firstWith(c.id), "while b is still running");
      assert.ok(steps.every((s) => s.rows.length <= 2));
    });
  });

  test("static: a batch runs until all its rows finish before others join", async () => {
    await withMaster(agent(), { maxBatchSize: 2, batching: "static" }, async (m, steps) => {
      // Submitted in one tick: all three are queued before the first step.
      const [a, b, c] = await Promise.all([
        m.submit({ prompt: "short", maxNewTokens: 4 }),
        m.submit({ prompt: "long", maxNewTokens: 16 }),
        m.submit({ prompt: "waits", maxNewTokens: 4 }),
      ]);
      await Promise.all([a.completion, b.completion, c.completion]);
      const { firstWith, lastWith } = stepsWith(steps);
      assert.equal(lastWith(a.id), 3);
      assert.equal(lastWith(b.id), 15);
      assert.equal(firstWith(c.id), 16, "c starts only after the whole batch is done");
      assert.ok(steps.slice(4, 16).every((s) => s.rows.length === 1), "a's row stays empty");
    });
  });

  test("KV use is reported in blocks and freed when requests finish", async () => {
    await withMaster(agent(), { blockSize: 16 }, async (m) => {
      const s = await m.submit({ prompt: [1, 300, 301, 302, 303], maxNewTokens: 40 });
      const it = s[Symbol.asyncIterator]();
      for (let i = 0; i < 20; i++) await nextToken(it);
      const kv = m.stats.kv;
      assert.equal(kv.blockSize, 16);
      assert.equal(kv.totalBlocks, 4 * (agent().rowCapacity / 16));
      assert.equal(kv.reservedBlocks, Math.ceil(45 / 16));
      assert.ok(kv.usedBlocks >= 2 && kv.usedBlocks <= kv.reservedBlocks);
      assert.equal(kv.paged, false);
      s.cancel();
      await s.completion;
      assert.equal(m.stats.kv.usedBlocks, 0);
    });
  });

  test("end tokens of the server's own that the model does not have are refused, named as the config file names them", () => {
    // Found by a new user: end_token 999999 was refused as "eos_token_id", a key the user never wrote.
    const vocab = agent().info.vocabSize;
    assert.throws(() => new Master(agent(), { eosTokenIds: [2, vocab] }), { message: `end_token: token ids must be integers in [0, ${vocab}), got ${vocab}` });
  });

  test("the batch size is the rows of the step in flight, and 0 once the loop is idle", async () => {
    await withMaster(agent(), {}, async (m) => {
      const streams = await Promise.all([m.submit({ prompt: "one", maxNewTokens: 30, ignoreEos: true }), m.submit({ prompt: "two", maxNewTokens: 30, ignoreEos: true })]);
      const it = streams[0][Symbol.asyncIterator]();
      for (let i = 0; i < 5; i++) await nextToken(it);
      assert.equal(m.stats.batchSize, 2);
      await Promise.all(streams.map((s) => s.completion));
      // Not the last step's size while nothing runs.
      await waitFor(() => m.stats.running === 0 && m.stats.batchSize === 0, "the batch size to fall to 0 once the loop is idle", 2000);
    });
  });
});

describe("failures", () => {
  /** Replaces the agent's runStep for the duration of `fn`. */
  async function withFaultyAgent(fault: (outputs: RowOutput[], stepIndex: number) => RowOutput[], fn: () => Promise<void>): Promise<void> {
    const a = agent();
    const original = a.runStep;
    let stepIndex = 0;
    a.runStep = async (inputs) => {
      const result = await original.call(a, inputs);
      return { ...result, outputs: fault(result.outputs, stepIndex++) };
    };
    try {
      await fn();
    } finally {
      a.runStep = original;
    }
  }

  test("an engine error in one row ends that request; the others go on", async () => {
    await withMaster(agent(), {}, async (m) => {
      const expected = await Promise.all([run(m, { prompt: "one", maxNewTokens: 12 }), run(m, { prompt: "three", maxNewTokens: 12 })]);
      await withFaultyAgent(
        (outputs, i) => (i === 4 ? outputs.map((o, row) => (row === 1 ? { kind: "error", error: new Error("injected") } : o)) : outputs),
        async () => {
          const [a, b, c] = await Promise.all([
            run(m, { prompt: "one", maxNewTokens: 12 }),
            run(m, { prompt: "two", maxNewTokens: 12 }),
            run(m, { prompt: "three", maxNewTokens: 12 }),
          ]);
          assert.equal(b.finishReason, "error");
          assert.match(b.error!.message, /injected/);
          assert.equal(b.generatedTokens, 4);
          assert.deepEqual([a.finishReason, c.finishReason], ["length", "length"]);
          assert.deepEqual([ids(a), ids(c)], expected.map(ids));
        },
      );
      assert.equal((await run(m, { prompt: "after", maxNewTokens: 3 })).finishReason, "length");
    });
  });

  test("a failing step fails its requests and the loop goes on", async () => {
    await withMaster(agent(), {}, async (m) => {
      await withFaultyAgent(
        (outputs, i) => {
          if (i === 2) throw new Error("step blew up");
          return outputs;
        },
        async () => {
          const c = await run(m, { prompt: "unlucky", maxNewTokens: 8 });
          assert.equal(c.finishReason, "error");
          assert.match(c.error!.message, /step blew up/);
          assert.equal((await run(m, { prompt: "lucky", maxNewTokens: 8 })).finishReason, "length");
        },
      );
    });
  });

  test("a step listener that throws does not stop the engine", async () => {
    await withMaster(agent(), {}, async (m) => {
      m.onStep(() => {
        throw new Error("observer bug");
      });
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.message);
      process.on("warning", onWarning);
      try {
        const c = await run(m, { prompt: "still fine", maxNewTokens: 5 });
        assert.equal(c.finishReason, "length");
        await new Promise((r) => setImmediate(r));
        assert.ok(warnings.some((w) => /observer bug/.test(w)));
      } finally {
        process.off("warning", onWarning);
      }
    });
  });

  test("when the loop cannot go on, every caller gets an error, and so does every later submit", async () => {
    await withMaster(agent(), { maxBatchSize: 1 }, async (m) => {
      await withFaultyAgent(
        () => {
          throw new Error("engine gone");
        },
        async () => {
          const results = await Promise.all([0, 1, 2, 3, 4].map(() => run(m, { prompt: "x", maxNewTokens: 4 })));
          for (const r of results) {
            assert.equal(r.finishReason, "error");
            assert.ok(r.error instanceof Error);
          }
          assert.equal(m.state, "failed");
          await assert.rejects(m.submit({ prompt: "x", maxNewTokens: 1 }), /engine loop has stopped/);
        },
      );
    });
  });
});
