/**
 * Observes every llama_decode of one context: counts them and records when
 * each starts and ends. node-llama-cpp has no public per-decode hook, so this
 * wraps the decodeBatch method of the context's addon object (an internal of
 * node-llama-cpp 3.21.1, which is pinned exactly; a test fails loudly if an
 * upgrade moves it).
 */
import type { LlamaContext } from "node-llama-cpp";
import { now } from "../timing/clock.js";

export interface DecodeObserver {
  decodeStarted(time: number): void;
  decodeEnded(time: number): void;
}

interface AddonContext {
  decodeBatch(...args: unknown[]): Promise<unknown>;
}

export class DecodeProbe {
  /** llama_decode calls since the context was created. */
  count = 0;
  /** Receives the boundaries of the decodes of the current step. */
  observer: DecodeObserver | undefined;

  private constructor() {}

  static attach(context: LlamaContext): DecodeProbe {
    const addon = (context as unknown as { _ctx?: AddonContext })._ctx;
    if (!addon || typeof addon.decodeBatch !== "function") {
      throw new Error("DecodeProbe: this node-llama-cpp version does not expose the context's decodeBatch (expected 3.21.1)");
    }
    const probe = new DecodeProbe();
    const decodeBatch = addon.decodeBatch.bind(addon);
    // The addon's methods are read-only on its prototype: define an own property instead of assigning.
    Object.defineProperty(addon, "decodeBatch", {
      configurable: true,
      value: async (...args: unknown[]) => {
        probe.count++;
        probe.observer?.decodeStarted(now());
        try {
          return await decodeBatch(...args);
        } finally {
          probe.observer?.decodeEnded(now());
        }
      },
    });
    return probe;
  }
}
