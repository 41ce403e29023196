/**
 * The step timeline's data, sent a little at a time: each snapshot of GET
 * /debug/stream carries only the steps since the one before (the first, the
 * whole window), and the page keeps the window itself — half a second's
 * new steps instead of five seconds' worth (up to a thousand) each time.
 */

import type { StepWindow } from "./steps.js";

type DrawnStep = StepWindow["steps"][number];

/** The stream's `steps` (as GET /debug/steps sends them, timing/stepWindow.ts StepWindowJson): request ids once, steps naming them by index. */
export interface StepFeed {
  window_ms: number;
  /** The window's end on the server's clock, ms. */
  now: number;
  truncated: boolean;
  requests: string[];
  steps: Array<Omit<DrawnStep, "requests"> & { requests: number[] }>;
  events: StepWindow["events"];
}

/** Most steps drawn, as the server sends at most for one window (timing/stepWindow.ts MAX_WINDOW_STEPS): a thousand bars redrawn with each snapshot. */
const MAX_HELD = 1000;

export class HeldSteps {
  /** By id (inserted in id order: ids only grow), each with its start on the server's clock. */
  private readonly steps = new Map<number, DrawnStep>();
  private lastNow = -Infinity;

  /** After a reconnect the server may be another one, whose step ids and clock start again. */
  clear(): void {
    this.steps.clear();
    this.lastNow = -Infinity;
  }

  /**
   * Adds a snapshot's steps (a step sent twice is taken once), drops the
   * ones that left the window (and the oldest beyond MAX_HELD), and returns
   * the window to draw, times from its start.
   */
  take(feed: StepFeed): StepWindow {
    // A clock that went back is another server (or a restart): start afresh.
    if (feed.now < this.lastNow) this.clear();
    this.lastNow = feed.now;
    const origin = feed.now - feed.window_ms;
    // More new steps than one answer holds: the ones before the oldest sent are missing, so the older held ones would leave a gap.
    if (feed.truncated && feed.steps.length > 0) for (const id of this.steps.keys()) if (id < feed.steps[0].id) this.steps.delete(id);
    for (const s of feed.steps) {
      this.steps.set(s.id, { ...s, start: origin + s.start, requests: s.requests.map((i) => feed.requests[i] ?? "?") });
    }
    let truncated = feed.truncated;
    for (const [id, s] of this.steps) {
      if (s.start + s.dur >= origin && this.steps.size <= MAX_HELD) break; // in id order: the rest are newer
      this.steps.delete(id);
      if (s.start + s.dur >= origin) truncated = true;
    }
    const steps = [...this.steps.values()].map((s) => ({ ...s, start: s.start - origin }));
    return { window_ms: feed.window_ms, truncated, steps, events: feed.events };
  }
}
