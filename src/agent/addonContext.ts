/**
 * The one place that reaches into node-llama-cpp's internals: the native
 * (addon) object behind a LlamaContext. node-llama-cpp 3.21.1 is pinned
 * exactly; if an upgrade moves these internals, attaching throws at load and
 * the tests fail loudly.
 */
import type { LlamaContext } from "node-llama-cpp";

export interface AddonContext {
  decodeBatch(...args: unknown[]): Promise<unknown>;
  sampleToken(...args: unknown[]): Promise<unknown>;
}

export function addonOf(context: LlamaContext): AddonContext {
  const addon = (context as unknown as { _ctx?: Partial<AddonContext> })._ctx;
  if (!addon || typeof addon.decodeBatch !== "function" || typeof addon.sampleToken !== "function") {
    throw new Error("this node-llama-cpp version does not expose the context's decodeBatch/sampleToken (expected 3.21.1)");
  }
  return addon as AddonContext;
}

/** Replaces an addon method. Its methods are read-only on the prototype, so this defines an own property. */
export function wrapAddonMethod<K extends keyof AddonContext>(addon: AddonContext, name: K, wrap: (original: AddonContext[K]) => AddonContext[K]): void {
  const original = addon[name].bind(addon) as AddonContext[K];
  Object.defineProperty(addon, name, { configurable: true, value: wrap(original) });
}
