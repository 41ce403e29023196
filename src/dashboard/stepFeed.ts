/**
 * The step timeline's data, asked for a little at a time: each poll of GET
 * /debug/steps asks only for the steps after the newest one held (`after`),
 * and the page keeps the window itself — a second's new steps instead of
 * five seconds' worth (up to a thousand) every second.
 */

import type { StepWindow } from "./steps.js";

type DrawnStep = StepWindow["steps"][number];

/** GET /debug/steps as the server sends it (timing/liveView.ts, StepWindowJson): request ids once, steps naming them by index. */
export interface StepFeed {
  window_ms: number;
  /** The window's end on the server's clock, ms. */
  now: number;
  truncated: boolean;
  requests: string[];
  steps: Array<Omit<DrawnStep, "requests"> & { requests: number[] }>;
  events: StepWindow["events"];
}

export class HeldSteps {
  /** By id (inserted in id order: ids only grow), each with its start on the server's clock. */
  private readonly steps = new Map<number, DrawnStep>();
  private last = 0;

  /** The newest step held: the next poll asks for the steps after it. */
  get after(): number {
    return this.last;
  }

  /** After a reconnect the server may be another one, whose step ids start again. */
  clear(): void {
    this.steps.clear();
    this.last = 0;
  }

  /** Adds a poll's steps, drops the ones that left the window, and returns the window to draw (times from its start). */
  take(feed: StepFeed): StepWindow {
    const origin = feed.now - feed.window_ms;
    for (const s of feed.steps) {
      this.steps.set(s.id, { ...s, start: origin + s.start, requests: s.requests.map((i) => feed.requests[i] ?? "?") });
      this.last = Math.max(this.last, s.id);
    }
    for (const [id, s] of this.steps) if (s.start + s.dur < origin) this.steps.delete(id);
    const steps = [...this.steps.values()].map((s) => ({ ...s, start: s.start - origin }));
    return { window_ms: feed.window_ms, truncated: feed.truncated, steps, events: feed.events };
  }
}
