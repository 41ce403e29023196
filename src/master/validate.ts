/**
 * The one intake pass, as TGI's validate: a GenerationRequest becomes a
 * ValidRequest — every parameter checked, the prompt tokenized (BOS added to
 * text, token ids checked), truncated if asked, and known to fit its row with
 * its final max_new_tokens — or a RequestError naming what is wrong. Nothing
 * changes a ValidRequest afterwards. Protocol parsers keep only their wire
 * rules (defaults, coercion, their own limits).
 */
import { GREEDY, type SamplingParams } from "../agent/Sampling.js";
import { RequestError } from "./errors.js";
import type { GenerationRequest } from "./GenerationRequest.js";
import { shownRange, shownValue } from "./shownValue.js";

export const MAX_STOP_STRINGS = 16;
export const MAX_STOP_LENGTH = 256;
export const MAX_TOP_LOGPROBS = 20;
/**
 * Any whole number JSON carries exactly: clients send 64-bit seeds (vLLM and
 * OpenAI take int64, TGI u64), and a time in ms is common. The samplers use
 * its low 32 bits; the request reports the seed as it was sent.
 */
const MAX_SEED = Number.MAX_SAFE_INTEGER;

export interface ValidRequest {
  /** The tokens fed to the model: BOS (for text, when the model wants one), then the prompt's. */
  readonly prompt: readonly number[];
  readonly maxNewTokens: number;
  readonly sampling: SamplingParams;
  readonly seed: number | undefined;
  readonly stop: readonly string[];
  readonly ignoreEos: boolean;
  readonly eosTokenIds: readonly number[] | undefined;
  readonly logprobs: boolean;
  readonly topLogprobs: number;
}

/** What a request is checked against. */
export interface IntakeLimits {
  vocabSize: number;
  /** Tokens one row holds: prompt + output. */
  rowCapacity: number;
  bosToken: number | null;
  /** The model wants BOS before a text. */
  addBos: boolean;
}

/** Text → token ids: at once for short texts, off the event loop for long ones (see PromptTokenizer). */
export interface IntakeTokenizer {
  /** The fewest tokens a text can become (0 when unknown). */
  minTokens(text: string): number;
  tokenize(text: string, special: boolean): number[] | Promise<ArrayLike<number>>;
}

/**
 * A ValidRequest, or a RequestError. Synchronous when the prompt is
 * (short text, or token ids), so that callers keep their order; a promise
 * while a long prompt is tokenized. `tokenized` is called once the prompt
 * tokens are known or refused.
 */
export function validate(r: GenerationRequest, limits: IntakeLimits, tokenizer: IntakeTokenizer, tokenized?: () => void): ValidRequest | Promise<ValidRequest> {
  const params = validateParams(r, limits);
  let tokens: number[] | Promise<ArrayLike<number>>;
  try {
    tokens = promptTokens(r, limits, tokenizer);
  } catch (err) {
    tokenized?.();
    throw err;
  }
  if (Array.isArray(tokens)) {
    tokenized?.();
    return complete(r, params, tokens, limits);
  }
  return tokens.then(
    (t) => {
      tokenized?.();
      return complete(r, params, t, limits);
    },
    (err: unknown) => {
      tokenized?.();
      throw err;
    },
  );
}

/** Checks everything that does not depend on the prompt (a remote engine's whole intake: its backend tokenizes). */
export function validateParams(r: Omit<GenerationRequest, "prompt">, limits: Pick<IntakeLimits, "vocabSize" | "rowCapacity">): Omit<ValidRequest, "prompt"> {
  const { vocabSize, rowCapacity } = limits;
  const maxNewTokens = r.fitContext ? integerIn("max_new_tokens", r.maxNewTokens, 1, Number.MAX_SAFE_INTEGER) : integerIn("max_new_tokens", r.maxNewTokens, 1, rowCapacity - 1);
  const topLogprobs = r.topLogprobs === undefined ? 0 : integerIn("top_logprobs", r.topLogprobs, 0, MAX_TOP_LOGPROBS);
  const seed = r.seed === undefined ? undefined : integerIn("seed", r.seed, 0, MAX_SEED);
  if (r.eosTokenIds !== undefined) validateTokenIds("eos_token_id", r.eosTokenIds, vocabSize);
  if (r.truncate !== undefined && (!Number.isSafeInteger(r.truncate) || r.truncate < 1)) fail("truncate", `must be a positive integer, got ${shownValue(r.truncate)}`);
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

/** Text → tokens, refused by its length alone when it cannot fit (unless it is to be truncated); token ids checked and copied. */
function promptTokens(r: GenerationRequest, limits: IntakeLimits, tokenizer: IntakeTokenizer): number[] | Promise<ArrayLike<number>> {
  const prompt = r.prompt;
  if (typeof prompt === "string") {
    if (prompt.length === 0) throw new RequestError("invalid_prompt", "prompt: is empty", "prompt");
    const fewest = r.truncate === undefined ? tokenizer.minTokens(prompt) : 0;
    if (fewest >= limits.rowCapacity) {
      throw new RequestError(
        "prompt_too_long",
        `prompt: ${Buffer.byteLength(prompt, "utf8")} bytes make at least ${fewest} tokens, which do not fit the context of ${limits.rowCapacity} tokens per request (prompt + output)`,
        "prompt",
      );
    }
    return tokenizer.tokenize(prompt, r.specialTokens !== false);
  }
  if (!Array.isArray(prompt)) throw new RequestError("invalid_prompt", "prompt: must be a string or a list of token ids", "prompt");
  validateTokenIds("prompt", prompt, limits.vocabSize);
  return prompt.slice();
}

/** The prompt's final tokens and max_new_tokens. */
function complete(r: GenerationRequest, params: Omit<ValidRequest, "prompt">, raw: ArrayLike<number>, limits: IntakeLimits): ValidRequest {
  const { rowCapacity, bosToken } = limits;
  // Token ids are used as given; text gets the model's BOS token (a chat template may already begin with it).
  const bos = typeof r.prompt === "string" && limits.addBos && bosToken !== null && raw[0] !== bosToken ? [bosToken] : [];
  const fit = r.fitContext === true;
  // Refused before it is copied: a long prompt's tokens are a typed array until they are known to fit.
  if (r.truncate === undefined) checkFits(raw.length + bos.length, params.maxNewTokens, rowCapacity, fit);
  const prompt = truncatePrompt(bos.concat(Array.isArray(raw) ? raw : Array.from(raw)), r.truncate, bosToken);
  return { ...params, prompt, maxNewTokens: checkFits(prompt.length, params.maxNewTokens, rowCapacity, fit) };
}

/**
 * prompt + max_new_tokens must fit one row: KV cells are not shared between
 * rows, nor shifted. Returns max_new_tokens, shrunk to what fits when `fit`.
 */
function checkFits(promptTokens: number, maxNewTokens: number, rowCapacity: number, fit: boolean): number {
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

/** Keeps the last `keep` prompt tokens after BOS, as TGI's truncate asks. */
function truncatePrompt(tokens: number[], keep: number | undefined, bos: number | null): number[] {
  if (keep === undefined) return tokens;
  const hasBos = bos !== null && tokens[0] === bos;
  const body = hasBos ? tokens.slice(1) : tokens;
  if (body.length <= keep) return tokens;
  const kept = body.slice(-keep);
  return hasBos ? [bos, ...kept] : kept;
}

function fail(param: string, message: string): never {
  throw new RequestError("invalid_parameter", `${param}: ${message}`, param);
}

function finiteIn(param: string, v: unknown, min: number, max: number, minExclusive = false): number {
  if (typeof v !== "number" || !Number.isFinite(v)) fail(param, `must be a finite number, got ${shownValue(v)}`);
  if (v > max || v < min || (minExclusive && v === min)) fail(param, `must be in ${minExclusive ? "(" : "["}${min}, ${max}], got ${v}`);
  return v;
}

/** `max` Infinity: no bound of ours (a gateway leaves the context and the vocabulary to its backend), and the message gives only `min`. */
function integerIn(param: string, v: unknown, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v)) fail(param, `must be an integer, got ${shownValue(v)}`);
  if (v < min || v > max) fail(param, `must be ${shownRange(min, max)}, got ${v}`);
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
      const range = vocabSize === Infinity ? "non-negative integers" : `integers in [0, ${vocabSize})`;
      throw new RequestError(param === "prompt" ? "invalid_prompt" : "invalid_parameter", `${param}: token ids must be ${range}, got ${shownValue(id)}`, param);
    }
  }
}
