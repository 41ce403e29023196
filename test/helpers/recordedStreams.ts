/**
 * Streams recorded byte for byte as llama-server, vLLM and TGI write them
 * (SSE; none of vLLM or TGI can run here, so their chunks are written from
 * their sources, named beside each), and a fold of a stream's events as the
 * router puts them together: shared by the protocol tests (read) and the
 * streamed call's tests (startCall).
 */
import type { BackendEvent, BackendProtocol } from "../../src/engines/remote/backendProtocol.js";
import type { BackendTimings } from "../../src/timing/backendTimings.js";

// ---------------------------------------------------------------------------
// Recorded streams. Each is the response body byte for byte as the server
// writes it (SSE), so the same text serves the read() tests and startCall.
// ---------------------------------------------------------------------------

/** The JSON of each `data:` line, [DONE] left out: the test's own reading, independent of BackendCall. */
export function dataEvents(body: string): unknown[] {
  return body
    .split("\n")
    .map((l) => l.replace(/\r$/, ""))
    .filter((l) => l.startsWith("data:") && l.slice(5).trim() !== "[DONE]")
    .map((l) => JSON.parse(l.slice(5)) as unknown);
}

export const sse = (events: readonly string[], done = false): string => events.map((e) => `data: ${e}\n\n`).join("") + (done ? "data: [DONE]\n\n" : "");

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
export const LLAMA_TIMINGS = `{"cache_n":0,"prompt_n":6,"prompt_ms":38.214,"prompt_per_token_ms":6.369,"prompt_per_second":157.01,"predicted_n":4,"predicted_ms":52.901,"predicted_per_token_ms":13.225,"predicted_per_second":75.613}`;
export const llamaFinal = (stopType: string, stoppingWord: string, predicted: number): string =>
  `{"index":0,"content":"","tokens":[],"id_slot":0,"stop":true,"model":"gpt-3.5-turbo","tokens_predicted":${predicted},"tokens_evaluated":6,"generation_settings":{"n_predict":4,"seed":4294967295,"temperature":0.0,"top_k":0,"top_p":1.0,"min_p":0.0,"ignore_eos":false,"stream":true},"prompt":"<s> The capital of France is","has_new_line":false,"truncated":false,"stop_type":"${stopType}","stopping_word":${JSON.stringify(stoppingWord)},"tokens_cached":${6 + predicted - 1},"timings":${LLAMA_TIMINGS}}`;
export const llamaPartial = (content: string, token: number, n: number): string =>
  `{"index":0,"content":${JSON.stringify(content)},"tokens":[${token}],"stop":false,"id_slot":0,"tokens_predicted":${n},"tokens_evaluated":6}`;

/** n_predict 4 reached. */
export const LLAMA_LIMIT = sse([llamaPartial(" Paris", 3681, 1), llamaPartial(".", 29889, 2), llamaPartial(" It", 739, 3), llamaPartial(" is", 338, 4), llamaFinal("limit", "", 4)]);
/** The end-of-generation token: its text is not rendered (special), its id is sent. */
export const LLAMA_EOS = sse([llamaPartial(" Paris", 3681, 1), llamaPartial(".", 29889, 2), llamaPartial("", 2, 3), llamaFinal("eos", "", 3)]);
/**
 * Stop word "\n\n": the first "\n" is held back as a possible start of it
 * (content "" but its token sent), the second completes it; neither is sent as
 * text (server-context.cpp process_token: text_to_send "" when !send_text).
 */
export const LLAMA_WORD = sse([llamaPartial(" Paris", 3681, 1), llamaPartial(".", 29889, 2), llamaPartial("", 13, 3), llamaPartial("", 13, 4), llamaFinal("word", "\n\n", 4)]);

// llama.cpp's OpenAI route, POST /v1/chat/completions with stream_options.include_usage
// (server-task.cpp): partials from to_json_oaicompat_chat (the first token
// also sends {"role":"assistant","content":null}), the final from
// to_json_oaicompat_chat_stream: finish_reason "stop" for eos and word alike
// (no stop_reason), then, with include_usage, a chunk with choices [] and
// usage, which also carries the timings ("deltas.back()").
export const LLAMA_CHAT = sse(
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
export const LLAMA_STREAM_ERROR = `{"error":{"code":500,"message":"Failed to decode the batch: KV cache is full","type":"server_error"}}`;

// vLLM's OpenAI server, POST /v1/completions with stream and
// stream_options.include_usage (vllm/entrypoints/openai/completion/serving.py,
// completion_stream_generator): each chunk is CompletionStreamResponse dumped
// with exclude_unset, its choice set explicitly (index, text, logprobs,
// finish_reason, stop_reason, prompt_token_ids, token_ids: null when not
// asked); stop_reason names the stop string that matched, or is null for the
// model's end, or an int for a stop token id; the stop string itself is not in
// the text. Then the usage chunk (choices [], usage; exclude_none, so no
// nulls) and [DONE].
export const vllmChunk = (text: string, finish: string | null, stopReason: string | number | null): string =>
  `{"id":"cmpl-9f2c1a","object":"text_completion","created":1718000000,"model":"meta-llama/Llama-3.1-8B","choices":[{"index":0,"text":${JSON.stringify(text)},"logprobs":null,"finish_reason":${JSON.stringify(finish)},"stop_reason":${JSON.stringify(stopReason)},"prompt_token_ids":null,"token_ids":null}]}`;
export const vllmUsage = (prompt: number, completion: number): string =>
  `{"id":"cmpl-9f2c1a","object":"text_completion","created":1718000000,"model":"meta-llama/Llama-3.1-8B","choices":[],"usage":{"prompt_tokens":${prompt},"total_tokens":${prompt + completion},"completion_tokens":${completion}}}`;

export const VLLM_STOP_STRING = sse([vllmChunk(" Paris", null, null), vllmChunk(".", null, null), vllmChunk("", "stop", "\n\n"), vllmUsage(6, 4)], true);
export const VLLM_LENGTH = sse([vllmChunk(" Paris", null, null), vllmChunk(".", null, null), vllmChunk(" It", "length", null), vllmUsage(6, 3)], true);
/** Llama 3's <|eot_id|> is among vLLM's stop token ids: finish "stop", stop_reason 128009 — the model's end, not a stop string. */
export const VLLM_STOP_TOKEN = sse([vllmChunk(" Paris", null, null), vllmChunk(".", "stop", 128009), vllmUsage(6, 3)], true);

// vLLM chat (vllm/entrypoints/openai/chat_completion/serving.py,
// chat_completion_stream_generator): the first chunk is the role with content
// "", the finish chunk carries stop_reason, then the usage chunk and [DONE].
export const vllmChat = (choice: string): string =>
  `{"id":"chatcmpl-77ab","object":"chat.completion.chunk","created":1718000000,"model":"meta-llama/Llama-3.1-8B-Instruct","choices":[${choice}]}`;
export const VLLM_CHAT = sse(
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
export const VLLM_STREAM_ERROR = `{"error":{"message":"The decoder prompt (length 9000) is longer than the maximum model length of 8192.","type":"BadRequestError","param":null,"code":400}}`;

// TGI, POST /generate_stream with parameters.details (router/src/lib.rs
// StreamResponse {index, token: {id, text, logprob, special}, generated_text,
// details}; StreamDetails {finish_reason, generated_tokens, seed,
// input_length}; FinishReason serialized "length" | "eos_token" |
// "stop_sequence"). index counts from 1; generated_text and details are null
// until the last event. axum writes `data:` with no space (valid SSE).
export const tgiToken = (index: number, id: number, text: string, special = false): string =>
  `{"index":${index},"token":{"id":${id},"text":${JSON.stringify(text)},"logprob":-0.${index}1,"special":${special}},"generated_text":null,"details":null}`;
export const tgiLast = (index: number, id: number, text: string, special: boolean, generated: string, finish: string, n: number): string =>
  `{"index":${index},"token":{"id":${id},"text":${JSON.stringify(text)},"logprob":-0.02,"special":${special}},"generated_text":${JSON.stringify(generated)},"details":{"finish_reason":"${finish}","generated_tokens":${n},"seed":null,"input_length":5}}`;
export const tgiSse = (events: readonly string[]): string => events.map((e) => `data:${e}\n\n`).join("");

export const TGI_EOS = tgiSse([tgiToken(1, 3681, " Paris"), tgiToken(2, 29889, "."), tgiLast(3, 2, "</s>", true, " Paris.", "eos_token", 3)]);
export const TGI_LENGTH = tgiSse([tgiToken(1, 3681, " Paris"), tgiToken(2, 29889, "."), tgiLast(3, 739, " It", false, " Paris. It", "length", 3)]);
/** TGI keeps the stop sequence in the text. */
export const TGI_STOP = tgiSse([tgiToken(1, 3681, " Paris"), tgiToken(2, 29889, "."), tgiLast(3, 13, "\n", false, " Paris.\n", "stop_sequence", 3)]);
// TGI's error event mid-stream (router/src/server.rs: Event::from(InferError) → ErrorResponse {error, error_type}).
export const TGI_STREAM_ERROR = `{"error":"Request failed during generation: Server error: CUDA out of memory.","error_type":"generation"}`;

// TGI's Messages API stream (router/src/lib.rs ChatCompletionChunk; the finish
// reason is details.finish_reason.format(true): EndOfSequenceToken → "stop",
// StopSequence stays "stop_sequence", Length "length").
export const tgiChat = (content: string, finish: string | null): string =>
  `{"object":"chat.completion.chunk","id":"","created":1718000000,"model":"tgi","system_fingerprint":"3.0.1-native","choices":[{"index":0,"delta":{"role":"assistant","content":${JSON.stringify(content)}},"logprobs":null,"finish_reason":${JSON.stringify(finish)}}],"usage":null}`;
export const TGI_CHAT_STOP_SEQUENCE = sse([tgiChat("Hi", null), tgiChat("\n", "stop_sequence")], true);
export const TGI_CHAT_EOS = sse([tgiChat("Hi", null), tgiChat("", "stop")], true);

// ---------------------------------------------------------------------------

export interface Folded {
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
export function fold(p: BackendProtocol, events: readonly unknown[]): Folded {
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
