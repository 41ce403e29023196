/**
 * The one place that reaches into node-llama-cpp's internals: the native
 * (addon) objects behind a LlamaContext, a LlamaModel and the Llama runtime.
 * node-llama-cpp 3.21.1 is pinned exactly; if an upgrade moves these
 * internals, loading throws and the tests fail loudly.
 */
import type { Llama, LlamaContext, LlamaModel } from "node-llama-cpp";

export interface AddonContext {
  decodeBatch(...args: unknown[]): Promise<unknown>;
  sampleToken(...args: unknown[]): Promise<unknown>;
}

export interface AddonSampler {
  applyConfig(config: Record<string, unknown>): unknown;
  dispose(): unknown;
}

export type AddonSamplerClass = new (addonModel: object) => AddonSampler;

function internal<T>(owner: unknown, key: string, what: string): T {
  const value = (owner as Record<string, unknown> | undefined)?.[key];
  if (value == null) throw new Error(`this node-llama-cpp version has no ${what} (expected 3.21.1)`);
  return value as T;
}

export function addonOf(context: LlamaContext): AddonContext {
  const addon = internal<Partial<AddonContext>>(context, "_ctx", "context addon");
  if (typeof addon.decodeBatch !== "function" || typeof addon.sampleToken !== "function") {
    throw new Error("this node-llama-cpp version's context addon has no decodeBatch/sampleToken (expected 3.21.1)");
  }
  return addon as AddonContext;
}

/** The native model object, which native samplers are made for. */
export function addonModelOf(model: LlamaModel): object {
  return internal<object>(model, "_model", "model addon");
}

/** The bindings object whose AddonSampler node-llama-cpp instantiates for every controlledEvaluate call. */
export function bindingsOf(llama: Llama): { AddonSampler: AddonSamplerClass } {
  const bindings = internal<{ AddonSampler?: AddonSamplerClass }>(llama, "_bindings", "bindings");
  if (typeof bindings.AddonSampler !== "function") throw new Error("this node-llama-cpp version's bindings have no AddonSampler (expected 3.21.1)");
  return bindings as { AddonSampler: AddonSamplerClass };
}

/** Replaces an addon method. Its methods are read-only on the prototype, so this defines an own property. */
export function wrapAddonMethod<K extends keyof AddonContext>(addon: AddonContext, name: K, wrap: (original: AddonContext[K]) => AddonContext[K]): void {
  const original = addon[name].bind(addon) as AddonContext[K];
  Object.defineProperty(addon, name, { configurable: true, value: wrap(original) });
}
