/**
 * TGI's request body: {"inputs", "parameters": {...}}, with TGI's parameter
 * names, types and defaults. Values of the wrong type are errors (422, as TGI).
 * Parameters this engine cannot honour are refused rather than ignored.
 */
import type { GenerationRequest } from "../../../master/GenerationRequest.js";
import { badParam } from "../../httpErrors.js";
import { boolean, integer, number, objectAt, or, stopList, string } from "../values.js";

export interface TgiRequest {
  generation: Omit<GenerationRequest, "id">;
  details: boolean;
  decoderInputDetails: boolean;
  returnFullText: boolean;
  inputs: string;
  /** Report the seed: when sampling (TGI reports none for greedy decoding) or when the client gave one. */
  showSeed: boolean;
}

/** TGI's default when max_new_tokens is not given (shrunk to what fits the context). */
const DEFAULT_MAX_NEW_TOKENS = 100;
export const TGI_MAX_STOP = 4;

/**
 * The engine's parameter names as a client of a TGI-shaped body ({"inputs",
 * "parameters"}: TGI's and llm-serving's) sent them: its refusals name them
 * so, as the parsers' do.
 */
export const TGI_BODY_NAMES: Readonly<Record<string, string>> = {
  prompt: "inputs",
  max_new_tokens: "parameters.max_new_tokens",
  top_logprobs: "parameters.top_n_tokens",
  seed: "parameters.seed",
  truncate: "parameters.truncate",
  temperature: "parameters.temperature",
  top_k: "parameters.top_k",
  top_p: "parameters.top_p",
  repetition_penalty: "parameters.repetition_penalty",
  frequency_penalty: "parameters.frequency_penalty",
  stop: "parameters.stop",
};

function unsupported(p: Record<string, unknown>, key: string, allowed: (v: unknown) => boolean, why: string): void {
  if (p[key] !== undefined && p[key] !== null && !allowed(p[key])) throw badParam(`parameters.${key}`, why);
}

export function parseTgiBody(body: unknown): TgiRequest {
  const b = objectAt(body, "body");
  const inputs = string(b.inputs, "inputs");
  if (inputs.length === 0) throw badParam("inputs", "is empty");
  const p = objectAt(b.parameters, "parameters", true);
  const name = (k: string): string => `parameters.${k}`;
  unsupported(p, "best_of", (v) => v === 1, "only best_of 1 is supported");
  unsupported(p, "typical_p", (v) => v === 1, "typical sampling is not supported by this server");
  unsupported(p, "watermark", (v) => v === false, "watermarking is not supported by this server");
  unsupported(p, "grammar", () => false, "grammars are not supported by this server");
  unsupported(p, "adapter_id", () => false, "adapters are not supported by this server");

  const doSample = or(p.do_sample, boolean, name("do_sample"), false);
  const maxNewTokens = p.max_new_tokens === undefined || p.max_new_tokens === null ? undefined : integer(p.max_new_tokens, name("max_new_tokens"));
  const temperature = or(p.temperature, number, name("temperature"), 1.0);
  if (temperature <= 0) throw badParam(name("temperature"), "must be strictly positive");
  const topK = or(p.top_k, integer, name("top_k"), 0);
  if (p.top_k !== undefined && p.top_k !== null && topK <= 0) throw badParam(name("top_k"), "must be strictly positive");
  const topP = or(p.top_p, number, name("top_p"), 1.0);
  if (topP <= 0 || topP > 1) throw badParam(name("top_p"), "must be > 0 and ≤ 1");
  const repetitionPenalty = or(p.repetition_penalty, number, name("repetition_penalty"), 1.0);
  if (repetitionPenalty <= 0) throw badParam(name("repetition_penalty"), "must be strictly positive");
  const truncate = p.truncate === undefined || p.truncate === null ? undefined : integer(p.truncate, name("truncate"));
  if (truncate !== undefined && truncate <= 0) throw badParam(name("truncate"), "must be strictly positive");
  const details = or(p.details, boolean, name("details"), false);
  const topN = or(p.top_n_tokens, integer, name("top_n_tokens"), 0);
  // Any sampling parameter turns sampling on, as in TGI.
  const sampling = doSample || p.temperature != null || p.top_k != null || (p.top_p != null && topP < 1);

  return {
    inputs,
    details,
    decoderInputDetails: or(p.decoder_input_details, boolean, name("decoder_input_details"), false),
    returnFullText: or(p.return_full_text, boolean, name("return_full_text"), false),
    generation: {
      prompt: inputs,
      truncate,
      maxNewTokens: maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS,
      fitContext: maxNewTokens === undefined,
      sampling: {
        temperature: sampling ? temperature : 0,
        topK: sampling ? topK : 0,
        topP: sampling ? topP : 1,
        repetitionPenalty,
        frequencyPenalty: or(p.frequency_penalty, number, name("frequency_penalty"), 0),
      },
      seed: p.seed === undefined || p.seed === null ? undefined : integer(p.seed, name("seed")),
      stop: p.stop === undefined || p.stop === null ? [] : stopList(p.stop, name("stop"), TGI_MAX_STOP),
      ignoreEos: or(p.ignore_eos, boolean, name("ignore_eos"), false),
      logprobs: details,
      topLogprobs: topN,
    },
    showSeed: sampling || (p.seed !== undefined && p.seed !== null),
  };
}
