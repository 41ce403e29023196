/**
 * Recycles node-llama-cpp's native samplers. controlledEvaluate makes a native
 * sampler for every call and disposes it afterwards, on the JS thread; with a
 * 32 000-token vocabulary that costs ~1 ms per row per step (measured: 9 ms of
 * every batch-8 step on the medium preset, a quarter of the step, with the
 * event loop blocked). The pool hands a disposed sampler to the next call
 * instead of making a new one.
 *
 * A recycled sampler is reconfigured by the next call's applyConfig, which
 * rebuilds whatever differs. One state survives a config that looks the same:
 * the random generator, kept when the seed is unchanged. So the first
 * applyConfig after recycling, if it repeats the previous seed, first applies
 * another seed: the generator always starts fresh from the requested seed, as
 * with a new sampler, and seeded sampling stays reproducible.
 */
import type { Llama, LlamaModel } from "node-llama-cpp";
import { addonModelOf, bindingsOf, type AddonSampler, type AddonSamplerClass } from "./internals.js";

interface Recycled {
  recycled: boolean;
  lastSeed: number | undefined;
}

const poolsByModel = new WeakMap<object, SamplerPool>();
const installed = new WeakSet<object>();

export class SamplerPool {
  private readonly free: AddonSampler[] = [];
  private readonly originalDispose = new WeakMap<AddonSampler, () => unknown>();
  private closed = false;

  private constructor(
    private readonly native: AddonSamplerClass,
    private readonly addonModel: object,
    private readonly maxFree: number,
  ) {}

  /** Recycles the samplers made for `model` from now on; `maxFree` bounds the idle ones kept. */
  static attach(llama: Llama, model: LlamaModel, maxFree: number): SamplerPool {
    const bindings = bindingsOf(llama);
    if (!installed.has(bindings)) {
      installed.add(bindings);
      const native = bindings.AddonSampler;
      // Returning an object from a constructor makes `new` yield it: node-llama-cpp's `new AddonSampler(model)` gets a recycled one.
      const pooled = function (addonModel: object) {
        return poolsByModel.get(addonModel)?.take() ?? new native(addonModel);
      } as unknown as AddonSamplerClass;
      Object.setPrototypeOf(pooled, native); // keeps its static methods
      bindings.AddonSampler = pooled;
      (pooled as unknown as { native: AddonSamplerClass }).native = native;
    }
    const native = (bindings.AddonSampler as unknown as { native: AddonSamplerClass }).native;
    const pool = new SamplerPool(native, addonModelOf(model), maxFree);
    poolsByModel.set(pool.addonModel, pool);
    return pool;
  }

  /** Disposes the idle samplers and stops recycling (before the model is disposed). */
  dispose(): void {
    this.closed = true;
    if (poolsByModel.get(this.addonModel) === this) poolsByModel.delete(this.addonModel);
    for (const s of this.free.splice(0)) this.originalDispose.get(s)?.();
  }

  /** For the patched constructor: an idle sampler, or a new one adopted by the pool. */
  take(): AddonSampler {
    const s = this.free.pop();
    if (s) return s;
    return this.adopt(new this.native(this.addonModel));
  }

  private adopt(sampler: AddonSampler): AddonSampler {
    const state: Recycled = { recycled: false, lastSeed: undefined };
    const applyConfig = sampler.applyConfig.bind(sampler);
    const dispose = sampler.dispose.bind(sampler);
    this.originalDispose.set(sampler, dispose);
    Object.defineProperty(sampler, "applyConfig", {
      configurable: true,
      value: (config: Record<string, unknown>) => {
        const seed = config.seed as number | undefined;
        if (state.recycled && seed !== undefined && seed === state.lastSeed) applyConfig({ ...config, seed: (seed + 1) >>> 0 });
        state.recycled = false;
        state.lastSeed = seed;
        return applyConfig(config);
      },
    });
    Object.defineProperty(sampler, "dispose", {
      configurable: true,
      value: () => {
        if (this.closed || this.free.length >= this.maxFree) return dispose();
        state.recycled = true;
        this.free.push(sampler);
        return undefined;
      },
    });
    return sampler;
  }
}
