/**
 * llama.cpp's server: /completion for prompts (text or token ids), streamed
 * with each chunk's token ids and, in the last chunk, its `timings`; chats go
 * to its OpenAI route, which renders the model's template there. Its sampler
 * defaults are not greedy (temperature 0.8, top_k 40, …), so every sampling
 * field is sent. /slots says which slots are busy.
 */
import type { FinishReason } from "../../master/GenerationStream.js";
import { fromTimingsObject } from "../../timing/backendTimings.js";
import { count, isObject, type BackendCallSpec, type BackendEvent, type BackendLoad, type BackendProtocol, type RemoteRequest } from "./backendProtocol.js";
import { openAiCall, readOpenAiChunk } from "./openAiProtocol.js";

function call(r: RemoteRequest, model: string | undefined): BackendCallSpec {
  if (r.messages) {
    const spec = openAiCall(r, model);
    // llama.cpp's own sampler fields, so that "off" means off there too.
    Object.assign(spec.body, samplingFields(r), { timings_per_token: false });
    return spec;
  }
  return { path: "/completion", body: { prompt: r.prompt, n_predict: r.maxNewTokens, stream: true, return_tokens: true, cache_prompt: true, ...samplingFields(r) } };
}

function samplingFields(r: RemoteRequest): Record<string, unknown> {
  const s = r.sampling;
  const body: Record<string, unknown> = {
    temperature: s.temperature,
    top_k: s.topK,
    top_p: s.topP,
    min_p: s.minP,
    repeat_penalty: s.repetitionPenalty,
    repeat_last_n: s.penaltyLastN,
    frequency_penalty: s.frequencyPenalty,
    presence_penalty: s.presencePenalty,
    stop: r.stop,
    ignore_eos: r.ignoreEos,
  };
  if (r.seed !== undefined) body.seed = r.seed;
  return body;
}

const STOP_TYPES: Record<string, FinishReason> = { eos: "eos", limit: "length", word: "stop" };

function read(chunk: unknown): BackendEvent {
  if (!isObject(chunk)) return { text: "", tokens: 0, error: "the backend sent a chunk that is not a JSON object" };
  // Its OpenAI route's chunks (a chat) have choices.
  if ("choices" in chunk || ("error" in chunk && !("content" in chunk))) return readOpenAiChunk(chunk);
  const text = typeof chunk.content === "string" ? chunk.content : "";
  const ids = Array.isArray(chunk.tokens) ? chunk.tokens.filter((t): t is number => typeof t === "number") : [];
  const event: BackendEvent = { text, tokens: ids.length || (text === "" ? 0 : 1), tokenIds: ids };
  // Every chunk counts the prompt and the tokens so far: the last token is known as it comes.
  event.promptTokens = count(chunk.tokens_evaluated);
  event.generatedTokens = count(chunk.tokens_predicted);
  if (chunk.stop === true) {
    event.finish = STOP_TYPES[String(chunk.stop_type)] ?? "eos";
    if (event.finish === "stop" && typeof chunk.stopping_word === "string") event.stopString = chunk.stopping_word;
    event.timings = fromTimingsObject(chunk.timings);
  }
  return event;
}

/** /slots: one object per slot, is_processing when it runs a request. */
function load(body: string): BackendLoad | undefined {
  let slots: unknown;
  try {
    slots = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!Array.isArray(slots)) return undefined;
  return { running: slots.filter((s) => isObject(s) && s.is_processing === true).length, capacity: slots.length };
}

export const llamaCppProtocol: BackendProtocol = { kind: "llama.cpp", call, read, healthPath: "/health", loadPath: "/slots", load };
