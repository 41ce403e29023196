/**
 * Observes every llama_decode of one context: counts them and records when
 * each starts and ends. node-llama-cpp has no public per-decode hook, so this
 * wraps the context's native decodeBatch.
 */
import type { LlamaContext } from "node-llama-cpp";
import { now } from "../timing/clock.js";
import { addonOf, wrapAddonMethod } from "./internals.js";

export interface DecodeObserver {
  decodeStarted(time: number): void;
  decodeEnded(time: number): void;
}

export class DecodeProbe {
  /** llama_decode calls since the context was created. */
  count = 0;
  /** Receives the boundaries of the decodes of the current step. */
  observer: DecodeObserver | undefined;

  private constructor() {}

  static attach(context: LlamaContext): DecodeProbe {
    const probe = new DecodeProbe();
    wrapAddonMethod(addonOf(context), "decodeBatch", (decodeBatch) => async (...args) => {
      probe.count++;
      probe.observer?.decodeStarted(now());
      try {
        return await decodeBatch(...args);
      } finally {
        probe.observer?.decodeEnded(now());
      }
    });
    return probe;
  }
}
