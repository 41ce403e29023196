/**
 * One native sampler per row, made once and reconfigured per token. llama.cpp
 * rebuilds only the parts of the chain whose settings changed, and a row's
 * repetition penalty takes just the newest token of its window each step
 * instead of the whole window again.
 *
 * One state would leak from one request to the next on the same row: the
 * random generator, kept when the seed is unchanged. So the first token of a
 * new request on the row, if its seed repeats the last one applied, first
 * applies another seed: the generator always starts fresh from the requested
 * seed, and seeded sampling stays reproducible whatever ran on the row before.
 */
import type { AddonSampler } from "./internals.js";

export class RowSampler {
  private fresh = true;
  private lastSeed: number | undefined;

  constructor(readonly native: AddonSampler) {}

  /** The row was handed to another request. */
  renew(): void {
    this.fresh = true;
  }

  configure(config: Record<string, unknown> & { seed: number }): AddonSampler {
    if (this.fresh && config.seed === this.lastSeed) this.native.applyConfig({ ...config, seed: (config.seed + 1) >>> 0 });
    this.fresh = false;
    this.lastSeed = config.seed;
    this.native.applyConfig(config);
    return this.native;
  }

  dispose(): void {
    this.native.dispose();
  }
}
