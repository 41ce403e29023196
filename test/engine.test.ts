import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RequestError } from "../src/master/errors.js";
import type { GenerationRequest } from "../src/master/GenerationRequest.js";
import { ids, nextToken, run, sharedTinyAgent, withMaster } from "./helpers/masterHarness.js";

const shared = sharedTinyAgent();
const agent = () => shared.get();

describe("determinism", () => {
  test("greedy: the same prompt gives the same tokens, alone and inside a batch", async () => {
    await withMaster(agent(), {}, async (m) => {
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
    await withMaster(agent(), {}, async (m) => {
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
    await withMaster(agent(), { maxBatchSize: 1 }, async (m) => {
      const b = { prompt: "second", maxNewTokens: 6, sampling: { temperature: 1.5 }, seed: 104 };
      const alone = await run(m, b);
      // a's last token is sampled with seed 100 + 4: b's first sampler is a recycled one that last saw seed 104.
      await run(m, { prompt: "first", maxNewTokens: 5, sampling: { temperature: 1.5 }, seed: 100 });
      const after = await run(m, b);
      assert.deepEqual(ids(after), ids(alone));
    });
  });

  test("sampling parameters are honoured per row inside one batch", async () => {
    await withMaster(agent(), {}, async (m) => {
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
    await withMaster(agent(), {}, async (m) => {
      for (const n of [1, 2, 7]) {
        const c = await run(m, { prompt: "count", maxNewTokens: n });
        assert.equal(c.finishReason, "length");
        assert.equal(c.generatedTokens, n);
        assert.equal(c.tokens.length, n);
        const all = agent().detokenize(ids(c), agent().tokenize("count").slice(-4));
        assert.equal(c.text, all);
        assert.equal(c.tokens.map((t) => t.text).join(""), c.text);
      }
    });
  });

  test("eos: generation ends at the end token (overridable), which adds no text", async () => {
    await withMaster(agent(), {}, async (m) => {
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
    await withMaster(agent(), {}, async (m) => {
      const free = await run(m, { prompt: "stop here", maxNewTokens: 40 });
      const texts = free.tokens.map((t) => t.text);
      const k = texts.findIndex((t, i) => i > 0 && t.length >= 2 && texts[i + 1]?.length >= 2);
      assert.ok(k > 0, "two neighbouring tokens with text");
      const stop = texts[k].slice(-2) + texts[k + 1].slice(0, 2);
      const expected = free.text.slice(0, free.text.indexOf(stop));
      const s = await m.submit({ prompt: "stop here", maxNewTokens: 40, stop: ["never-appears-xyz", stop] });
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
    await withMaster(agent(), {}, async (m, steps) => {
      const s = await m.submit({ prompt: "cancel me", maxNewTokens: 200 });
      const it = s[Symbol.asyncIterator]();
      let texts = "";
      const read = async () => {
        const { value } = await it.next();
        assert.equal(value?.type, "token");
        if (value?.type === "token") texts += value.text;
      };
      for (let i = 0; i < 3; i++) await read();
      s.cancel();
      let last;
      for (let r = await it.next(); !r.done; r = await it.next()) {
        last = r.value;
        if (last.type === "token") texts += last.text;
      }
      assert.equal(last?.type, "finish");
      assert.equal(last.type === "finish" && last.finishReason, "cancelled");
      const done = await s.completion;
      // A token's text may be made after its step (Request.deferText): the finish event still carries all of it.
      assert.ok(texts.length > 0);
      assert.equal(done.text, texts);
      assert.ok(done.generatedTokens < 10, `stopped after ${done.generatedTokens} tokens`);
      const stepsWithIt = steps.filter((st) => st.requestIds.includes(s.id)).length;
      assert.ok(stepsWithIt <= done.generatedTokens + 1);
      await agent().pool.whenSettled();
      assert.equal(agent().pool.available, agent().pool.capacity);
      assert.equal(m.stats.kv.usedBlocks, 0);
    });
  });

  test("cancellation while waiting, and by leaving the iteration early", async () => {
    await withMaster(agent(), { maxBatchSize: 1 }, async (m) => {
      const [first, second] = await Promise.all([m.submit({ prompt: "first", maxNewTokens: 30 }), m.submit({ prompt: "second", maxNewTokens: 30 })]);
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
    await withMaster(agent(), {}, async (m) => {
      const long = "the model serves a request ".repeat(100);
      await assert.rejects(m.submit({ prompt: long, maxNewTokens: 8 }), (e: RequestError) => e instanceof RequestError && e.code === "prompt_too_long");
      await assert.rejects(m.submit({ prompt: "short", maxNewTokens: agent().rowCapacity - 1 }), (e: RequestError) => e.code === "invalid_parameter" && e.param === "max_new_tokens" && /at most/.test(e.message));
      assert.equal(m.stats.waiting, 0);
    });
  });

  test("invalid parameters are clear errors, never a hang", async () => {
    await withMaster(agent(), {}, async (m) => {
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
        await assert.rejects(m.submit({ prompt: "fine", maxNewTokens: 4, ...patch }), (e: RequestError) => e instanceof RequestError && e.param === param, JSON.stringify(patch));
      }
      const ok = await run(m, { prompt: [1, 300, 301], maxNewTokens: 3 });
      assert.equal(ok.finishReason, "length");
    });
  });

  test("a full waiting queue refuses more", async () => {
    await withMaster(agent(), { maxBatchSize: 1, maxWaiting: 2 }, async (m) => {
      const streams = [await m.submit({ prompt: "q", maxNewTokens: 5 })];
      await new Promise((r) => setImmediate(r));
      assert.equal(m.stats.running, 1);
      streams.push(...(await Promise.all([m.submit({ prompt: "q", maxNewTokens: 5 }), m.submit({ prompt: "q", maxNewTokens: 5 })])));
      await assert.rejects(m.submit({ prompt: "q", maxNewTokens: 5 }), (e: RequestError) => e.code === "queue_full");
      assert.equal(m.stats.waiting, 2);
      for (const s of streams) assert.equal((await s.completion).finishReason, "length");
    });
  });
});
