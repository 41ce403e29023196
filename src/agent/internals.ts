/**
 * The one place that reaches into node-llama-cpp's internals: the native
 * (addon) objects behind a LlamaContext, a LlamaModel and the Llama runtime.
 * The agent drives llama.cpp's batch API through them (see Agent.runStep for
 * why). node-llama-cpp 3.21.1 is pinned exactly; if an upgrade moves these
 * internals, loading throws and the tests fail loudly.
 */
import type { Llama, LlamaContext, LlamaModel } from "node-llama-cpp";

/** node-llama-cpp's AddonContext: one llama_context and its llama_batch. */
export interface AddonContext {
  /** Makes a fresh batch for up to `tokens` tokens (at most the context's batch size). */
  initBatch(tokens: number): void;
  /** Appends a row's tokens at positions from `firstPosition`; returns the batch indexes of the tokens in `logitIndexes`. */
  addToBatch(sequenceId: number, firstPosition: number, tokens: Uint32Array, logitIndexes: Uint32Array): Uint32Array;
  /** llama_decode of the batch, on the libuv pool. */
  decodeBatch(): Promise<void>;
  /** Samples the token at `batchLogitIndex`; with the flags, also [token, flat (token, probability) pairs, confidence]. */
  sampleToken(batchLogitIndex: number, sampler: AddonSampler, probabilities: boolean, confidence: boolean): Promise<[token: number, probabilities: number[] | undefined, confidence: number | undefined]>;
  /** Clears a sequence's KV cells (llama_memory_seq_rm over all positions); throws if llama.cpp refuses. */
  disposeSequence(sequenceId: number): void;
}

/** node-llama-cpp's AddonSampler: a llama.cpp sampler chain rebuilt from a config object. */
export interface AddonSampler {
  applyConfig(config: Record<string, unknown>): unknown;
  dispose(): unknown;
}

type AddonSamplerClass = new (addonModel: object) => AddonSampler;

const CONTEXT_METHODS = ["initBatch", "addToBatch", "decodeBatch", "sampleToken", "disposeSequence"] as const;

function internal<T>(owner: unknown, key: string, what: string): T {
  const value = (owner as Record<string, unknown> | undefined)?.[key];
  if (value == null) throw new Error(`this node-llama-cpp version has no ${what} (expected 3.21.1)`);
  return value as T;
}

export function addonOf(context: LlamaContext): AddonContext {
  const addon = internal<Record<string, unknown>>(context, "_ctx", "context addon");
  const missing = CONTEXT_METHODS.filter((m) => typeof addon[m] !== "function");
  if (missing.length > 0) throw new Error(`this node-llama-cpp version's context addon has no ${missing.join(", ")} (expected 3.21.1)`);
  return addon as unknown as AddonContext;
}

/** A new native sampler for `model`. */
export function newAddonSampler(llama: Llama, model: LlamaModel): AddonSampler {
  const bindings = internal<{ AddonSampler?: AddonSamplerClass }>(llama, "_bindings", "bindings");
  if (typeof bindings.AddonSampler !== "function") throw new Error("this node-llama-cpp version's bindings have no AddonSampler (expected 3.21.1)");
  return new bindings.AddonSampler(internal<object>(model, "_model", "model addon"));
}
