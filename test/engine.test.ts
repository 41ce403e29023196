import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Agent, RowOutput } from "../src/agent/Agent.js";
import { RequestError } from "../src/master/errors.js";
import type { GenerationRequest } from "../src/master/GenerationRequest.js";
import { collect, type GenerationStream } from "../src/master/GenerationStream.js";
import { Master, type MasterOptions } from "../src/master/Master.js";
import type { Step } from "../src/master/Step.js";
import { loadTinyAgent } from "./helpers/tinyModel.js";

let agent: Agent;

before(async () => {
  agent = await loadTinyAgent({ rows: 4, contextSize: 256 });
});
after(async () => {
  await agent.dispose();
});

/** A master on the shared agent, closed after `fn`; its steps are recorded. */
async function withMaster<T>(options: MasterOptions, fn: (m: Master, steps: Step[]) => Promise<T>): Promise<T> {
  const master = new Master(agent, options);
  const steps: Step[] = [];
  master.onStep((s) => steps.push(s));
  try {
    return await fn(master, steps);
  } finally {
    await master.close();
    await agent.pool.whenSettled();
  }
}

function run(m: Master, r: GenerationRequest) {
  return collect(m.submit(r));
}

const ids = (c: { tokens: Array<{ id: number }> }) => c.tokens.map((t) => t.id);

async function nextToken(it: AsyncIterator<unknown>): Promise<void> {
  const { value } = await it.next();
  assert.equal((value as { type: string }).type, "token");
}

describe("determinism", () => {
  test("greedy: the same prompt gives the same tokens, alone and inside a batch", async () => {
    await withMaster({}, async (m) => {
      const alone = await run(m, { prompt: "the model serves", maxNewTokens: 24 });
      const again = await run(m, { prompt: "the model serves", maxNewTokens: 24 });
      const batch = await Promise.all([
        run(m, { prompt: "something else entirely", maxNewTokens: 30, sampling: { temperature: 1 }, seed: 5 }),
        run(m, { prompt: "the model serves", maxNewTokens: 24 }),
        run(m, { prompt: "a third one", maxNewTokens: 10 }),
      ]);
      assert.equal(alone.finishReason, "length");
      assert.equal(alone.generatedTokens, 24);
      assert.deepEqual(ids(again), ids(alone));
      assert.deepEqual(ids(batch[1]), ids(alone));
      assert.equal(batch[1].text, alone.text);
    });
  });

  test("seeded sampling: same seed, same tokens (also in a batch); another seed differs", async () => {
    await withMaster({}, async (m) => {
      const req = { prompt: "sampling with a seed", maxNewTokens: 32, sampling: { temperature: 1.2, topK: 0, topP: 0.95 }, seed: 42 };
      const a = await run(m, req);
      const [b] = await Promise.all([run(m, req), run(m, { prompt: "noise", maxNewTokens: 40, sampling: { temperature: 2 }, seed: 9 })]);
      const c = await run(m, { ...req, seed: 43 });
      assert.equal(a.seed, 42);
      assert.deepEqual(ids(b), ids(a));
      assert.notDeepEqual(ids(c), ids(a));
    });
  });

  test("recycled samplers start from the requested seed", async () => {
    await withMaster({ maxBatchSize: 1 }, async (m) => {
      const b = { prompt: "second", maxNewTokens: 6, sampling: { temperature: 1.5 }, seed: 104 };
      const alone = await run(m, b);
      // a's last token is sampled with seed 100 + 4: b's first sampler is a recycled one that last saw seed 104.
      await run(m, { prompt: "first", maxNewTokens: 5, sampling: { temperature: 1.5 }, seed: 100 });
      const after = await run(m, b);
      assert.deepEqual(ids(after), ids(alone));
    });
  });

  test("sampling parameters are honoured per row inside one batch", async () => {
    await withMaster({}, async (m) => {
      const greedySolo = await run(m, { prompt: "rows differ", maxNewTokens: 20 });
      const hot = { prompt: "rows differ", maxNewTokens: 20, sampling: { temperature: 3, topK: 0 }, seed: 1 };
      const hotSolo = await run(m, hot);
      const [greedy, hotInBatch, penalized] = await Promise.all([
        run(m, { prompt: "rows differ", maxNewTokens: 20, logprobs: true }),
        run(m, hot),
        run(m, { prompt: "rows differ", maxNewTokens: 20, sampling: { repetitionPenalty: 5, penaltyLastN: 64 } }),
      ]);
      assert.deepEqual(ids(greedy), ids(greedySolo), "the greedy row is not affected by its hot neighbour");
      assert.deepEqual(ids(hotInBatch), ids(hotSolo), "the hot row keeps its own temperature");
      assert.notDeepEqual(ids(hotSolo), ids(greedySolo));
      const distinct = (c: { tokens: Array<{ id: number }> }) => new Set(ids(c)).size;
      assert.ok(distinct(penalized) >= distinct(greedySolo), "the repetition penalty does not increase repeats");
      for (const t of greedy.tokens) assert.ok(t.logprob <= 0 && Number.isFinite(t.logprob), "logprobs are log-probabilities");
      for (const t of hotInBatch.tokens) assert.ok(Number.isNaN(t.logprob), "and only computed when asked for");
    });
  });
});

describe("finish reasons", () => {
  test("length: exactly max_new_tokens, and the last token's text is not dropped", async () => {
    await withMaster({}, async (m) => {
      for (const n of [1, 2, 7]) {
        const c = await run(m, { prompt: "count", maxNewTokens: n });
        assert.equal(c.finishReason, "length");
        assert.equal(c.generatedTokens, n);
        assert.equal(c.tokens.length, n);
        const all = agent.detokenize(ids(c), agent.tokenize("count").slice(-4));
        assert.equal(c.text, all);
        assert.equal(c.tokens.map((t) => t.text).join(""), c.text);
      }
    });
  });

  test("eos: generation ends at the end token (overridable), which adds no text", async () => {
    await withMaster({}, async (m) => {
      const free = await run(m, { prompt: "ending", maxNewTokens: 12 });
      const out = ids(free);
      const k = out.findIndex((t, i) => i >= 2 && !out.slice(0, i).includes(t));
      assert.ok(k > 0, "a fresh token to use as the end token");
      const ended = await run(m, { prompt: "ending", maxNewTokens: 12, eosTokenIds: [out[k]] });
      assert.equal(ended.finishReason, "eos");
      assert.equal(ended.generatedTokens, k + 1);
      assert.equal(ended.text, free.tokens.slice(0, k).map((t) => t.text).join(""));
      const ignored = await run(m, { prompt: "ending", maxNewTokens: 12, eosTokenIds: [out[k]], ignoreEos: true });
      assert.equal(ignored.finishReason, "length");
      assert.deepEqual(ids(ignored), out);
    });
  });

  test("stop strings: nothing past the stop string is emitted, also when it spans tokens", async () => {
    await withMaster({}, async (m) => {
      const free = await run(m, { prompt: "stop here", maxNewTokens: 40 });
      const texts = free.tokens.map((t) => t.text);
      const k = texts.findIndex((t, i) => i > 0 && t.length >= 2 && texts[i + 1]?.length >= 2);
      assert.ok(k > 0, "two neighbouring tokens with text");
      const stop = texts[k].slice(-2) + texts[k + 1].slice(0, 2);
      const expected = free.text.slice(0, free.text.indexOf(stop));
      const s = m.submit({ prompt: "stop here", maxNewTokens: 40, stop: ["never-appears-xyz", stop] });
      let streamed = "";
      for await (const e of s) {
        if (e.type === "token") {
          streamed += e.text;
          assert.ok(expected.startsWith(streamed), "no text past the stop string, ever");
        } else {
          assert.equal(e.finishReason, "stop");
          assert.equal(e.stopString, stop);
          assert.equal(e.text, expected);
        }
      }
      assert.equal(streamed, expected);
    });
  });

  test("cancellation: the row leaves at the next step and its sequence returns to the pool", async () => {
    await withMaster({}, async (m, steps) => {
      const s = m.submit({ prompt: "cancel me", maxNewTokens: 200 });
      const it = s[Symbol.asyncIterator]();
      for (let i = 0; i < 3; i++) await nextToken(it);
      s.cancel();
      let last;
      for (let r = await it.next(); !r.done; r = await it.next()) last = r.value;
      assert.equal(last?.type, "finish");
      assert.equal(last.type === "finish" && last.finishReason, "cancelled");
      const done = await s.completion;
      assert.ok(done.generatedTokens < 10, `stopped after ${done.generatedTokens} tokens`);
      const stepsWithIt = steps.filter((st) => st.requestIds.includes(s.id)).length;
      assert.ok(stepsWithIt <= done.generatedTokens + 1);
      await agent.pool.whenSettled();
      assert.equal(agent.pool.available, agent.pool.capacity);
      assert.equal(m.stats.kv.usedBlocks, 0);
    });
  });

  test("cancellation while waiting, and by leaving the iteration early", async () => {
    await withMaster({ maxBatchSize: 1 }, async (m) => {
      const first = m.submit({ prompt: "first", maxNewTokens: 30 });
      const second = m.submit({ prompt: "second", maxNewTokens: 30 });
      second.cancel();
      const c2 = await second.completion;
      assert.equal(c2.finishReason, "cancelled");
      assert.equal(c2.generatedTokens, 0);
      for await (const e of first) if (e.type === "token" && e.index === 2) break;
      const c1 = await first.completion;
      assert.equal(c1.finishReason, "cancelled");
      assert.ok(c1.generatedTokens < 30);
    });
  });
});

describe("bad input", () => {
  test("a prompt that can never fit is rejected at once, never truncated", async () => {
    await withMaster({}, async (m) => {
      const long = "the model serves a request ".repeat(100);
      assert.throws(() => m.submit({ prompt: long, maxNewTokens: 8 }), (e: RequestError) => e instanceof RequestError && e.code === "prompt_too_long");
      assert.throws(() => m.submit({ prompt: "short", maxNewTokens: agent.rowCapacity - 1 }), (e: RequestError) => e.code === "invalid_parameter" && e.param === "max_new_tokens" && /at most/.test(e.message));
      assert.equal(m.stats.waiting, 0);
    });
  });

  test("invalid parameters are clear errors, never a hang", async () => {
    await withMaster({}, async (m) => {
      const bad: Array<[Partial<GenerationRequest>, string]> = [
        [{ maxNewTokens: 0 }, "max_new_tokens"],
        [{ maxNewTokens: -5 }, "max_new_tokens"],
        [{ maxNewTokens: 1e12 }, "max_new_tokens"],
        [{ maxNewTokens: 2.5 }, "max_new_tokens"],
        [{ sampling: { temperature: -1 } }, "temperature"],
        [{ sampling: { topP: 0 } }, "top_p"],
        [{ sampling: { topK: -3 } }, "top_k"],
        [{ seed: -1 }, "seed"],
        [{ stop: [""] }, "stop"],
        [{ prompt: [1, 5000] }, "prompt"],
        [{ prompt: "" }, "prompt"],
      ];
      for (const [patch, param] of bad) {
        assert.throws(() => m.submit({ prompt: "fine", maxNewTokens: 4, ...patch }), (e: RequestError) => e instanceof RequestError && e.param === param, JSON.stringify(patch));
      }
      const ok = await run(m, { prompt: [1, 300, 301], maxNewTokens: 3 });
      assert.equal(ok.finishReason, "length");
    });
  });

  test("a full waiting queue refuses more", async () => {
    await withMaster({ maxBatchSize: 1, maxWaiting: 2 }, async (m) => {
      const streams = [m.submit({ prompt: "q", maxNewTokens: 5 })];
      await new Promise((r) => setImmediate(r));
      assert.equal(m.stats.running, 1);
      streams.push(m.submit({ prompt: "q", maxNewTokens: 5 }), m.submit({ prompt: "q", maxNewTokens: 5 }));
      assert.throws(() => m.submit({ prompt: "q", maxNewTokens: 5 }), (e: RequestError) => e.code === "queue_full");
      assert.equal(m.stats.waiting, 2);
      for (const s of streams) assert.equal((await s.completion).finishReason, "length");
    });
  });
});

describe("batching", () => {
  test("k active rows → exactly one llama_decode per step; prompts share steps with decodes", async () => {
    await withMaster({}, async (m, steps) => {
      const first = m.submit({ prompt: "early bird", maxNewTokens: 30 });
      const it = first[Symbol.asyncIterator]();
      for (let i = 0; i < 3; i++) await nextToken(it);
      const others: GenerationStream[] = [
        m.submit({ prompt: "second prompt joins", maxNewTokens: 20 }),
        m.submit({ prompt: "third prompt with more words in it", maxNewTokens: 10 }),
        m.submit({ prompt: [1, 400, 401, 402], maxNewTokens: 15 }),
      ];
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
      const c = await collect(master.submit({ prompt, maxNewTokens: 5 }));
      assert.equal(c.finishReason, "length");
      assert.ok(c.promptTokens > 32);
      const prefillSteps = steps.filter((s) => s.rows.some((r) => r.kind === "prefill"));
      assert.equal(prefillSteps.length, Math.ceil(c.promptTokens / 16));
      for (const s of steps) {
        assert.equal(s.decodes, 1);
        assert.ok(s.tokenCount <= 16);
      }
      const solo = await withMaster({}, (m) => run(m, { prompt, maxNewTokens: 5 }));
      assert.deepEqual(ids(c), ids(solo), "chunked prefill gives the same tokens");
    } finally {
      await master.close();
      await small.dispose();
    }
  });

  test("continuous: rows leave when done and new ones join mid-flight", async () => {
    await withMaster({ maxBatchSize: 2 }, async (m, steps) => {
      const a = m.submit({ prompt: "short", maxNewTokens: 4 });
      const b = m.submit({ prompt: "long", maxNewTokens: 16 });
      const c = m.submit({ prompt: "joins", maxNewTokens: 4 });
      await Promise.all([a.completion, b.completion, c.completion]);
      const firstWith = (id: string) => steps.findIndex((s) => s.requestIds.includes(id));
      const lastWith = (id: string) => steps.findLastIndex((s) => s.requestIds.includes(id));
      assert.equal(lastWith(a.id), 3, "a leaves after its 4 tokens");
      assert.equal(firstWith(c.id), 4, "c joins at the very next step");
      assert.ok(lastWith(b.id) > firstWith(c.id), "while b is still running");
      assert.ok(steps.every((s) => s.rows.length <= 2));
    });
  });

  test("static: a batch runs until all its rows finish before others join", async () => {
    await withMaster({ maxBatchSize: 2, batching: "static" }, async (m, steps) => {
      const a = m.submit({ prompt: "short", maxNewTokens: 4 });
      const b = m.submit({ prompt: "long", maxNewTokens: 16 });
      const c = m.submit({ prompt: "waits", maxNewTokens: 4 });
      await Promise.all([a.completion, b.completion, c.completion]);
      const firstWith = (id: string) => steps.findIndex((s) => s.requestIds.includes(id));
      const lastWith = (id: string) => steps.findLastIndex((s) => s.requestIds.includes(id));
      assert.equal(lastWith(a.id), 3);
      assert.equal(lastWith(b.id), 15);
      assert.equal(firstWith(c.id), 16, "c starts only after the whole batch is done");
      assert.ok(steps.slice(4, 16).every((s) => s.rows.length === 1), "a's row stays empty");
    });
  });

  test("KV use is reported in blocks and freed when requests finish", async () => {
    await withMaster({ blockSize: 16 }, async (m) => {
      const s = m.submit({ prompt: [1, 300, 301, 302, 303], maxNewTokens: 40 });
      const it = s[Symbol.asyncIterator]();
      for (let i = 0; i < 20; i++) await nextToken(it);
      const kv = m.stats.kv;
      assert.equal(kv.blockSize, 16);
      assert.equal(kv.totalBlocks, 4 * (agent.rowCapacity / 16));
      assert.equal(kv.reservedBlocks, Math.ceil(45 / 16));
      assert.ok(kv.usedBlocks >= 2 && kv.usedBlocks <= kv.reservedBlocks);
      assert.equal(kv.paged, false);
      s.cancel();
      await s.completion;
      assert.equal(m.stats.kv.usedBlocks, 0);
    });
  });
});

describe("failures", () => {
  /** Replaces the agent's runStep for the duration of `fn`. */
  async function withFaultyAgent(fault: (outputs: RowOutput[], stepIndex: number) => RowOutput[], fn: () => Promise<void>): Promise<void> {
    const original = agent.runStep;
    let stepIndex = 0;
    agent.runStep = async (inputs, marks) => fault(await original.call(agent, inputs, marks), stepIndex++);
    try {
      await fn();
    } finally {
      agent.runStep = original;
    }
  }

  test("an engine error in one row ends that request; the others go on", async () => {
    await withMaster({}, async (m) => {
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
    await withMaster({}, async (m) => {
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
    await withMaster({}, async (m) => {
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
    await withMaster({ maxBatchSize: 1 }, async (m) => {
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
          assert.throws(() => m.submit({ prompt: "x", maxNewTokens: 1 }), /engine loop has stopped/);
        },
      );
    });
  });
});
