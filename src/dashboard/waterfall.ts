/**
 * One request's time as a waterfall: each of its spans (docs/timing.md,
 * "Request spans") on one time axis, a row per span name — every engine step
 * it rode on the "step" row, with that step's batch size and decode time —
 * and the GC pauses and event-loop stalls that hit it on a row of their own.
 * SVG drawn from GET /debug/requests/{id}; text goes in as text, never markup.
 */

import type { RequestRecord, SpanJson } from "./requestRecord.js";
import { el, f, titled } from "./svg.js";

const LABEL_W = 90;
const ROW_H = 18;
const AXIS_H = 22;
/** Okabe–Ito: told apart with every kind of colour blindness. */
const COLOURS: Record<string, string> = {
  receive: "#999999",
  validate: "#56B4E9",
  tokenize: "#009E73",
  enqueue: "#0072B2",
  queue: "#E69F00",
  step: "#CC79A7",
  loop: "#F0E442",
  connect: "#999999",
  send: "#56B4E9",
  wait: "#E69F00",
  stream: "#CC79A7",
  respond: "#D55E00",
  // A client record's view (offlineRecords.ts).
  answer: "#E69F00",
  "first token": "#56B4E9",
  end: "#D55E00",
};
const EVENTS_ROW = "gc / stalls";




/** A tick step of 1, 2 or 5 × 10^k giving about `count` ticks. */
function tickStep(span: number, count: number): number {
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

/** A step's bar opens the step (click, or Enter when focused): the link from the request to the steps it rode. */
function linkStep(rect: SVGRectElement, step: number, onStep: (step: number) => void): void {
  rect.setAttribute("tabindex", "0");
  rect.setAttribute("role", "button");
  rect.classList.add("steplink");
  rect.addEventListener("click", () => onStep(step));
  rect.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      onStep(step);
    }
  });
}

/** Draws the waterfall into `container`; returns the scale in px per ms. */
export function renderWaterfall(container: HTMLElement, r: RequestRecord, width: number, onStep?: (step: number) => void): number {
  container.replaceChildren();
  const spans = r.span.children ?? [];
  const total = Math.max(r.span.dur, 1e-3);
  const plotW = Math.max(200, width - LABEL_W - 40);
  const scale = plotW / total;
  const rows: string[] = [];
  for (const s of spans) if (!rows.includes(s.name)) rows.push(s.name);
  if (r.events.length > 0) rows.push(EVENTS_ROW);
  const height = AXIS_H + rows.length * ROW_H + 4;
  const svg = el("svg", { width: LABEL_W + plotW + 40, height, role: "img", "aria-label": `waterfall of request ${r.id}`, "data-scale": scale }, container);
  rows.forEach((name, i) => {
    const label = el("text", { x: 4, y: AXIS_H + i * ROW_H + 13, class: "label" }, svg);
    label.textContent = name;
  });
  const step = tickStep(total, 8);
  for (let t = 0; t <= total + 1e-9; t += step) {
    const x = LABEL_W + t * scale;
    el("line", { x1: x, x2: x, y1: AXIS_H - 4, y2: height, class: "axis" }, svg);
    const tick = el("text", { x: x + 2, y: 12, class: "label" }, svg);
    tick.textContent = `${f(t)} ms`;
  }
  const steps = new Map(r.steps.map((s) => [s.id, s]));
  const origin = r.span.start;
  for (const s of spans) {
    const y = AXIS_H + rows.indexOf(s.name) * ROW_H + 2;
    const rect = el("rect", { x: LABEL_W + (s.start - origin) * scale, y, width: Math.max(s.dur * scale, 0.5), height: ROW_H - 4, fill: COLOURS[s.name] ?? "#777", "data-span": s.name, "data-start": s.start - origin, "data-dur": s.dur }, svg);
    let text = `${s.name}: ${f(s.dur)} ms at ${f(s.start - origin)} ms`;
    if (s.step !== undefined) {
      rect.setAttribute("data-step", String(s.step));
      const st = steps.get(s.step);
      text += ` — step ${s.step}${st ? `, batch ${st.rows}, decode ${f(st.spans.decode ?? NaN)} ms` : ""}`;
      if (onStep) linkStep(rect, s.step, onStep);
    }
    if (s.gc_ms) text += `, GC ${f(s.gc_ms)} ms`;
    if (s.stall_ms) text += `, stalls ${f(s.stall_ms)} ms`;
    titled(rect, text);
  }
  const y = AXIS_H + rows.indexOf(EVENTS_ROW) * ROW_H + 2;
  for (const e of r.events) {
    const rect = el("rect", { x: LABEL_W + (e.start - origin) * scale, y, width: Math.max(e.dur * scale, 1), height: ROW_H - 4, class: e.type, "data-event": e.type, "data-start": e.start - origin, "data-dur": e.dur }, svg);
    titled(rect, `${e.type === "gc" ? `GC ${e.kind ?? ""}` : "event-loop stall"}: ${f(e.dur)} ms at ${f(e.start - origin)} ms${e.step !== null ? ` (step ${e.step})` : ""}`);
  }
  return scale;
}

/** One line under the title: status, tokens, the durations, untimed, and the hop when there is one. */
export function summaryLine(r: RequestRecord): string {
  const d = r.durations;
  // A load client's record alone (offlineRecords.ts): it has no server side, so no prompt count, GC, stalls or coverage to state.
  if (r.route.startsWith("client")) {
    const client = [r.route, `status ${r.status}`, `${r.generated_tokens} output tokens`, `e2e ${f(d.e2e)} ms`, d.ttft !== null ? `TTFT ${f(d.ttft)} ms` : "", d.tpot !== null ? `TPOT ${f(d.tpot)} ms` : "", r.finish_reason ? `error: ${r.finish_reason}` : "", "as the client measured it (no server timeline)"];
    return client.filter((p) => p !== "").join(" · ");
  }
  const parts = [
    `${r.route}`,
    `status ${r.status}${r.complete ? "" : " (still running)"}`,
    `${r.prompt_tokens} prompt + ${r.generated_tokens} output tokens`,
    `e2e ${f(d.e2e)} ms`,
    d.ttft !== null ? `TTFT ${f(d.ttft)} ms` : "",
    d.tpot !== null ? `TPOT ${f(d.tpot)} ms` : "",
    `GC ${f(d.gc)} ms, stalls ${f(d.stall)} ms`,
    `untimed ${f(d.untimed)} ms (${f(d.coverage * 100)} % in named spans)`,
    r.hop ? `engine ${r.hop.engine} (${r.hop.reason}); ours ${f(r.hop.ours_ms)} ms` : "",
  ];
  return parts.filter((p) => p !== "").join(" · ");
}
