/**
 * OpenAI-compatible servers (vLLM, SGLang, llama.cpp's /v1 routes, TGI's
 * Messages API, our own): /v1/completions for prompts, /v1/chat/completions
 * for chats, both streamed with usage in the last chunk. Parameters beyond
 * OpenAI's (top_k, min_p, repetition_penalty, ignore_eos) are sent only when
 * they differ from "off", since strict servers refuse unknown fields.
 */
import type { FinishReason } from "../../master/GenerationStream.js";
import { fromOpenAiBody } from "../../timing/backendTimings.js";
import { count, isObject, type BackendCallSpec, type BackendEvent, type BackendLoad, type BackendProtocol, type RemoteRequest } from "./backendProtocol.js";

/** The sampling fields of an OpenAI request, with the extensions vLLM and llama.cpp read. */
export function openAiSampling(r: RemoteRequest): Record<string, unknown> {
  const s = r.sampling;
  const body: Record<string, unknown> = { temperature: s.temperature };
  // 1 is everyone's default, and TGI refuses it.
  if (s.topP !== 1) body.top_p = s.topP;
  if (s.frequencyPenalty !== 0) body.frequency_penalty = s.frequencyPenalty;
  if (s.presencePenalty !== 0) body.presence_penalty = s.presencePenalty;
  if (s.topK !== 0) body.top_k = s.topK;
  if (s.minP !== 0) body.min_p = s.minP;
  if (s.repetitionPenalty !== 1) body.repetition_penalty = s.repetitionPenalty;
  if (r.seed !== undefined) body.seed = r.seed;
  if (r.stop.length > 0) body.stop = r.stop;
  if (r.ignoreEos) body.ignore_eos = true;
  return body;
}

export function openAiCall(r: RemoteRequest, model: string | undefined): BackendCallSpec {
  const common = { ...(model ? { model } : {}), max_tokens: r.maxNewTokens, stream: true, stream_options: { include_usage: true }, ...openAiSampling(r) };
  if (r.messages) return { path: "/v1/chat/completions", body: { ...common, messages: r.messages } };
  return { path: "/v1/completions", body: { ...common, prompt: r.prompt } };
}

function finishReason(reason: unknown, stopReason: unknown): FinishReason | undefined {
  if (reason === "length") return "length";
  // vLLM's stop_reason names the stop string that matched; without it "stop" is the model's end.
  if (reason === "stop") return typeof stopReason === "string" ? "stop" : "eos";
  // TGI's Messages API names its reasons as its own stream does.
  if (reason === "stop_sequence") return "stop";
  if (typeof reason === "string") return "eos";
  return undefined;
}

/** One chunk of a completions or chat completions stream. */
export function readOpenAiChunk(chunk: unknown): BackendEvent {
  if (!isObject(chunk)) return { text: "", tokens: 0, error: "the backend sent a chunk that is not a JSON object" };
  if (isObject(chunk.error)) return { text: "", tokens: 0, error: String(chunk.error.message ?? JSON.stringify(chunk.error)) };
  const choice = Array.isArray(chunk.choices) && isObject(chunk.choices[0]) ? chunk.choices[0] : undefined;
  const delta = choice && isObject(choice.delta) ? choice.delta : undefined;
  const text = typeof choice?.text === "string" ? choice.text : typeof delta?.content === "string" ? delta.content : "";
  const event: BackendEvent = { text, tokens: text === "" ? 0 : 1 };
  const finish = choice ? finishReason(choice.finish_reason, choice.stop_reason) : undefined;
  if (finish) {
    event.finish = finish;
    if (finish === "stop") event.stopString = choice!.stop_reason as string;
  }
  if (isObject(chunk.usage)) {
    event.promptTokens = count(chunk.usage.prompt_tokens);
    event.generatedTokens = count(chunk.usage.completion_tokens);
  }
  event.timings = fromOpenAiBody(chunk);
  return event;
}

/** vLLM's Prometheus text: requests running and waiting, and KV use. */
export function readVllmMetrics(text: string): BackendLoad | undefined {
  const sum = (name: string, combine = (a: number, b: number): number => a + b): number | undefined => {
    let total: number | undefined;
    for (const line of text.split("\n")) {
      if (!line.startsWith(name)) continue;
      const rest = line.slice(name.length);
      if (rest[0] !== "{" && rest[0] !== " ") continue;
      const v = Number(line.slice(line.lastIndexOf(" ") + 1));
      if (Number.isFinite(v)) total = total === undefined ? v : combine(total, v);
    }
    return total;
  };
  const load: BackendLoad = { running: sum("vllm:num_requests_running"), waiting: sum("vllm:num_requests_waiting") };
  // A share per engine (data parallel): the fullest one, not their sum.
  const kv = sum("vllm:gpu_cache_usage_perc", Math.max) ?? sum("vllm:kv_cache_usage_perc", Math.max);
  if (kv !== undefined) load.kvUsage = kv;
  return load.running === undefined && load.waiting === undefined ? undefined : load;
}

export const openAiProtocol: BackendProtocol = {
  kind: "openai",
  call: openAiCall,
  read: readOpenAiChunk,
  healthPath: "/health",
  loadPath: "/metrics",
  load: readVllmMetrics,
};
