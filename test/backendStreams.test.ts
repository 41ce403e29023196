/**
 * Each backend protocol's reading of one stream event (read), on streams
 * written exactly as llama-server, vLLM and TGI send them
 * (helpers/recordedStreams.ts). Some tests name a defect a review found
 * (each failed before its fix).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { llamaCppProtocol } from "../src/engines/remote/llamaCppProtocol.js";
import { openAiProtocol } from "../src/engines/remote/openAiProtocol.js";
import { tgiProtocol } from "../src/engines/remote/tgiProtocol.js";
import {
  dataEvents,
  fold,
  LLAMA_CHAT,
  LLAMA_EOS,
  LLAMA_LIMIT,
  LLAMA_STREAM_ERROR,
  LLAMA_WORD,
  TGI_CHAT_EOS,
  TGI_CHAT_STOP_SEQUENCE,
  TGI_EOS,
  TGI_LENGTH,
  TGI_STOP,
  TGI_STREAM_ERROR,
  VLLM_CHAT,
  VLLM_LENGTH,
  VLLM_STOP_STRING,
  VLLM_STOP_TOKEN,
  VLLM_STREAM_ERROR,
} from "./helpers/recordedStreams.js";

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
