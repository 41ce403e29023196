/** Builds the agent's inputs for one step from the scheduled rows. */
import type { RowInput } from "../agent/Agent.js";
import { hasPenalty } from "../agent/Sampling.js";
import type { BatchRow } from "./Step.js";

export function buildStepInputs(batch: readonly BatchRow[]): RowInput[] {
  const inputs = new Array<RowInput>(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const { request: r, tokens, samples } = batch[i];
    const input: RowInput = { row: r.row!, tokens };
    if (samples) {
      const params = r.sampling;
      input.sample = {
        params,
        // One seed per output position: the same request samples the same tokens in any batch.
        seed: (r.seed + r.output.length) >>> 0,
        penaltyTokens: hasPenalty(params) ? r.recentTokens(params.penaltyLastN) : undefined,
        logprob: r.params.logprobs,
        topLogprobs: r.params.topLogprobs,
      };
    }
    inputs[i] = input;
  }
  return inputs;
}
