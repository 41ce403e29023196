/**
 * The step timeline: the engine steps of the last few seconds as bars on one
 * time axis — height by batch size, prefill steps apart from decode-only ones
 * — with the requests each carried (hover), GC pauses and stalls on their own
 * row, and the chosen request's steps outlined. From GET /debug/steps.
 */

import { el, f, titled } from "./svg.js";

export interface StepWindow {
  window_ms: number;
  truncated: boolean;
  /** context: the longest context a row attended to in the step (KV cells before it + tokens fed). */
  steps: Array<{ id: number; start: number; dur: number; decode: number | null; rows: number; prefill: boolean; context: number; requests: string[] }>;
  events: Array<{ type: "gc" | "stall"; kind?: string; start: number; dur: number }>;
}

const LABEL_W = 90;
const LANE_H = 40;
const EVENT_H = 12;
const AXIS_H = 18;



/** `onStep`: a click on a step's bar opens it. */
export function renderSteps(container: HTMLElement, w: StepWindow, width: number, selected: string | undefined, onStep: (step: number) => void): void {
  container.replaceChildren();
  const plotW = Math.max(200, width - LABEL_W - 40);
  const scale = plotW / w.window_ms;
  const maxRows = Math.max(1, ...w.steps.map((s) => s.rows));
  const height = AXIS_H + LANE_H + EVENT_H + 8;
  const svg = el("svg", { width: LABEL_W + plotW + 40, height, role: "img", "aria-label": `engine steps of the last ${w.window_ms / 1000} s`, "data-scale": scale }, container);
  for (const [text, y] of [
    ["steps", AXIS_H + LANE_H / 2 + 4],
    ["gc / stalls", AXIS_H + LANE_H + EVENT_H],
  ] as const) {
    const label = el("text", { x: 4, y, class: "label" }, svg);
    label.textContent = text;
  }
  for (let t = 0; t <= w.window_ms; t += 1000) {
    const x = LABEL_W + t * scale;
    el("line", { x1: x, x2: x, y1: AXIS_H - 4, y2: height, class: "axis" }, svg);
    const tick = el("text", { x: x + 2, y: 12, class: "label" }, svg);
    tick.textContent = `${(t - w.window_ms) / 1000} s`;
  }
  const byId = new Map<number, StepWindow["steps"][number]>();
  for (const s of w.steps) {
    const h = Math.max(2, (LANE_H - 4) * (s.rows / maxRows));
    const ids = s.requests;
    const prefill = s.prefill;
    const mine = selected !== undefined && ids.includes(selected);
    el("rect", { x: LABEL_W + s.start * scale, y: AXIS_H + LANE_H - 2 - h, width: Math.max(s.dur * scale, 0.5), height: h, class: `step ${prefill ? "prefill" : "decode"}${mine ? " mine" : ""}`, "data-step": s.id, "data-requests": ids.join(" ") }, svg);
    byId.set(s.id, s);
  }
  // Up to a thousand bars, redrawn each second: one listener and one hover title for all of them rather than one each (the page's drawing shares the machine with the server it watches).
  const step = (e: Event): StepWindow["steps"][number] | undefined => byId.get(Number((e.target as Element).getAttribute?.("data-step") ?? NaN));
  svg.addEventListener("click", (e) => {
    const s = step(e);
    if (s) onStep(s.id);
  });
  svg.addEventListener("mouseover", (e) => {
    const s = step(e);
    if (s && !(e.target as Element).querySelector("title")) titled(e.target as Element, `step ${s.id}${s.prefill ? " (prompt)" : ""}: ${f(s.dur)} ms, batch ${s.rows}, decode ${f(s.decode)} ms\n${s.requests.join("\n")}`);
  });
  for (const e of w.events) {
    const rect = el("rect", { x: LABEL_W + e.start * scale, y: AXIS_H + LANE_H + 2, width: Math.max(e.dur * scale, 1), height: EVENT_H - 2, class: e.type, "data-event": e.type }, svg);
    titled(rect, `${e.type === "gc" ? `GC ${e.kind ?? ""}` : "event-loop stall"}: ${f(e.dur)} ms`);
  }
}
