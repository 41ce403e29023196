/**
 * What a caller asks the master for, and its validation: every parameter is
 * checked before anything is queued, and a bad one is named in the error.
 */
import { GREEDY, type SamplingParams } from "../agent/Sampling.js";
import type { RequestTrace } from "../timing/RequestTrace.js";
import { RequestError } from "./errors.js";
import { shownValue } from "./shownValue.js";

export interface GenerationRequest {
  /** Caller's id (for example an HTTP x-request-id); one is made when absent. */
  id?: string;
  /** Text (tokenized by the model, BOS added if the model asks for it) or token ids used as they are. */
  prompt: string | readonly number[];
  /** Most tokens to generate (≥ 1; prompt + max_new_tokens must fit one row). */
  maxNewTokens: number;
  /** Sampling parameters; missing ones are greedy's (temperature 0). */
  sampling?: Partial<SamplingParams>;
  /** Seed for sampling; a random one is chosen (and reported) when absent. */
  seed?: number;
  /** Generation ends before the first occurrence of any of these; the stop string itself is not emitted. */
  stop?: readonly string[];
  /** Keep generating past end-of-generation tokens (benchmarks that need fixed lengths). */
  ignoreEos?: boolean;
  /** End tokens replacing the model's own (llm-serving's end_token). */
  eosTokenIds?: readonly number[];
  /** Report each token's logprob. Off by default: it costs a sort of the vocabulary per token in llama.cpp. */
  logprobs?: boolean;
  /** Also report this many most likely alternatives per token (0–20). */
  topLogprobs?: number;
  /** If prompt + max_new_tokens would not fit the row, generate only what fits (for defaulted limits). */
  fitContext?: boolean;
  /** The text prompt holds special tokens as text (a rendered chat template): parse them as such. */
  specialTokens?: boolean;
  /** Keep only the last `truncate` prompt tokens (after BOS), as TGI's truncate asks. Never done otherwise. */
  truncate?: number;
  /**
   * Where the request's time points go; the caller may make it first, so that
   * a refused request still shows how long its tokenization took.
   */
  trace?: RequestTrace;
  /** Aborted when the caller no longer wants the result (an HTTP client that left): the request is cancelled wherever it is, even while its prompt is tokenized. */
  signal?: AbortSignal;
}

export const MAX_STOP_STRINGS = 16;
export const MAX_STOP_LENGTH = 256;
const MAX_SEED = 0xffffffff;

export interface ValidRequest {
  maxNewTokens: number;
  sampling: SamplingParams;
  seed: number | undefined;
  stop: readonly string[];
  ignoreEos: boolean;
  eosTokenIds: readonly number[] | undefined;
  logprobs: boolean;
  topLogprobs: number;
}

function fail(param: string, message: string): never {
  throw new RequestError("invalid_parameter", `${param}: ${message}`, param);
}

function finiteIn(param: string, v: unknown, min: number, max: number, minExclusive = false): number {
  if (typeof v !== "number" || !Number.isFinite(v)) fail(param, `must be a finite number, got ${shownValue(v)}`);
  if (v > max || v < min || (minExclusive && v === min)) fail(param, `must be in ${minExclusive ? "(" : "["}${min}, ${max}], got ${v}`);
  return v;
}

function integerIn(param: string, v: unknown, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v)) fail(param, `must be an integer, got ${shownValue(v)}`);
  if (v < min || v > max) fail(param, `must be in [${min}, ${max}], got ${v}`);
  return v;
}

function validateSampling(s: Partial<SamplingParams> | undefined, vocabSize: number): SamplingParams {
  const p = { ...GREEDY, ...s };
  return {
    temperature: finiteIn("temperature", p.temperature, 0, 65536),
    topK: integerIn("top_k", p.topK, 0, Math.max(vocabSize, 1)),
    topP: finiteIn("top_p", p.topP, 0, 1, true),
    minP: finiteIn("min_p", p.minP, 0, 1),
    repetitionPenalty: finiteIn("repetition_penalty", p.repetitionPenalty, 0, 10, true),
    frequencyPenalty: finiteIn("frequency_penalty", p.frequencyPenalty, -2, 2),
    presencePenalty: finiteIn("presence_penalty", p.presencePenalty, -2, 2),
    penaltyLastN: integerIn("penalty_last_n", p.penaltyLastN, 0, 4096),
  };
}

function validateStop(stop: unknown): readonly string[] {
  if (stop === undefined) return [];
  if (!Array.isArray(stop)) fail("stop", "must be a list of strings");
  if (stop.length > MAX_STOP_STRINGS) fail("stop", `at most ${MAX_STOP_STRINGS} stop strings, got ${stop.length}`);
  for (const s of stop) {
    if (typeof s !== "string" || s.length === 0 || s.length > MAX_STOP_LENGTH) fail("stop", `each stop string must be a non-empty string of at most ${MAX_STOP_LENGTH} characters`);
  }
  return stop as string[];
}

export function validateTokenIds(param: string, ids: readonly unknown[], vocabSize: number): void {
  for (const id of ids) {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new RequestError(param === "prompt" ? "invalid_prompt" : "invalid_parameter", `${param}: token ids must be integers in [0, ${vocabSize}), got ${shownValue(id)}`, param);
    }
  }
}

/** Checks everything that does not depend on the prompt's length. */
export const MAX_TOP_LOGPROBS = 20;

export function validateRequest(r: GenerationRequest, vocabSize: number, rowCapacity: number): ValidRequest {
  const maxNewTokens = r.fitContext ? integerIn("max_new_tokens", r.maxNewTokens, 1, Number.MAX_SAFE_INTEGER) : integerIn("max_new_tokens", r.maxNewTokens, 1, rowCapacity - 1);
  const topLogprobs = r.topLogprobs === undefined ? 0 : integerIn("top_logprobs", r.topLogprobs, 0, MAX_TOP_LOGPROBS);
  const seed = r.seed === undefined ? undefined : integerIn("seed", r.seed, 0, MAX_SEED);
  if (r.eosTokenIds !== undefined) validateTokenIds("eos_token_id", r.eosTokenIds, vocabSize);
  return {
    maxNewTokens,
    sampling: validateSampling(r.sampling, vocabSize),
    seed,
    stop: validateStop(r.stop),
    ignoreEos: r.ignoreEos === true,
    eosTokenIds: r.eosTokenIds,
    logprobs: r.logprobs === true || topLogprobs > 0,
    topLogprobs,
  };
}

/**
 * prompt + max_new_tokens must fit one row: KV cells are not shared between
 * rows, nor shifted. Returns max_new_tokens, shrunk to what fits when `fit`.
 */
export function checkFits(promptTokens: number, maxNewTokens: number, rowCapacity: number, fit = false): number {
  if (promptTokens === 0) throw new RequestError("invalid_prompt", "prompt: is empty (no tokens)", "prompt");
  if (promptTokens >= rowCapacity) {
    throw new RequestError("prompt_too_long", `prompt: ${promptTokens} tokens do not fit the context of ${rowCapacity} tokens per request (prompt + output)`, "prompt");
  }
  if (fit) return Math.min(maxNewTokens, rowCapacity - promptTokens);
  if (promptTokens + maxNewTokens > rowCapacity) {
    throw new RequestError(
      "invalid_parameter",
      `max_new_tokens: prompt (${promptTokens} tokens) + max_new_tokens (${maxNewTokens}) exceeds the context of ${rowCapacity} tokens per request; at most ${rowCapacity - promptTokens}`,
      "max_new_tokens",
    );
  }
  return maxNewTokens;
}
