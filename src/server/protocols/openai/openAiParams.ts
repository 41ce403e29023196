/**
 * OpenAI's /v1/completions and /v1/chat/completions request bodies, with the
 * API's defaults. vLLM's extra sampling parameters (top_k, min_p,
 * repetition_penalty, ignore_eos) are accepted too. What this engine cannot
 * do (n > 1, tools, JSON mode, logit_bias, suffix, and vLLM's and
 * llama.cpp's constrained output and stop options) is refused with a 400:
 * answering with text that ignores them would look like success.
 */
import type { GenerationRequest } from "../../../master/GenerationRequest.js";
import type { SamplingParams } from "../../../agent/Sampling.js";
import { badParam } from "../../httpErrors.js";
import { boolean, integer, number, objectAt, or, stopList, type Json } from "../values.js";
import type { ChatMessage } from "../../../engines/ChatTemplate.js";
import { readMessages } from "./chatMessages.js";

export interface OpenAiCommon {
  /** Absent: the served model. */
  model: unknown;
  stream: boolean;
  includeUsage: boolean;
  generation: Omit<GenerationRequest, "id" | "prompt">;
}

export interface CompletionRequest extends OpenAiCommon {
  prompt: string | number[];
  echo: boolean;
  /** Completions' `logprobs`: how many alternatives per token (null = no logprobs). */
  logprobs: number | null;
}

export interface ChatRequest extends OpenAiCommon {
  messages: ChatMessage[];
  logprobs: boolean;
  topLogprobs: number;
}

function refuse(b: Json, key: string, allowed: (v: unknown) => boolean, why: string): void {
  if (b[key] !== undefined && b[key] !== null && !allowed(b[key])) throw badParam(key, why);
}

/** vLLM's and llama.cpp's extensions this engine cannot honour, and the values that ask nothing of it. */
const UNSUPPORTED: ReadonlyArray<[key: string, asksNothing: (v: unknown) => boolean, what: string]> = [
  ["guided_json", () => false, "constrained output (guided_json) is not supported by this server"],
  ["guided_regex", () => false, "constrained output (guided_regex) is not supported by this server"],
  ["guided_choice", () => false, "constrained output (guided_choice) is not supported by this server"],
  ["guided_grammar", () => false, "constrained output (guided_grammar) is not supported by this server"],
  ["structured_outputs", () => false, "constrained output (structured_outputs) is not supported by this server"],
  ["grammar", (v) => v === "", "grammars are not supported by this server"],
  ["json_schema", () => false, "JSON schemas are not supported by this server"],
  ["min_tokens", (v) => v === 0, "min_tokens is not supported by this server (only 0)"],
  ["stop_token_ids", (v) => Array.isArray(v) && v.length === 0, "stop_token_ids is not supported by this server: use stop strings"],
  ["include_stop_str_in_output", (v) => v === false, "include_stop_str_in_output is not supported by this server (the stop string is never included)"],
];

function common(b: Json, maxTokens: number | undefined, defaultMaxTokens: number | undefined): OpenAiCommon {
  for (const [key, asksNothing, what] of UNSUPPORTED) refuse(b, key, asksNothing, what);
  refuse(b, "n", (v) => v === 1, "only n = 1 is supported");
  refuse(b, "best_of", (v) => v === 1, "only best_of = 1 is supported");
  refuse(b, "logit_bias", (v) => typeof v === "object" && Object.keys(v as object).length === 0, "logit_bias is not supported by this server");
  const streamOptions = objectAt(b.stream_options, "stream_options", true);
  const sampling: Partial<SamplingParams> = {
    temperature: or(b.temperature, number, "temperature", 1),
    topP: or(b.top_p, number, "top_p", 1),
    // -1 is vLLM's way of saying "off".
    topK: b.top_k === -1 ? 0 : or(b.top_k, integer, "top_k", 0),
    minP: or(b.min_p, number, "min_p", 0),
    repetitionPenalty: or(b.repetition_penalty, number, "repetition_penalty", 1),
    frequencyPenalty: or(b.frequency_penalty, number, "frequency_penalty", 0),
    presencePenalty: or(b.presence_penalty, number, "presence_penalty", 0),
  };
  if (sampling.topK! < 0) throw badParam("top_k", "must be ≥ 0 (0 or -1 = off)");
  return {
    model: b.model,
    stream: or(b.stream, boolean, "stream", false),
    includeUsage: or(streamOptions.include_usage, boolean, "stream_options.include_usage", false),
    generation: {
      maxNewTokens: maxTokens ?? defaultMaxTokens ?? Number.MAX_SAFE_INTEGER,
      fitContext: maxTokens === undefined,
      sampling,
      seed: b.seed === undefined || b.seed === null ? undefined : integer(b.seed, "seed"),
      stop: b.stop === undefined || b.stop === null ? [] : stopList(b.stop, "stop", 4),
      ignoreEos: or(b.ignore_eos, boolean, "ignore_eos", false),
    },
  };
}

function maxTokensOf(b: Json, ...keys: string[]): number | undefined {
  for (const key of keys) if (b[key] !== undefined && b[key] !== null) return integer(b[key], key);
  return undefined;
}

function readPrompt(value: unknown): string | number[] {
  const one = Array.isArray(value) && value.length === 1 && (typeof value[0] === "string" || Array.isArray(value[0])) ? value[0] : value;
  if (typeof one === "string") return one;
  if (Array.isArray(one) && one.every((t) => typeof t === "number")) return one as number[];
  if (Array.isArray(one)) throw badParam("prompt", "one prompt per request: a string or a list of token ids");
  throw badParam("prompt", "is required: a string or a list of token ids");
}

export function parseCompletionBody(body: unknown): CompletionRequest {
  const b = objectAt(body, "body");
  refuse(b, "suffix", (v) => v === "", "suffix is not supported by this server");
  // The API's default max_tokens for completions is 16.
  const c = common(b, maxTokensOf(b, "max_tokens"), 16);
  const logprobs = b.logprobs === undefined || b.logprobs === null ? null : integer(b.logprobs, "logprobs");
  if (logprobs !== null && (logprobs < 0 || logprobs > 5)) throw badParam("logprobs", "must be in [0, 5]");
  c.generation.logprobs = logprobs !== null;
  c.generation.topLogprobs = logprobs ?? 0;
  return { ...c, prompt: readPrompt(b.prompt), echo: or(b.echo, boolean, "echo", false), logprobs };
}

export function parseChatBody(body: unknown): ChatRequest {
  const b = objectAt(body, "body");
  refuse(b, "tools", (v) => Array.isArray(v) && v.length === 0, "tools are not supported by this server");
  refuse(b, "functions", (v) => Array.isArray(v) && v.length === 0, "functions are not supported by this server");
  // With no tools, "none" and "auto" ask for nothing; naming a function or "required" asks for a call this server cannot make.
  refuse(b, "tool_choice", (v) => v === "none" || v === "auto", "tool calls are not supported by this server");
  refuse(b, "function_call", (v) => v === "none" || v === "auto", "function calls are not supported by this server");
  refuse(b, "response_format", (v) => (v as { type?: unknown })?.type === "text", "only the text response format is supported");
  // No default limit for chat: generate until the end token or the context is full.
  const c = common(b, maxTokensOf(b, "max_completion_tokens", "max_tokens"), undefined);
  const logprobs = or(b.logprobs, boolean, "logprobs", false);
  const topLogprobs = or(b.top_logprobs, integer, "top_logprobs", 0);
  if (topLogprobs > 0 && !logprobs) throw badParam("top_logprobs", "needs logprobs: true");
  c.generation.logprobs = logprobs;
  c.generation.topLogprobs = topLogprobs;
  return { ...c, messages: readMessages(b.messages), logprobs, topLogprobs };
}
