/**
 * Per-row sampling parameters and their translation to the native sampler's
 * config. llama.cpp builds the sampler chain per row, so
 * every row in a batch is sampled with its own parameters.
 */
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

/** How many recent tokens the penalties look at when none are given (node-llama-cpp's and llama.cpp's 64). */
const DEFAULT_PENALTY_WINDOW = 64;

/**
 * The native sampler's config for one token, as node-llama-cpp 3.21.1 builds
 * it for the same options (LlamaContextSequence._resolveSamplerConfig), so
 * that the tokens are the same as through its evaluate calls. `seed` is the
 * seed for this one token: callers derive it from the request's seed and the
 * token's index, so the same request samples the same tokens whatever else
 * shares its batch.
 */
export function samplerConfig(p: SamplingParams, seed: number, penaltyTokens: readonly number[] | undefined): Record<string, unknown> & { seed: number } {
  // The native sampler takes the seed as a uint32: reduced here, so that RowSampler compares what llama.cpp will use.
  const whole = Number.isFinite(seed) ? Math.max(0, Math.floor(seed)) : Math.floor(Date.now() / 1000);
  const config: Record<string, unknown> & { seed: number } = { temperature: p.temperature, minP: p.minP, topK: p.topK, topP: p.topP, seed: whole % 2 ** 32 };
  const punish = penaltyTokens && hasPenalty(p) ? penaltyTokens : undefined;
  config.repeatPenaltyMaxTokens = Math.max(punish ? p.penaltyLastN : DEFAULT_PENALTY_WINDOW, punish?.length ?? 0);
  if (punish) {
    config.repeatPenalty = p.repetitionPenalty;
    config.repeatPenaltyTokens = Uint32Array.from(punish);
    config.repeatPenaltyPresencePenalty = p.presencePenalty;
    config.repeatPenaltyFrequencyPenalty = p.frequencyPenalty;
  }
  return config;
}
