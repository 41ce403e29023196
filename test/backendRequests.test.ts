/**
 * What each backend protocol asks its backend (call): the route, and every
 * field as that backend names it; and the load readers (vLLM's /metrics,
 * llama.cpp's /slots). Some tests name a defect a review found (each failed
 * before its fix).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { GREEDY, type SamplingParams } from "../src/agent/Sampling.js";
import type { RemoteRequest } from "../src/engines/remote/backendProtocol.js";
import { llamaCppProtocol } from "../src/engines/remote/llamaCppProtocol.js";
import { openAiProtocol, readVllmMetrics } from "../src/engines/remote/openAiProtocol.js";
import { tgiProtocol } from "../src/engines/remote/tgiProtocol.js";
import { RequestError } from "../src/master/errors.js";

const SAMPLING: SamplingParams = { temperature: 0.7, topK: 40, topP: 0.9, minP: 0.05, repetitionPenalty: 1.1, frequencyPenalty: 0.2, presencePenalty: 0.3, penaltyLastN: 128 };
const MESSAGES = [
  { role: "system", content: "Be brief." },
  { role: "user", content: "Hi" },
] as const;

function request(extra: Partial<RemoteRequest> = {}): RemoteRequest {
  return { prompt: "The capital of France is", maxNewTokens: 16, sampling: { ...GREEDY }, seed: undefined, stop: [], ignoreEos: false, ...extra };
}

describe("llama.cpp: call()", () => {
  test("a prompt, greedy: /completion with every sampler field (its defaults are not greedy), token ids and cache asked for", () => {
    const spec = llamaCppProtocol.call(request(), "ignored");
    assert.equal(spec.path, "/completion");
    assert.deepEqual(spec.body, {
      prompt: "The capital of France is",
      n_predict: 16,
      stream: true,
      return_tokens: true,
      cache_prompt: true,
      temperature: 0,
      top_k: 0,
      top_p: 1,
      min_p: 0,
      repeat_penalty: 1,
      repeat_last_n: 64,
      frequency_penalty: 0,
      presence_penalty: 0,
      stop: [],
      ignore_eos: false,
    });
  });

  test("token ids, sampling, seed, stop strings and ignore_eos go as llama.cpp names them", () => {
    const spec = llamaCppProtocol.call(request({ prompt: [1, 450, 7483], sampling: SAMPLING, seed: 42, stop: ["\n\n", "###"], ignoreEos: true }), undefined);
    assert.equal(spec.path, "/completion");
    assert.deepEqual(spec.body, {
      prompt: [1, 450, 7483],
      n_predict: 16,
      stream: true,
      return_tokens: true,
      cache_prompt: true,
      temperature: 0.7,
      top_k: 40,
      top_p: 0.9,
      min_p: 0.05,
      repeat_penalty: 1.1,
      repeat_last_n: 128,
      frequency_penalty: 0.2,
      presence_penalty: 0.3,
      stop: ["\n\n", "###"],
      ignore_eos: true,
      seed: 42,
    });
  });

  test("a chat: its OpenAI route, streamed with usage, with llama.cpp's own sampler fields and no per-token timings", () => {
    const spec = llamaCppProtocol.call({ ...request({ sampling: SAMPLING, seed: 7, stop: ["END"] }), prompt: undefined, messages: MESSAGES }, "tiny");
    assert.equal(spec.path, "/v1/chat/completions");
    const b = spec.body;
    assert.deepEqual(b.messages, MESSAGES);
    assert.equal(b.model, "tiny");
    assert.equal(b.max_tokens, 16);
    assert.equal(b.stream, true);
    assert.deepEqual(b.stream_options, { include_usage: true });
    assert.equal(b.timings_per_token, false);
    assert.equal(b.prompt, undefined);
    for (const [k, v] of Object.entries({ temperature: 0.7, top_k: 40, top_p: 0.9, min_p: 0.05, repeat_penalty: 1.1, repeat_last_n: 128, frequency_penalty: 0.2, presence_penalty: 0.3, seed: 7, ignore_eos: false })) {
      assert.equal(b[k], v, k);
    }
    assert.deepEqual(b.stop, ["END"]);
  });
});

describe("OpenAI-compatible (vLLM): call()", () => {
  test("a prompt, greedy: /v1/completions with OpenAI's fields only (strict servers refuse unknown ones)", () => {
    const spec = openAiProtocol.call(request(), "meta-llama/Llama-3.1-8B");
    assert.equal(spec.path, "/v1/completions");
    assert.deepEqual(spec.body, {
      model: "meta-llama/Llama-3.1-8B",
      max_tokens: 16,
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0,
      prompt: "The capital of France is",
    });
  });

  test("non-default sampling, seed, stop and ignore_eos: vLLM's extensions sent only then", () => {
    const spec = openAiProtocol.call(request({ prompt: [1, 2, 3], sampling: SAMPLING, seed: 42, stop: ["\n"], ignoreEos: true }), undefined);
    assert.deepEqual(spec.body, {
      max_tokens: 16,
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.7,
      top_p: 0.9,
      frequency_penalty: 0.2,
      presence_penalty: 0.3,
      top_k: 40,
      min_p: 0.05,
      repetition_penalty: 1.1,
      seed: 42,
      stop: ["\n"],
      ignore_eos: true,
      prompt: [1, 2, 3],
    });
    assert.ok(!("model" in spec.body), "no model when none is configured");
  });

  test("a chat: /v1/chat/completions with the messages and no prompt", () => {
    const spec = openAiProtocol.call({ ...request(), prompt: undefined, messages: MESSAGES }, "m");
    assert.equal(spec.path, "/v1/chat/completions");
    assert.deepEqual(spec.body, { model: "m", max_tokens: 16, stream: true, stream_options: { include_usage: true }, temperature: 0, messages: MESSAGES });
  });
});

describe("TGI: call()", () => {
  test("a prompt, greedy: do_sample false and no temperature (TGI refuses 0), details asked for", () => {
    const spec = tgiProtocol.call(request(), undefined);
    assert.equal(spec.path, "/generate_stream");
    assert.deepEqual(spec.body, { inputs: "The capital of France is", parameters: { max_new_tokens: 16, do_sample: false, details: true }, stream: true });
  });

  test("sampling: temperature, top_k, top_p, penalties, seed and stop in parameters", () => {
    const spec = tgiProtocol.call(request({ sampling: SAMPLING, seed: 42, stop: ["\n\n"] }), undefined);
    assert.deepEqual(spec.body, {
      inputs: "The capital of France is",
      parameters: { max_new_tokens: 16, do_sample: true, details: true, temperature: 0.7, top_k: 40, top_p: 0.9, repetition_penalty: 1.1, frequency_penalty: 0.2, seed: 42, stop: ["\n\n"] },
      stream: true,
    });
  });

  test("sampling with top_p 1 and top_k 0 (off): neither sent, since TGI wants top_p < 1 and top_k > 0", () => {
    const spec = tgiProtocol.call(request({ sampling: { ...GREEDY, temperature: 1.2 } }), undefined);
    assert.deepEqual(spec.body.parameters, { max_new_tokens: 16, do_sample: true, details: true, temperature: 1.2 });
  });

  test("token ids are refused with a RequestError on the prompt", () => {
    assert.throws(
      () => tgiProtocol.call(request({ prompt: [1, 450, 7483] }), undefined),
      (err: unknown) => err instanceof RequestError && err.code === "invalid_prompt" && err.param === "prompt" && /TGI/.test(err.message),
    );
  });

  test("a chat: its Messages API, model named (TGI wants one)", () => {
    const spec = tgiProtocol.call({ ...request(), prompt: undefined, messages: MESSAGES }, undefined);
    assert.equal(spec.path, "/v1/chat/completions");
    assert.equal(spec.body.model, "tgi");
    assert.deepEqual(spec.body.messages, MESSAGES);
    assert.equal(spec.body.temperature, 0, "TGI's Messages API takes 0 as greedy");
    assert.equal(tgiProtocol.call({ ...request(), prompt: undefined, messages: MESSAGES }, "mistral").body.model, "mistral");
  });

  test(
    "a chat sends no top_p TGI refuses (its validation wants 0 < top_p < 1)",
    () => {
      const top = tgiProtocol.call({ ...request(), prompt: undefined, messages: MESSAGES }, undefined).body.top_p;
      assert.ok(top === undefined || (typeof top === "number" && top > 0 && top < 1), `top_p ${String(top)}`);
    },
  );
});

// ---------------------------------------------------------------------------
// Load readers
// ---------------------------------------------------------------------------

// vLLM /metrics (prometheus_client text format; vllm/v1/metrics/loggers.py:
// gauges labelled model_name and engine, one series per data-parallel engine).
const MODEL_LABEL = `model_name="meta-llama/Llama-3.1-8B-Instruct"`;
const VLLM_METRICS = `# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",${MODEL_LABEL}} 3.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",${MODEL_LABEL}} 2.0
# HELP vllm:num_requests_waiting_by_reason Number of requests waiting, by reason.
# TYPE vllm:num_requests_waiting_by_reason gauge
vllm:num_requests_waiting_by_reason{engine="0",${MODEL_LABEL},reason="capacity"} 2.0
vllm:num_requests_waiting_by_reason{engine="0",${MODEL_LABEL},reason="deferred"} 0.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",${MODEL_LABEL}} 0.4375
# HELP vllm:num_preemptions_total Cumulative number of preemption from the engine.
# TYPE vllm:num_preemptions_total counter
vllm:num_preemptions_total{engine="0",${MODEL_LABEL}} 7.0
# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.001",${MODEL_LABEL}} 0.0
vllm:time_to_first_token_seconds_count{engine="0",${MODEL_LABEL}} 120.0
vllm:time_to_first_token_seconds_sum{engine="0",${MODEL_LABEL}} 9.53
`;

describe("load readers", () => {
  test("vLLM /metrics: running, waiting (not its by-reason split) and KV use", () => {
    assert.deepEqual(readVllmMetrics(VLLM_METRICS), { running: 3, waiting: 2, kvUsage: 0.4375 });
    assert.equal(openAiProtocol.loadPath, "/metrics");
    assert.equal(openAiProtocol.load, readVllmMetrics);
  });

  test("vLLM /metrics: the older gpu_cache_usage_perc name, and counts summed over data-parallel engines", () => {
    const text = `vllm:num_requests_running{engine="0",${MODEL_LABEL}} 3.0
vllm:num_requests_running{engine="1",${MODEL_LABEL}} 1.0
vllm:num_requests_waiting{engine="0",${MODEL_LABEL}} 0.0
vllm:num_requests_waiting{engine="1",${MODEL_LABEL}} 4.0
vllm:gpu_cache_usage_perc{engine="0",${MODEL_LABEL}} 0.25
`;
    assert.deepEqual(readVllmMetrics(text), { running: 4, waiting: 4, kvUsage: 0.25 });
  });

  test("vLLM /metrics: a page without vLLM's gauges says nothing", () => {
    assert.equal(readVllmMetrics("# HELP process_cpu_seconds_total x\nprocess_cpu_seconds_total 12.5\n"), undefined);
    assert.equal(readVllmMetrics(""), undefined);
  });

  test(
    "vLLM /metrics: KV use over two data-parallel engines stays within 0…1",
    () => {
      const text = `vllm:num_requests_running{engine="0",${MODEL_LABEL}} 1.0
vllm:num_requests_running{engine="1",${MODEL_LABEL}} 1.0
vllm:kv_cache_usage_perc{engine="0",${MODEL_LABEL}} 0.6
vllm:kv_cache_usage_perc{engine="1",${MODEL_LABEL}} 0.6
`;
      const kv = readVllmMetrics(text)?.kvUsage;
      assert.ok(kv !== undefined && kv >= 0 && kv <= 1, `kvUsage ${kv}`);
    },
  );

  // llama-server GET /slots (tools/server: one object per slot, is_processing true while it runs a task).
  const SLOTS = JSON.stringify([
    { id: 0, id_task: 112, n_ctx: 4096, speculative: false, is_processing: true, params: { n_predict: 64, temperature: 0 }, next_token: { has_next_token: true, n_remain: 50, n_decoded: 14 } },
    { id: 1, id_task: -1, n_ctx: 4096, speculative: false, is_processing: false, params: { n_predict: -1 }, next_token: { has_next_token: true, n_remain: -1, n_decoded: 0 } },
    { id: 2, id_task: 113, n_ctx: 4096, speculative: false, is_processing: true, params: { n_predict: 16 }, next_token: { has_next_token: true, n_remain: 15, n_decoded: 1 } },
    { id: 3, id_task: -1, n_ctx: 4096, speculative: false, is_processing: false, params: {}, next_token: {} },
  ]);

  test("llama.cpp /slots: slots busy and slots in all", () => {
    assert.equal(llamaCppProtocol.loadPath, "/slots");
    assert.deepEqual(llamaCppProtocol.load?.(SLOTS), { running: 2, capacity: 4 });
    assert.deepEqual(llamaCppProtocol.load?.("[]"), { running: 0, capacity: 0 });
    // /slots turned off answers an error object; not JSON at all: nothing known.
    assert.equal(llamaCppProtocol.load?.(`{"error":{"code":501,"message":"This server does not support slots endpoint.","type":"not_supported_error"}}`), undefined);
    assert.equal(llamaCppProtocol.load?.("<html>"), undefined);
    assert.equal(tgiProtocol.load, undefined);
  });
});
