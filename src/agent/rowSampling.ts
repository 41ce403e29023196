/**
 * A step's sampling: each sampling row of the batch on its own native sampler,
 * on the libuv pool, after llama_decode has written the logits. Either queued
 * at once behind the decode (one pool thread: jobs run in queue order), or
 * once the decode is back in JS (see Agent.step and libuvPool.ts).
 */
import type { AddonContext } from "./internals.js";
import { samplerConfig } from "./Sampling.js";
import type { RowInput, RowOutput, TokenAlternative } from "./Agent.js";

export function errorOutput(err: unknown): RowOutput {
  return { kind: "error", error: err instanceof Error ? err : new Error(String(err)) };
}

/**
 * Queues every sampling row's sampling at once (`rows`: the batch's rows that
 * sample) and puts each row's token, or its error, in `outputs`. Chained
 * behind the decode, on the one pool thread, they run in order after it, so
 * neither a decode still writing nor the lazy swap below can race them.
 */
export async function sampleAll(addon: AddonContext, inputs: readonly RowInput[], rows: readonly number[], logitIndex: Int32Array, outputs: Array<RowOutput | undefined>): Promise<void> {
  await Promise.all(
    rows.map((i) =>
      sampleRow(addon, inputs[i], logitIndex[i]).then(
        (output) => void (outputs[i] = output),
        (err: unknown) => void (outputs[i] = errorOutput(err)),
      ),
    ),
  );
}

/**
 * Samples once the decode is back in JS, where the pool may have several
 * threads. When llama.cpp computed the outputs in another order than the
 * batch's rows (rows of different lengths), it swaps them back lazily inside
 * the first read of the logits; two rows sampled at once could both run that
 * swap, and one would read the other's logits (about 1 step in 100,
 * measured). So in such a step the first row is sampled before the others.
 */
export async function sampleAfterDecode(addon: AddonContext, inputs: readonly RowInput[], batch: readonly number[], rows: readonly number[], logitIndex: Int32Array, outputs: Array<RowOutput | undefined>): Promise<void> {
  if (rows.length <= 1 || sameLength(inputs, batch)) return sampleAll(addon, inputs, rows, logitIndex, outputs);
  await sampleAll(addon, inputs, rows.slice(0, 1), logitIndex, outputs);
  await sampleAll(addon, inputs, rows.slice(1), logitIndex, outputs);
}

async function sampleRow(addon: AddonContext, input: RowInput, logitIndex: number): Promise<RowOutput> {
  const sample = input.sample!;
  const top = sample.topLogprobs ?? 0;
  const sampler = input.row.sampler.configure(samplerConfig(sample.params, sample.seed, sample.penaltyTokens));
  const [token, probabilities, confidence] = await addon.sampleToken(logitIndex, sampler, top > 0, sample.logprob === true);
  if (token === -1 || token == null) return { kind: "error", error: new Error("the engine returned no token") };
  const output: RowOutput = { kind: "token", token, logprob: confidence == null ? NaN : Math.log(confidence) };
  if (top > 0 && probabilities) output.top = topOf(probabilities, top);
  return output;
}

/**
 * Rows of equal length in row order come out of llama.cpp in order, so
 * nothing is swapped back and sampling needs no ordering.
 */
function sameLength(inputs: readonly RowInput[], batch: readonly number[]): boolean {
  for (const i of batch) if (inputs[i].tokens.length !== inputs[batch[0]].tokens.length) return false;
  return true;
}

/** The first n of the native (token, probability) pairs, which come sorted from most to least likely. */
function topOf(pairs: readonly number[], n: number): TokenAlternative[] {
  const top: TokenAlternative[] = [];
  for (let i = 0; i + 1 < pairs.length && top.length < n; i += 2) top.push({ id: pairs[i], logprob: Math.log(pairs[i + 1]) });
  return top;
}
