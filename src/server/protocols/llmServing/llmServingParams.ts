/**
 * MindSpore llm-serving's request body and parameters: its defaults, its
 * value coercion ("False", "0.8") and its clamping, kept for compatibility.
 * It accepted and ignored seed, stop and repetition_penalty; here they work.
 * Its default seed 0 is not kept: with seeds honoured it would make every
 * unseeded sample the same text, which the original (ignoring it) never did;
 * an unseeded request gets a random seed, reported in its response.
 * truncate, typical_p, watermark and decoder_input_details are accepted and
 * ignored, as there.
 */
import type { GenerationRequest } from "../../../master/GenerationRequest.js";
import { badParam } from "../../httpErrors.js";
import { lenientBoolean, lenientInteger, lenientNumber, objectAt, or, stopList, string } from "../values.js";

/** The most stop strings a request may give. */
export const LLM_SERVING_MAX_STOP = 16;

export interface LlmServingRequest {
  generation: Omit<GenerationRequest, "id">;
  stream: boolean | undefined;
  returnFullText: boolean;
  /** "sse" writes raw JSON lines; anything else writes `data:` lines. */
  returnProtocol: string;
  details: boolean;
}

const DEFAULT_MAX_NEW_TOKENS = 300;

export function parseLlmServingBody(body: unknown, vocabSize: number): LlmServingRequest {
  const b = objectAt(body, "body");
  const inputs = string(b.inputs, "inputs");
  if (inputs.length === 0) throw badParam("inputs", "is empty");
  const p = objectAt(b.parameters, "parameters", true);
  const name = (k: string): string => `parameters.${k}`;

  let doSample = or(p.do_sample, lenientBoolean, name("do_sample"), true);
  let temperature = or(p.temperature, lenientNumber, name("temperature"), 1.0);
  if (temperature <= 1e-5 || temperature > 65536) {
    temperature = 1;
    doSample = false;
  }
  let topK = or(p.top_k, lenientInteger, name("top_k"), 3);
  if (topK <= 0 || topK >= vocabSize) topK = 1;
  let topP = or(p.top_p, lenientNumber, name("top_p"), 1.0);
  if (topP <= 0) topP = 0.01;
  if (topP > 1) topP = 1;
  const maxNewTokens = p.max_new_tokens === undefined || p.max_new_tokens === null ? undefined : lenientInteger(p.max_new_tokens, name("max_new_tokens"));
  const details = or(p.details, lenientBoolean, name("details"), false);
  const topN = or(p.top_n_tokens, lenientInteger, name("top_n_tokens"), 0);

  return {
    stream: b.stream === undefined || b.stream === null ? undefined : lenientBoolean(b.stream, "stream"),
    returnFullText: or(p.return_full_text, lenientBoolean, name("return_full_text"), true),
    returnProtocol: or(p.return_protocol, string, name("return_protocol"), "sse"),
    details,
    generation: {
      prompt: inputs,
      maxNewTokens: maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS,
      fitContext: maxNewTokens === undefined,
      sampling: doSample
        ? { temperature, topK, topP, repetitionPenalty: or(p.repetition_penalty, lenientNumber, name("repetition_penalty"), 1.0) }
        : { temperature: 0, repetitionPenalty: or(p.repetition_penalty, lenientNumber, name("repetition_penalty"), 1.0) },
      seed: p.seed === undefined || p.seed === null ? undefined : lenientInteger(p.seed, name("seed")),
      stop: p.stop === undefined || p.stop === null ? [] : stopList(p.stop, name("stop"), LLM_SERVING_MAX_STOP),
      ignoreEos: or(p.ignore_eos, lenientBoolean, name("ignore_eos"), false),
      logprobs: details,
      topLogprobs: topN,
    },
  };
}
