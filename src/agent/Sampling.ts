/**
 * Per-row sampling parameters and their translation to node-llama-cpp's
 * per-call sampler options. llama.cpp builds the sampler chain per row, so
 * every row in a batch is sampled with its own parameters.
 */
import type { Token } from "node-llama-cpp";

export interface SamplingParams {
  /** 0 = greedy (argmax). */
  temperature: number;
  /** 0 = off. */
  topK: number;
  /** 1 = off. */
  topP: number;
  /** 0 = off. */
  minP: number;
  /** 1 = off. Applied to the last `penaltyLastN` tokens of prompt and output. */
  repetitionPenalty: number;
  /** 0 = off (OpenAI-style additive penalties over the same window). */
  frequencyPenalty: number;
  presencePenalty: number;
  penaltyLastN: number;
}

export const GREEDY: Readonly<SamplingParams> = Object.freeze({
  temperature: 0,
  topK: 0,
  topP: 1,
  minP: 0,
  repetitionPenalty: 1,
  frequencyPenalty: 0,
  presencePenalty: 0,
  penaltyLastN: 64,
});

export function hasPenalty(p: SamplingParams): boolean {
  return p.repetitionPenalty !== 1 || p.frequencyPenalty !== 0 || p.presencePenalty !== 0;
}

export interface SamplerCallOptions {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  seed: number;
  repeatPenalty?: {
    punishTokens: Token[];
    penalty: number;
    frequencyPenalty: number;
    presencePenalty: number;
    maxPunishTokens: number;
  };
}

/**
 * `seed` is the seed for this one token: callers derive it from the request's
 * seed and the token's index, so the same request samples the same tokens
 * whatever else shares its batch.
 */
export function samplerCallOptions(p: SamplingParams, seed: number, penaltyTokens: number[] | undefined): SamplerCallOptions {
  const options: SamplerCallOptions = { temperature: p.temperature, topK: p.topK, topP: p.topP, minP: p.minP, seed };
  if (penaltyTokens && hasPenalty(p)) {
    options.repeatPenalty = {
      punishTokens: penaltyTokens as Token[],
      penalty: p.repetitionPenalty,
      frequencyPenalty: p.frequencyPenalty,
      presencePenalty: p.presencePenalty,
      maxPunishTokens: p.penaltyLastN,
    };
  }
  return options;
}
