/**
 * The dashboard's step timeline: the engine steps of the last seconds in a
 * compact form, with the GC pauses and stalls in that time. Built only when
 * asked (GET /debug/steps), from the step ring.
 */
import { now } from "./clock.js";
import { StepPoint } from "./points.js";
import type { RuntimeEventJson } from "./recordJson.js";
import type { RuntimeEvents } from "./requestBreakdown.js";
import type { StepStore } from "./StepStore.js";
import { ms, runtimeEventsBetween } from "./timelineJson.js";

/** A step as the step timeline draws it: a compact form of StepJson (a window holds up to a thousand). */
export interface WindowStepJson {
  id: number;
  start: number;
  dur: number;
  /** Its decode span (llama_decode). */
  decode: number | null;
  rows: number;
  /** Some row fed prompt tokens. */
  prefill: boolean;
  /** The longest context a row attended to in it: its KV cells before the step plus the tokens it fed. */
  context: number;
  /** The requests it carried, as indexes into the window's `requests` (a request rides hundreds of steps: its id is sent once). */
  requests: number[];
}

export interface StepWindowJson {
  /** The window's length; every time below is ms from its start. */
  window_ms: number;
  /** The window's end on the server's clock (ms): lets a watcher that asks for new steps only place them beside the ones it has. */
  now: number;
  /** Steps are newest-first capped at MAX_WINDOW_STEPS; `truncated` says when older ones in the window were left out. */
  truncated: boolean;
  /** The ids of the requests the steps carried. */
  requests: string[];
  steps: WindowStepJson[];
  events: RuntimeEventJson[];
}

/** Most steps sent for one window (a tiny model runs a thousand a second): the newest are kept. */
export const MAX_WINDOW_STEPS = 1000;

/**
 * The engine steps of the last `windowMs` — only those after step `after`,
 * for a watcher that has the older ones — with the GC pauses and stalls in
 * that time (the dashboard's step timeline).
 */
export function stepWindow(steps: StepStore, events: RuntimeEvents, windowMs: number, at = now(), after = 0): StepWindowJson {
  const origin = at - windowMs;
  const out: WindowStepJson[] = [];
  const ids = new Map<string, number>();
  const index = (id: string): number => {
    let i = ids.get(id);
    if (i === undefined) ids.set(id, (i = ids.size));
    return i;
  };
  let truncated = false;
  let id = steps.latest;
  for (; id > after && steps.has(id); id--) {
    if (steps.mark(id, StepPoint.delivered) < origin) break;
    if (out.length === MAX_WINDOW_STEPS) {
      truncated = true;
      break;
    }
    const s = steps.get(id)!;
    const start = s.marks.get(StepPoint.step_start);
    out.push({
      id,
      start: ms(start - origin) ?? 0,
      dur: ms(s.marks.get(StepPoint.delivered) - start) ?? 0,
      decode: ms(s.marks.get(StepPoint.decode_end) - s.marks.get(StepPoint.decode_start)),
      rows: s.rows.length,
      prefill: s.rows.some((r) => r.kind === "prefill"),
      context: s.rows.reduce((m, r) => Math.max(m, r.position + r.tokens), 0),
      requests: s.rows.map((r) => index(r.requestId)),
    });
  }
  // Stopped at a step the ring no longer holds (the ring is smaller than the window's steps), one the watcher had not had: older steps of the window are missing.
  if (id > after && out.length > 0 && !steps.has(id)) truncated = true;
  out.reverse();
  return { window_ms: windowMs, now: ms(at) ?? 0, truncated, requests: [...ids.keys()], steps: out, events: runtimeEventsBetween(events, origin, at, origin) };
}
