/**
 * Works around a race in node-llama-cpp 3.21.1. When llama.cpp computes a
 * batch's outputs in another order than the batch's rows (rows of different
 * lengths, or sequence ids out of order, measured here), it swaps them back
 * lazily inside the first llama_get_logits_ith call. node-llama-cpp samples
 * the rows concurrently on the libuv pool, so two threads can run that swap at
 * once, and a row then samples another row's logits (about 1 step in 100 in
 * those cases). When armed, the gate lets the first sampling after a decode
 * finish before the others start. The agent submits rows in index order, so
 * rows of equal length (every pure decode step) come out in order and need no
 * gate; it arms the gate only for steps whose rows differ in length.
 */
import type { LlamaContext } from "node-llama-cpp";
import { addonOf, wrapAddonMethod } from "./internals.js";

export class SamplingGate {
  private armed = false;
  private first: Promise<unknown> | undefined;

  private constructor() {}

  static attach(context: LlamaContext): SamplingGate {
    const gate = new SamplingGate();
    const addon = addonOf(context);
    wrapAddonMethod(addon, "decodeBatch", (decodeBatch) => async (...args) => {
      gate.first = undefined;
      return decodeBatch(...args);
    });
    wrapAddonMethod(addon, "sampleToken", (sampleToken) => (...args) => {
      if (!gate.armed) return sampleToken(...args);
      if (!gate.first) {
        gate.first = sampleToken(...args);
        return gate.first;
      }
      const run = () => sampleToken(...args);
      return gate.first.then(run, run);
    });
    return gate;
  }

  /** Serialize the first sampling of the coming decode (or not). */
  set(armed: boolean): void {
    this.armed = armed;
  }
}
