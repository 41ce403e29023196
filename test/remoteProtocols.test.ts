/**
 * The remote engines' wire: each backend protocol's request (call) and its
 * reading of one stream event (read), checked on streams written exactly as
 * llama-server, vLLM and TGI send them (none of vLLM or TGI can run here, so
 * their chunks are recorded from their sources, named beside each); the load
 * readers (vLLM's /metrics, llama.cpp's /slots); one streamed HTTP call
 * (startCall) against local servers that split, stall, fail and never
 * answer; and the routing policies.
 * Some tests name a defect a review found (each failed before its fix).
 */
import assert from "node:assert/strict";
import { Agent, createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, test } from "node:test";
import fc from "fast-check";
import { GREEDY, type SamplingParams } from "../src/agent/Sampling.js";
import { BackendFailure, startCall, type CallOptions } from "../src/engines/remote/BackendCall.js";
import type { BackendEvent, BackendProtocol, RemoteRequest } from "../src/engines/remote/backendProtocol.js";
import { llamaCppProtocol } from "../src/engines/remote/llamaCppProtocol.js";
import { openAiProtocol, readVllmMetrics } from "../src/engines/remote/openAiProtocol.js";
import { tgiProtocol } from "../src/engines/remote/tgiProtocol.js";
import { RoutingPolicy, type Candidate } from "../src/engines/router/routingPolicy.js";
import { RequestError } from "../src/master/errors.js";
import type { BackendTimings } from "../src/timing/backendTimings.js";
import { HopTrace } from "../src/timing/HopTrace.js";
import { HopPoint } from "../src/timing/points.js";

// ---------------------------------------------------------------------------
// Recorded streams. Each is the response body byte for byte as the server
// writes it (SSE), so the same text serves the read() tests and startCall.
// ---------------------------------------------------------------------------

/** The JSON of each `data:` line, [DONE] left out: the test's own reading, independent of BackendCall. */
function dataEvents(body: string): unknown[] {
  return body
    .split("\n")
    .map((l) => l.replace(/\r$/, ""))
    .filter((l) => l.startsWith("data:") && l.slice(5).trim() !== "[DONE]")
    .map((l) => JSON.parse(l.slice(5)) as unknown);
}

const sse = (events: readonly string[], done = false): string => events.map((e) => `data: ${e}\n\n`).join("") + (done ? "data: [DONE]\n\n" : "");

// llama.cpp llama-server, POST /completion with stream and return_tokens
// (tools/server/server-task.cpp): each partial is
// server_task_result_cmpl_partial::to_json_non_oaicompat {index, content,
// tokens, stop:false, id_slot, tokens_predicted, tokens_evaluated}; the last is
// server_task_result_cmpl_final::to_json_non_oaicompat, which in stream mode
// has content "" and tokens [] (server-context.cpp send_final_response: "in
// stream mode, content and tokens are already in last partial chunk"), with
// stop_type from stop_type_to_str ("eos" | "word" | "limit"), stopping_word,
// tokens_evaluated, tokens_predicted and timings (result_timings::to_json).
// No [DONE] on this route. generation_settings is trimmed here (the server
// sends every sampler field).
const LLAMA_TIMINGS = `{"cache_n":0,"prompt_n":6,"prompt_ms":38.214,"prompt_per_token_ms":6.369,"prompt_per_second":157.01,"predicted_n":4,"predicted_ms":52.901,"predicted_per_token_ms":13.225,"predicted_per_second":75.613}`;
const llamaFinal = (stopType: string, stoppingWord: string, predicted: number): string =>
  `{"index":0,"content":"","tokens":[],"id_slot":0,"stop":true,"model":"gpt-3.5-turbo","tokens_predicted":${predicted},"tokens_evaluated":6,"generation_settings":{"n_predict":4,"seed":4294967295,"temperature":0.0,"top_k":0,"top_p":1.0,"min_p":0.0,"ignore_eos":false,"stream":true},"prompt":"<s> The capital of France is","has_new_line":false,"truncated":false,"stop_type":"${stopType}","stopping_word":${JSON.stringify(stoppingWord)},"tokens_cached":${6 + predicted - 1},"timings":${LLAMA_TIMINGS}}`;
const llamaPartial = (content: string, token: number, n: number): string =>
  `{"index":0,"content":${JSON.stringify(content)},"tokens":[${token}],"stop":false,"id_slot":0,"tokens_predicted":${n},"tokens_evaluated":6}`;

/** n_predict 4 reached. */
const LLAMA_LIMIT = sse([llamaPartial(" Paris", 3681, 1), llamaPartial(".", 29889, 2), llamaPartial(" It", 739, 3), llamaPartial(" is", 338, 4), llamaFinal("limit", "", 4)]);
/** The end-of-generation token: its text is not rendered (special), its id is sent. */
const LLAMA_EOS = sse([llamaPartial(" Paris", 3681, 1), llamaPartial(".", 29889, 2), llamaPartial("", 2, 3), llamaFinal("eos", "", 3)]);
/**
 * Stop word "\n\n": the first "\n" is held back as a possible start of it
 * (content "" but its token sent), the second completes it; neither is sent as
 * text (server-context.cpp process_token: text_to_send "" when !send_text).
 */
const LLAMA_WORD = sse([llamaPartial(" Paris", 3681, 1), llamaPartial(".", 29889, 2), llamaPartial("", 13, 3), llamaPartial("", 13, 4), llamaFinal("word", "\n\n", 4)]);

// llama.cpp's OpenAI route, POST /v1/chat/completions with stream_options.include_usage
// (server-task.cpp): partials from to_json_oaicompat_chat (the first token
// also sends {"role":"assistant","content":null}), the final from
// to_json_oaicompat_chat_stream: finish_reason "stop" for eos and word alike
// (no stop_reason), then, with include_usage, a chunk with choices [] and
// usage, which also carries the timings ("deltas.back()").
const LLAMA_CHAT = sse(
  [
    `{"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],"created":1718000000,"id":"chatcmpl-q3Gm","model":"tiny","system_fingerprint":"b6432-f3a4b1c2","object":"chat.completion.chunk"}`,
    `{"choices":[{"finish_reason":null,"index":0,"delta":{"content":"Hello"}}],"created":1718000000,"id":"chatcmpl-q3Gm","model":"tiny","system_fingerprint":"b6432-f3a4b1c2","object":"chat.completion.chunk"}`,
    `{"choices":[{"finish_reason":null,"index":0,"delta":{"content":" there"}}],"created":1718000000,"id":"chatcmpl-q3Gm","model":"tiny","system_fingerprint":"b6432-f3a4b1c2","object":"chat.completion.chunk"}`,
    `{"choices":[{"finish_reason":"stop","index":0,"delta":{}}],"created":1718000000,"id":"chatcmpl-q3Gm","model":"tiny","system_fingerprint":"b6432-f3a4b1c2","object":"chat.completion.chunk"}`,
    `{"choices":[],"created":1718000000,"id":"chatcmpl-q3Gm","model":"tiny","system_fingerprint":"b6432-f3a4b1c2","object":"chat.completion.chunk","usage":{"completion_tokens":3,"prompt_tokens":21,"total_tokens":24},"timings":{"cache_n":0,"prompt_n":21,"prompt_ms":61.5,"prompt_per_token_ms":2.929,"prompt_per_second":341.46,"predicted_n":3,"predicted_ms":30.2,"predicted_per_token_ms":10.067,"predicted_per_second":99.34}}`,
  ],
  true,
);

// An error during llama.cpp's stream (server-context.cpp: format_oai_sse(json {{"error", res_json}}),
// res_json from format_error_response: {code, message, type}); the stream ends after it.
const LLAMA_STREAM_ERROR = `{"error":{"code":500,"message":"Failed to decode the batch: KV cache is full","type":"server_error"}}`;

// vLLM's OpenAI server, POST /v1/completions with stream and
// stream_options.include_usage (vllm/entrypoints/openai/completion/serving.py,
// completion_stream_generator): each chunk is CompletionStreamResponse dumped
// with exclude_unset, its choice set explicitly (index, text, logprobs,
// finish_reason, stop_reason, prompt_token_ids, token_ids: null when not
// asked); stop_reason names the stop string that matched, or is null for the
// model's end, or an int for a stop token id; the stop string itself is not in
// the text. Then the usage chunk (choices [], usage; exclude_none, so no
// nulls) and [DONE].
const vllmChunk = (text: string, finish: string | null, stopReason: string | number | null): string =>
  `{"id":"cmpl-9f2c1a","object":"text_completion","created":1718000000,"model":"meta-llama/Llama-3.1-8B","choices":[{"index":0,"text":${JSON.stringify(text)},"logprobs":null,"finish_reason":${JSON.stringify(finish)},"stop_reason":${JSON.stringify(stopReason)},"prompt_token_ids":null,"token_ids":null}]}`;
const vllmUsage = (prompt: number, completion: number): string =>
  `{"id":"cmpl-9f2c1a","object":"text_completion","created":1718000000,"model":"meta-llama/Llama-3.1-8B","choices":[],"usage":{"prompt_tokens":${prompt},"total_tokens":${prompt + completion},"completion_tokens":${completion}}}`;

const VLLM_STOP_STRING = sse([vllmChunk(" Paris", null, null), vllmChunk(".", null, null), vllmChunk("", "stop", "\n\n"), vllmUsage(6, 4)], true);
const VLLM_LENGTH = sse([vllmChunk(" Paris", null, null), vllmChunk(".", null, null), vllmChunk(" It", "length", null), vllmUsage(6, 3)], true);
/** Llama 3's <|eot_id|> is among vLLM's stop token ids: finish "stop", stop_reason 128009 — the model's end, not a stop string. */
const VLLM_STOP_TOKEN = sse([vllmChunk(" Paris", null, null), vllmChunk(".", "stop", 128009), vllmUsage(6, 3)], true);

// vLLM chat (vllm/entrypoints/openai/chat_completion/serving.py,
// chat_completion_stream_generator): the first chunk is the role with content
// "", the finish chunk carries stop_reason, then the usage chunk and [DONE].
const vllmChat = (choice: string): string =>
  `{"id":"chatcmpl-77ab","object":"chat.completion.chunk","created":1718000000,"model":"meta-llama/Llama-3.1-8B-Instruct","choices":[${choice}]}`;
const VLLM_CHAT = sse(
  [
    vllmChat(`{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}`),
    vllmChat(`{"index":0,"delta":{"content":"Bonjour"},"logprobs":null,"finish_reason":null}`),
    vllmChat(`{"index":0,"delta":{"content":" à"},"logprobs":null,"finish_reason":null}`),
    vllmChat(`{"index":0,"delta":{"content":" vous"},"logprobs":null,"finish_reason":"length","stop_reason":null}`),
    `{"id":"chatcmpl-77ab","object":"chat.completion.chunk","created":1718000000,"model":"meta-llama/Llama-3.1-8B-Instruct","choices":[],"usage":{"prompt_tokens":14,"total_tokens":17,"completion_tokens":3}}`,
  ],
  true,
);
// vLLM's error in a stream (serving.py create_streaming_error_response: ErrorResponse(error=ErrorInfo(...)).model_dump()).
const VLLM_STREAM_ERROR = `{"error":{"message":"The decoder prompt (length 9000) is longer than the maximum model length of 8192.","type":"BadRequestError","param":null,"code":400}}`;

// TGI, POST /generate_stream with parameters.details (router/src/lib.rs
// StreamResponse {index, token: {id, text, logprob, special}, generated_text,
// details}; StreamDetails {finish_reason, generated_tokens, seed,
// input_length}; FinishReason serialized "length" | "eos_token" |
// "stop_sequence"). index counts from 1; generated_text and details are null
// until the last event. axum writes `data:` with no space (valid SSE).
const tgiToken = (index: number, id: number, text: string, special = false): string =>
  `{"index":${index},"token":{"id":${id},"text":${JSON.stringify(text)},"logprob":-0.${index}1,"special":${special}},"generated_text":null,"details":null}`;
const tgiLast = (index: number, id: number, text: string, special: boolean, generated: string, finish: string, n: number): string =>
  `{"index":${index},"token":{"id":${id},"text":${JSON.stringify(text)},"logprob":-0.02,"special":${special}},"generated_text":${JSON.stringify(generated)},"details":{"finish_reason":"${finish}","generated_tokens":${n},"seed":null,"input_length":5}}`;
const tgiSse = (events: readonly string[]): string => events.map((e) => `data:${e}\n\n`).join("");

const TGI_EOS = tgiSse([tgiToken(1, 3681, " Paris"), tgiToken(2, 29889, "."), tgiLast(3, 2, "</s>", true, " Paris.", "eos_token", 3)]);
const TGI_LENGTH = tgiSse([tgiToken(1, 3681, " Paris"), tgiToken(2, 29889, "."), tgiLast(3, 739, " It", false, " Paris. It", "length", 3)]);
/** TGI keeps the stop sequence in the text. */
const TGI_STOP = tgiSse([tgiToken(1, 3681, " Paris"), tgiToken(2, 29889, "."), tgiLast(3, 13, "\n", false, " Paris.\n", "stop_sequence", 3)]);
// TGI's error event mid-stream (router/src/server.rs: Event::from(InferError) → ErrorResponse {error, error_type}).
const TGI_STREAM_ERROR = `{"error":"Request failed during generation: Server error: CUDA out of memory.","error_type":"generation"}`;

// TGI's Messages API stream (router/src/lib.rs ChatCompletionChunk; the finish
// reason is details.finish_reason.format(true): EndOfSequenceToken → "stop",
// StopSequence stays "stop_sequence", Length "length").
const tgiChat = (content: string, finish: string | null): string =>
  `{"object":"chat.completion.chunk","id":"","created":1718000000,"model":"tgi","system_fingerprint":"3.0.1-native","choices":[{"index":0,"delta":{"role":"assistant","content":${JSON.stringify(content)}},"logprobs":null,"finish_reason":${JSON.stringify(finish)}}],"usage":null}`;
const TGI_CHAT_STOP_SEQUENCE = sse([tgiChat("Hi", null), tgiChat("\n", "stop_sequence")], true);
const TGI_CHAT_EOS = sse([tgiChat("Hi", null), tgiChat("", "stop")], true);

// ---------------------------------------------------------------------------

interface Folded {
  text: string;
  tokens: number;
  tokenIds: number[];
  finish?: string;
  stopString?: string;
  promptTokens?: number;
  generatedTokens?: number;
  timings?: BackendTimings;
  errors: string[];
  /** Index of each event that said the generation finished. */
  finishedAt: number[];
}

/** The stream's events read one by one and put together as RouterEngine does (the last word wins). */
function fold(p: BackendProtocol, events: readonly unknown[]): Folded {
  const f: Folded = { text: "", tokens: 0, tokenIds: [], errors: [], finishedAt: [] };
  events.forEach((chunk, i) => {
    const e: BackendEvent = p.read(chunk);
    f.text += e.text;
    f.tokens += e.tokens;
    if (e.tokenIds) f.tokenIds.push(...e.tokenIds);
    if (e.finish) {
      f.finish = e.finish;
      f.finishedAt.push(i);
    }
    if (e.stopString !== undefined) f.stopString = e.stopString;
    if (e.promptTokens !== undefined) f.promptTokens = e.promptTokens;
    if (e.generatedTokens !== undefined) f.generatedTokens = e.generatedTokens;
    if (e.timings) f.timings = e.timings;
    if (e.error) f.errors.push(e.error);
  });
  return f;
}

describe("llama.cpp: read() on llama-server's /completion stream", () => {
  test("n_predict reached: text, each token id, length, counts and timings (last chunk only)", () => {
    const f = fold(llamaCppProtocol, dataEvents(LLAMA_LIMIT));
    assert.equal(f.text, " Paris. It is");
    assert.deepEqual(f.tokenIds, [3681, 29889, 739, 338]);
    assert.equal(f.tokens, 4);
    assert.equal(f.finish, "length");
    assert.deepEqual(f.finishedAt, [4]);
    assert.equal(f.stopString, undefined);
    assert.equal(f.promptTokens, 6);
    assert.equal(f.generatedTokens, 4);
    assert.ok(f.timings);
    assert.equal(f.timings.source, "llama.cpp");
    assert.equal(f.timings.prefillMs, 38.214);
    assert.equal(f.timings.decodeMs, 52.901);
    assert.equal(f.timings.perTokenMs, 13.225);
    assert.equal(f.timings.promptTokens, 6);
    assert.equal(f.timings.generatedTokens, 4);
    assert.deepEqual(f.errors, []);
  });

  test("end of generation: eos; the end token counts and gives its id but no text", () => {
    const events = dataEvents(LLAMA_EOS);
    const f = fold(llamaCppProtocol, events);
    assert.equal(f.text, " Paris.");
    assert.deepEqual(f.tokenIds, [3681, 29889, 2]);
    assert.equal(f.finish, "eos");
    assert.equal(f.stopString, undefined);
    assert.equal(f.generatedTokens, 3);
    const end = llamaCppProtocol.read(events[2]);
    assert.deepEqual({ text: end.text, tokens: end.tokens, tokenIds: end.tokenIds }, { text: "", tokens: 1, tokenIds: [2] });
    // The last chunk (content "", tokens []) carries no token.
    assert.equal(llamaCppProtocol.read(events[3]).tokens, 0);
  });

  test("stop word: stop, its stopping_word, and the held-back tokens counted though no text came", () => {
    const f = fold(llamaCppProtocol, dataEvents(LLAMA_WORD));
    assert.equal(f.text, " Paris.");
    assert.deepEqual(f.tokenIds, [3681, 29889, 13, 13]);
    assert.equal(f.tokens, 4);
    assert.equal(f.finish, "stop");
    assert.equal(f.stopString, "\n\n");
    assert.equal(f.generatedTokens, 4);
  });

  test("a chat through its OpenAI route: role chunk empty, usage and timings from the choices-less last chunk", () => {
    const events = dataEvents(LLAMA_CHAT);
    assert.equal(events.length, 5, "[DONE] is not an event");
    const first = llamaCppProtocol.read(events[0]);
    assert.equal(first.text, "");
    assert.equal(first.tokens, 0);
    const f = fold(llamaCppProtocol, events);
    assert.equal(f.text, "Hello there");
    // llama.cpp says "stop" for its end token and for a stop word alike, without stop_reason: read as the model's end.
    assert.equal(f.finish, "eos");
    assert.deepEqual(f.finishedAt, [3]);
    assert.equal(f.promptTokens, 21);
    assert.equal(f.generatedTokens, 3);
    assert.ok(f.timings);
    assert.equal(f.timings.source, "llama.cpp");
    assert.equal(f.timings.prefillMs, 61.5);
    assert.equal(f.timings.decodeMs, 30.2);
  });

  test("an error in the stream becomes `error` with its message; a chunk that is not an object too", () => {
    const e = llamaCppProtocol.read(JSON.parse(LLAMA_STREAM_ERROR));
    assert.equal(e.error, "Failed to decode the batch: KV cache is full");
    assert.equal(e.text, "");
    assert.equal(e.finish, undefined);
    assert.match(llamaCppProtocol.read([1, 2]).error ?? "", /not a JSON object/);
    assert.match(llamaCppProtocol.read("text").error ?? "", /not a JSON object/);
  });
});

describe("vLLM: read() on its OpenAI-compatible streams", () => {
  test("completions ended by a stop string: stop, the string from stop_reason, counts from the usage chunk", () => {
    const events = dataEvents(VLLM_STOP_STRING);
    const f = fold(openAiProtocol, events);
    assert.equal(f.text, " Paris.");
    assert.equal(f.finish, "stop");
    assert.equal(f.stopString, "\n\n");
    assert.deepEqual(f.finishedAt, [2]);
    assert.equal(f.promptTokens, 6);
    assert.equal(f.generatedTokens, 4);
    assert.equal(f.timings, undefined, "vLLM sends no timings without per-request metrics");
    assert.equal(f.tokens, 2, "one per chunk with text");
    assert.deepEqual(f.errors, []);
  });

  test("completions ended by max_tokens: length, the last chunk's text kept", () => {
    const f = fold(openAiProtocol, dataEvents(VLLM_LENGTH));
    assert.equal(f.text, " Paris. It");
    assert.equal(f.finish, "length");
    assert.equal(f.stopString, undefined);
    assert.equal(f.generatedTokens, 3);
  });

  test("stop_reason an end token id (128009): eos, no stop string", () => {
    const f = fold(openAiProtocol, dataEvents(VLLM_STOP_TOKEN));
    assert.equal(f.finish, "eos");
    assert.equal(f.stopString, undefined);
  });

  test("chat: the role chunk gives nothing, the deltas the text, finish and usage as sent", () => {
    const events = dataEvents(VLLM_CHAT);
    const role = openAiProtocol.read(events[0]);
    assert.deepEqual([role.text, role.tokens, role.finish, role.error], ["", 0, undefined, undefined]);
    const f = fold(openAiProtocol, events);
    assert.equal(f.text, "Bonjour à vous");
    assert.equal(f.tokens, 3);
    assert.equal(f.finish, "length");
    assert.equal(f.promptTokens, 14);
    assert.equal(f.generatedTokens, 3);
  });

  test("an error in the stream becomes `error`", () => {
    const e = openAiProtocol.read(JSON.parse(VLLM_STREAM_ERROR));
    assert.match(e.error ?? "", /longer than the maximum model length of 8192/);
    assert.equal(e.finish, undefined);
  });
});

describe("TGI: read() on /generate_stream", () => {
  test("end token: eos; it is counted and its id kept, its special text not shown", () => {
    const events = dataEvents(TGI_EOS);
    const f = fold(tgiProtocol, events);
    assert.equal(f.text, " Paris.");
    assert.deepEqual(f.tokenIds, [3681, 29889, 2]);
    assert.equal(f.tokens, 3);
    assert.equal(f.finish, "eos");
    assert.deepEqual(f.finishedAt, [2]);
    assert.equal(f.generatedTokens, 3);
    assert.deepEqual(f.errors, []);
  });

  test("max_new_tokens: length, the last token's text kept", () => {
    const f = fold(tgiProtocol, dataEvents(TGI_LENGTH));
    assert.equal(f.text, " Paris. It");
    assert.equal(f.finish, "length");
    assert.equal(f.generatedTokens, 3);
  });

  test("stop sequence: stop", () => {
    const f = fold(tgiProtocol, dataEvents(TGI_STOP));
    assert.equal(f.text, " Paris.\n");
    assert.equal(f.finish, "stop");
  });

  test("its error event becomes `error`", () => {
    const e = tgiProtocol.read(JSON.parse(TGI_STREAM_ERROR));
    assert.equal(e.error, "Request failed during generation: Server error: CUDA out of memory.");
    assert.equal(e.tokens, 0);
    assert.equal(e.finish, undefined);
  });

  test(
    "the prompt's length (details.input_length) is read as promptTokens",
    () => {
      const f = fold(tgiProtocol, dataEvents(TGI_EOS));
      assert.equal(f.promptTokens, 5);
    },
  );

  test("a chat through its Messages API: its 'stop' (end token) reads as eos", () => {
    const f = fold(tgiProtocol, dataEvents(TGI_CHAT_EOS));
    assert.equal(f.text, "Hi");
    assert.equal(f.finish, "eos");
  });

  test(
    "a chat through its Messages API ended by a stop sequence reads as stop",
    () => {
      const f = fold(tgiProtocol, dataEvents(TGI_CHAT_STOP_SEQUENCE));
      assert.equal(f.finish, "stop");
    },
  );
});

// ---------------------------------------------------------------------------
// call()
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// startCall against local servers
// ---------------------------------------------------------------------------

const servers: Server[] = [];
const agents: Agent[] = [];

after(async () => {
  for (const a of agents) a.destroy();
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<URL> {
  const server = createServer((req, res) => {
    // Read the request through, so its 'end' comes before we answer.
    req.resume();
    req.on("end", () => handler(req, res));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
}

function agent(): Agent {
  const a = new Agent({ keepAlive: true });
  agents.push(a);
  return a;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes each piece as its own chunk, a little apart so that each arrives in its own read. */
async function writePieces(res: ServerResponse, pieces: readonly Buffer[], gapMs = 2): Promise<void> {
  res.writeHead(200, { "content-type": "text/event-stream" });
  res.flushHeaders();
  for (const p of pieces) {
    res.write(p);
    await sleep(gapMs);
  }
  res.end();
}

function cut(text: string, at: readonly number[]): Buffer[] {
  const bytes = Buffer.from(text, "utf8");
  const points = [...new Set(at)].filter((p) => p > 0 && p < bytes.length).sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    pieces.push(bytes.subarray(from, p));
    from = p;
  }
  pieces.push(bytes.subarray(from));
  return pieces;
}

interface Outcome {
  events: unknown[];
  ended: boolean;
  failure?: BackendFailure;
  /** Handler calls after the first end or failure (must be none). */
  late: string[];
}

function call(base: URL, hop: HopTrace, options: Partial<CallOptions> = {}, path = "completion"): { done: Promise<Outcome>; abort: () => void } {
  const out: Outcome = { events: [], ended: false, late: [] };
  let settle!: (o: Outcome) => void;
  const done = new Promise<Outcome>((resolve) => (settle = resolve));
  let finished = false;
  const abort = startCall(
    new URL(path, base),
    { prompt: "x", stream: true },
    hop,
    {
      event: (data) => (finished ? out.late.push("event") : out.events.push(data)),
      end: () => {
        if (finished) return void out.late.push("end");
        finished = true;
        out.ended = true;
        settle(out);
      },
      failed: (err) => {
        if (finished) return void out.late.push("failed");
        finished = true;
        out.failure = err;
        settle(out);
      },
    },
    { agent: options.agent ?? agent(), headers: options.headers ?? {}, firstByteTimeoutMs: options.firstByteTimeoutMs ?? 2000, idleTimeoutMs: options.idleTimeoutMs ?? 2000 },
  );
  return { done, abort };
}

function hopOrder(hop: HopTrace): number[] {
  const t = [HopPoint.connected, HopPoint.sent, HopPoint.first_byte, HopPoint.last_byte].map((p) => hop.marks.get(p));
  for (const v of t) assert.ok(Number.isFinite(v), `hop marks ${t.join(", ")}`);
  for (let i = 1; i < t.length; i++) assert.ok(t[i - 1] <= t[i], `hop marks out of order: ${t.join(", ")}`);
  return t;
}

describe("startCall: one streamed call", () => {
  test("SSE cut anywhere (mid-JSON, between \\r and \\n, inside a UTF-8 character) arrives whole; hop marks set in order", async () => {
    // llama.cpp's stream with CRLF line ends, a comment and a multi-byte character.
    const body = (": ping\r\n\r\n" + LLAMA_LIMIT.replace(" It", " Ça")).replaceAll("\n", "\r\n").replaceAll("\r\r\n", "\r\n");
    const bytes = Buffer.from(body, "utf8");
    const jsonMid = body.indexOf(`"tokens":[3681]`) + 5;
    const crAt = Buffer.byteLength(body.slice(0, body.indexOf("\r\n", 20) + 1));
    const cedilla = Buffer.byteLength(body.slice(0, body.indexOf("Ç"))) + 1; // between the two bytes of "Ç"
    const pieces = cut(body, [3, 9, jsonMid, crAt, cedilla, bytes.length - 1]);
    assert.ok(pieces.length >= 6);
    const base = await serve((_req, res) => void writePieces(res, pieces));
    const hop = new HopTrace("x", "test", base.href);
    const { done } = call(base, hop);
    const out = await done;
    assert.equal(out.failure, undefined, out.failure?.message);
    assert.ok(out.ended);
    assert.deepEqual(out.events, dataEvents(LLAMA_LIMIT.replace(" It", " Ça")));
    assert.equal(fold(llamaCppProtocol, out.events).text, " Paris. Ça is");
    hopOrder(hop);
    assert.deepEqual(out.late, []);
  });

  test("every recorded stream read through startCall gives what reading it directly gives", async () => {
    const bodies = [LLAMA_LIMIT, LLAMA_EOS, LLAMA_WORD, LLAMA_CHAT, VLLM_STOP_STRING, VLLM_CHAT, TGI_EOS, TGI_STOP];
    let current = "";
    const base = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(current);
    });
    const a = agent();
    for (const body of bodies) {
      current = body;
      const out = await call(base, new HopTrace("x", "test", base.href), { agent: a }).done;
      assert.ok(out.ended, out.failure?.message);
      assert.deepEqual(out.events, dataEvents(body));
    }
  });

  test("a 500 with an OpenAI error body fails with its status, not started, and its message", async () => {
    const base = await serve((_req, res) => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "boom", type: "server_error", code: 500 } }));
    });
    const hop = new HopTrace("x", "test", base.href);
    const out = await call(base, hop).done;
    assert.ok(out.failure instanceof BackendFailure);
    assert.equal(out.failure.status, 500);
    assert.equal(out.failure.started, false);
    assert.match(out.failure.message, /500.*boom/);
    assert.deepEqual(out.events, []);
    assert.ok(Number.isFinite(hop.marks.get(HopPoint.first_byte)));
  });

  test("TGI's 422 body {error, error_type} and a plain-text 503 give their messages", async () => {
    const base = await serve((req, res) => {
      if (req.url === "/tgi") {
        res.writeHead(422, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "Input validation error: `top_p` must be > 0.0 and < 1.0", error_type: "validation" }));
      } else {
        res.writeHead(503, { "content-type": "text/plain" });
        res.end("  Loading model  \n");
      }
    });
    const tgi = (await call(base, new HopTrace("x", "test", base.href), {}, "tgi").done).failure;
    assert.equal(tgi?.status, 422);
    assert.equal(tgi?.message, "the backend answered 422: Input validation error: `top_p` must be > 0.0 and < 1.0");
    const plain = (await call(base, new HopTrace("x", "test", base.href), {}, "plain").done).failure;
    assert.equal(plain?.status, 503);
    assert.equal(plain?.message, "the backend answered 503: Loading model");
  });

  test("a backend that never answers fails on the first-byte timeout, not started", async () => {
    const base = await serve(() => {
      // never answers
    });
    const hop = new HopTrace("x", "test", base.href);
    const t0 = performance.now();
    const out = await call(base, hop, { firstByteTimeoutMs: 150, idleTimeoutMs: 5000 }).done;
    const took = performance.now() - t0;
    assert.ok(out.failure);
    assert.equal(out.failure.started, false);
    assert.equal(out.failure.status, undefined);
    assert.match(out.failure.message, /did not answer within 150 ms/);
    assert.ok(took >= 140 && took < 1500, `took ${took} ms`);
    assert.ok(Number.isFinite(hop.marks.get(HopPoint.sent)));
    assert.ok(Number.isNaN(hop.marks.get(HopPoint.first_byte)));
    await sleep(20);
    assert.deepEqual(out.late, []);
  });

  test("a stream that stops sending trips the idle timeout, started, after the events it sent", async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`data: ${llamaPartial(" Paris", 3681, 1)}\n\n`);
      // then silence, the response left open
    });
    const t0 = performance.now();
    const out = await call(base, new HopTrace("x", "test", base.href), { firstByteTimeoutMs: 3000, idleTimeoutMs: 150 }).done;
    const took = performance.now() - t0;
    assert.ok(out.failure);
    assert.equal(out.failure.started, true);
    assert.equal(out.events.length, 1);
    assert.ok(took >= 140 && took < 2000, `took ${took} ms: the idle timeout (150 ms), not the first-byte one (3000 ms)`);
  });

  test(
    "the idle timeout's failure says it was the idle timeout",
    async () => {
      const base = await serve((_req, res) => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(`data: ${llamaPartial(" Paris", 3681, 1)}\n\n`);
      });
      const out = await call(base, new HopTrace("x", "test", base.href), { firstByteTimeoutMs: 3000, idleTimeoutMs: 100 }).done;
      assert.match(out.failure?.message ?? "", /sent nothing for 100 ms/);
    },
  );

  test("a kept-alive socket is reused: the second call's connected mark is taken at once, marks still in order", async () => {
    const ports: number[] = [];
    const base = await serve((req, res) => {
      ports.push(req.socket.remotePort ?? -1);
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(sse([llamaFinal("eos", "", 1)]));
    });
    const a = agent();
    const first = new HopTrace("x", "test", base.href);
    assert.ok((await call(base, first, { agent: a }).done).ended);
    hopOrder(first);
    const second = new HopTrace("x", "test", base.href);
    const out = await call(base, second, { agent: a }).done;
    assert.ok(out.ended);
    assert.equal(ports.length, 2);
    assert.equal(ports[0], ports[1], "the same socket served both");
    const [connected, sent] = hopOrder(second);
    assert.ok(sent - connected < 50, `connected ${connected}, sent ${sent}`);
  });

  test("an event that is not JSON fails the call, started; abort ends a call with no handler called after", async () => {
    const bad = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(`data: ${llamaPartial("a", 1, 1)}\n\ndata: {"index":0,"content":\n\n`);
    });
    const out = await call(bad, new HopTrace("x", "test", bad.href)).done;
    assert.equal(out.events.length, 1);
    assert.equal(out.failure?.started, true);
    assert.match(out.failure?.message ?? "", /not JSON/);

    let closed!: () => void;
    const serverSawClose = new Promise<void>((resolve) => (closed = resolve));
    const slow = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`data: ${llamaPartial("a", 1, 1)}\n\n`);
      res.on("close", () => closed());
    });
    const c = call(slow, new HopTrace("x", "test", slow.href));
    await sleep(50);
    c.abort();
    await serverSawClose; // the socket is destroyed: a backend frees the slot
    await sleep(20);
    const settled = await Promise.race([c.done.then(() => "settled"), sleep(10).then(() => "open")]);
    assert.equal(settled, "open", "abort calls neither end nor failed");
  });

  test(
    "after an event that is not JSON, the connection is closed (the backend stops generating for nobody)",
    async () => {
      let closed = false;
      let timer: NodeJS.Timeout | undefined;
      const base = await serve((_req, res) => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(`data: {"index":0,"content":\n\n`);
        timer = setInterval(() => res.write(`data: ${llamaPartial("a", 1, 2)}\n\n`), 20);
        res.on("close", () => {
          clearInterval(timer);
          closed = true;
        });
      });
      const out = await call(base, new HopTrace("x", "test", base.href)).done;
      assert.match(out.failure?.message ?? "", /not JSON/);
      await sleep(200);
      clearInterval(timer);
      assert.ok(closed, "the backend's response is still open 200 ms after the call failed");
    },
  );

  test(
    "no event is handed on after the call failed",
    async () => {
      const base = await serve((_req, res) => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.end(`data: {bad\ndata: {"a":1}`);
      });
      const out = await call(base, new HopTrace("x", "test", base.href)).done;
      assert.match(out.failure?.message ?? "", /not JSON/);
      await sleep(20);
      assert.deepEqual(out.late, []);
    },
  );

  test("property: any cut of a valid event stream into chunks gives the same events", async () => {
    let pieces: Buffer[] = [];
    const base = await serve((_req, res) => void writePieces(res, pieces, 1));
    const a = agent();
    const eventArb = fc.record({
      index: fc.nat(3),
      content: fc.string({ unit: "grapheme", maxLength: 8 }),
      tokens: fc.array(fc.nat(200_000), { maxLength: 3 }),
      stop: fc.boolean(),
    }, { noNullPrototype: true });
    const streamArb = fc.record({
      events: fc.array(eventArb, { minLength: 1, maxLength: 6 }),
      crlf: fc.boolean(),
      space: fc.boolean(),
      comment: fc.boolean(),
      done: fc.boolean(),
      trailing: fc.boolean(),
      cuts: fc.array(fc.nat(), { maxLength: 8 }),
    });
    await fc.assert(
      fc.asyncProperty(streamArb, async (s) => {
        const nl = s.crlf ? "\r\n" : "\n";
        let text = s.comment ? `: keep-alive${nl}${nl}` : "";
        text += s.events.map((e) => `data:${s.space ? " " : ""}${JSON.stringify(e)}${nl}${nl}`).join("");
        if (s.done) text += `data: [DONE]${nl}${nl}`;
        if (!s.trailing) text = text.replace(/(\r?\n)+$/, "");
        const length = Buffer.byteLength(text);
        pieces = cut(text, s.cuts.map((c) => 1 + (c % Math.max(1, length - 1))));
        const out = await call(base, new HopTrace("x", "test", base.href), { agent: a }).done;
        assert.equal(out.failure, undefined, out.failure?.message);
        assert.deepEqual(out.events, s.events);
      }),
      { seed: 11, numRuns: 40 },
    );
  });
});

// ---------------------------------------------------------------------------
// RoutingPolicy
// ---------------------------------------------------------------------------

interface Engine extends Candidate {
  healthy: boolean;
}

const engines = (...outstanding: number[]): Engine[] => outstanding.map((n, i) => ({ name: String.fromCharCode(97 + i), outstanding: n, healthy: true }));
const healthyOf = (all: Engine[]): Engine[] => all.filter((e) => e.healthy);

describe("RoutingPolicy", () => {
  test("least-outstanding picks the engine with the fewest, ties to the first listed, and says why", () => {
    const p = new RoutingPolicy("least-outstanding");
    const all = engines(3, 1, 2, 1);
    const c = p.choose(all, all, "k");
    assert.equal(c.engine.name, "b");
    assert.equal(c.reason, "least outstanding (1 of a=3, b=1, c=2, d=1)");
    all[1].outstanding = 5;
    assert.equal(p.choose(all, all, "k").engine.name, "d");
    // Only among the healthy ones.
    all[3].healthy = false;
    assert.equal(p.choose(healthyOf(all), all, "k").engine.name, "c");
  });

  test("one engine: it, as the only engine", () => {
    const all = engines(9);
    for (const name of ["least-outstanding", "round-robin", "affinity"] as const) assert.deepEqual(new RoutingPolicy(name).choose(all, all, "k"), { engine: all[0], reason: "the only engine" });
  });

  test("round-robin takes the healthy ones in turn, whatever their load", () => {
    const p = new RoutingPolicy("round-robin");
    const all = engines(0, 10, 5);
    const names = Array.from({ length: 6 }, () => p.choose(all, all, "k").engine.name);
    assert.deepEqual(names, ["a", "b", "c", "a", "b", "c"]);
    all[1].healthy = false;
    const healthy = healthyOf(all);
    const next = Array.from({ length: 4 }, () => p.choose(healthy, all, "k").engine.name);
    assert.ok(!next.includes("b"));
    assert.deepEqual(new Set(next), new Set(["a", "c"]));
    for (let i = 1; i < next.length; i++) assert.notEqual(next[i], next[i - 1], `alternates: ${next.join(",")}`);
    assert.match(p.choose(healthy, all, "k").reason, /^round-robin, turn \d+$/);
  });

  test("affinity: a key always goes to its engine; keys spread over the engines", () => {
    const p = new RoutingPolicy("affinity");
    const all = engines(0, 0, 0, 0);
    const keys = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    const home = new Map(keys.map((k) => [k, p.choose(all, all, k).engine.name]));
    for (const k of keys) {
      all[0].outstanding += 1; // load does not move a key while its engine is healthy
      const c = p.choose(all, all, k);
      assert.equal(c.engine.name, home.get(k), k);
      assert.equal(c.reason, "affinity: the key's engine");
    }
    assert.ok(new Set(home.values()).size >= 3, `40 keys over 4 engines went to ${[...new Set(home.values())].join(",")}`);
  });

  test("affinity: a key whose engine is down goes to the least loaded healthy one; the others keep theirs", () => {
    const p = new RoutingPolicy("affinity");
    const all = engines(4, 1, 2);
    const keys = Array.from({ length: 30 }, (_, i) => `session-${i}`);
    const home = new Map(keys.map((k) => [k, p.choose(all, all, k).engine]));
    const down = home.get(keys[0])!;
    down.healthy = false;
    const healthy = healthyOf(all);
    const leastHealthy = healthy.reduce((a, b) => (b.outstanding < a.outstanding ? b : a));
    let moved = 0;
    for (const k of keys) {
      const c = p.choose(healthy, all, k);
      assert.ok(c.engine.healthy, `${k} went to unhealthy ${c.engine.name}`);
      if (home.get(k) === down) {
        moved++;
        assert.equal(c.engine, leastHealthy, k);
        assert.equal(c.reason, `affinity: the key's engine ${down.name} is down; least outstanding (${leastHealthy.outstanding})`);
      } else {
        assert.equal(c.engine, home.get(k), `${k} kept its engine`);
      }
    }
    assert.ok(moved >= 1 && moved < keys.length);
    // Back up: its keys come home.
    down.healthy = true;
    assert.equal(p.choose(healthyOf(all), all, keys[0]).engine, down);
  });
});
