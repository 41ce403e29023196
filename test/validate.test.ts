/**
 * The one intake pass (src/master/validate.ts), without a model: a fake
 * tokenizer (one token per character, code point + 10) stands in for
 * llama.cpp's.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RequestError } from "../src/master/errors.js";
import type { GenerationRequest } from "../src/master/GenerationRequest.js";
import { validate, validateParams, type IntakeLimits, type IntakeTokenizer, type ValidRequest } from "../src/master/validate.js";

const BOS = 1;
const limits: IntakeLimits = { vocabSize: 1000, rowCapacity: 32, bosToken: BOS, addBos: true };
const perChar = (text: string): number[] => [...text].map((c) => (c.codePointAt(0)! % 900) + 10);
const tokenizer = (async = false): IntakeTokenizer => ({
  minTokens: () => 0,
  tokenize: (text) => (async ? Promise.resolve(Uint32Array.from(perChar(text))) : perChar(text)),
});

function valid(r: Partial<GenerationRequest>, t = tokenizer()): ValidRequest {
  const v = validate({ prompt: "abc", maxNewTokens: 4, ...r }, limits, t);
  assert.ok(!(v instanceof Promise), "a short prompt is validated at once");
  return v;
}

function refused(r: Partial<GenerationRequest>, param: string, t = tokenizer()): void {
  assert.throws(
    () => valid(r, t),
    (e: unknown) => e instanceof RequestError && e.param === param && e.message.startsWith(`${param}:`),
    JSON.stringify(r),
  );
}

describe("validate: one pass from a request to a valid one", () => {
  test("text gets the model's BOS once; token ids are used as given", () => {
    assert.deepEqual(valid({ prompt: "ab" }).prompt, [BOS, ...perChar("ab")]);
    const startsWithBos: IntakeTokenizer = { minTokens: () => 0, tokenize: (text) => [BOS, ...perChar(text)] };
    assert.deepEqual(valid({ prompt: "ab" }, startsWithBos).prompt, [BOS, ...perChar("ab")], "a chat template that begins with BOS gets no second one");
    assert.deepEqual(valid({ prompt: [5, 6, 7] }).prompt, [5, 6, 7]);
    assert.deepEqual(validate({ prompt: "ab", maxNewTokens: 4 }, { ...limits, addBos: false }, tokenizer()), { ...valid({ prompt: "ab" }), prompt: perChar("ab") });
  });

  test("every parameter is checked, and a bad one is named", () => {
    refused({ maxNewTokens: 0 }, "max_new_tokens");
    refused({ maxNewTokens: 32 }, "max_new_tokens");
    refused({ sampling: { topP: 0 } }, "top_p");
    refused({ sampling: { temperature: -1 } }, "temperature");
    refused({ sampling: { topK: 1001 } }, "top_k");
    refused({ sampling: { repetitionPenalty: 0 } }, "repetition_penalty");
    refused({ seed: -1 }, "seed");
    refused({ topLogprobs: 21 }, "top_logprobs");
    refused({ stop: Array(17).fill("x") }, "stop");
    refused({ eosTokenIds: [1000] }, "eos_token_id");
    refused({ truncate: 0 }, "truncate");
    refused({ prompt: "" }, "prompt");
    refused({ prompt: [1, 1000] }, "prompt");
  });

  test("a range with no upper bound of ours (a gateway's: its backend knows the context) is said as a lower bound", () => {
    // A new user saw "max_tokens: must be in [1, 9007199254740990], got -1" through a gateway.
    const gateway = { vocabSize: Infinity, rowCapacity: Infinity };
    assert.throws(() => validateParams({ maxNewTokens: -1 }, gateway), { message: "max_new_tokens: must be at least 1, got -1" });
    assert.throws(() => validateParams({ maxNewTokens: 4, sampling: { topK: -1 } }, gateway), { message: "top_k: must be at least 0, got -1" });
    assert.equal(validateParams({ maxNewTokens: 100_000, sampling: { topK: 50_000 } }, gateway).maxNewTokens, 100_000);
    assert.throws(() => validateParams({ maxNewTokens: 4, eosTokenIds: [-1] }, gateway), { message: "eos_token_id: token ids must be non-negative integers, got -1" });
    assert.throws(() => validateParams({ maxNewTokens: 40 }, { vocabSize: 1000, rowCapacity: 32 }), { message: "max_new_tokens: must be in [1, 31], got 40" });
  });

  test("the prompt must fit its row with max_new_tokens; a defaulted limit shrinks to fit instead", () => {
    refused({ prompt: "x".repeat(31) }, "prompt");
    refused({ prompt: "x".repeat(20), maxNewTokens: 12 }, "max_new_tokens");
    assert.equal(valid({ prompt: "x".repeat(20), maxNewTokens: 11 }).maxNewTokens, 11);
    assert.equal(valid({ prompt: "x".repeat(20), maxNewTokens: 300, fitContext: true }).maxNewTokens, 11);
  });

  test("a text that cannot fit by its length alone is refused before it is tokenized", () => {
    let tokenized = 0;
    const bounded: IntakeTokenizer = { minTokens: (text) => text.length, tokenize: (text) => (tokenized++, perChar(text)) };
    refused({ prompt: "x".repeat(40) }, "prompt", bounded);
    assert.equal(tokenized, 0);
  });

  test("truncate keeps the last tokens after BOS", () => {
    const v = valid({ prompt: "abcdefghij".repeat(5), truncate: 3, maxNewTokens: 4 });
    assert.deepEqual(v.prompt, [BOS, ...perChar("hij")]);
  });

  test("a long prompt's tokens come later, with the same result; the tokenized hook runs once either way", async () => {
    for (const async of [false, true]) {
      let calls = 0;
      const v = validate({ prompt: "abc", maxNewTokens: 4 }, limits, tokenizer(async), () => calls++);
      assert.equal(v instanceof Promise, async);
      assert.deepEqual((await v).prompt, [BOS, ...perChar("abc")]);
      assert.equal(calls, 1);
    }
    let calls = 0;
    const failing: IntakeTokenizer = { minTokens: () => 0, tokenize: () => Promise.reject(new Error("tokenizer gone")) };
    await assert.rejects(Promise.resolve(validate({ prompt: "abc", maxNewTokens: 4 }, limits, failing, () => calls++)), /tokenizer gone/);
    assert.equal(calls, 1, "a refused prompt still shows its tokenize time");
  });
});
