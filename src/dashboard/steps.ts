/**
 * The step timeline: the engine steps of the last few seconds as bars on one
 * time axis — height by batch size, prefill steps apart from decode-only ones
 * — with the requests each carried (hover, or the arrow keys), GC pauses and
 * stalls on their own row, and the chosen request's steps marked. From the
 * steps the live stream carries (GET /debug/stream, as GET /debug/steps
 * sends them).
 *
 * Up to a thousand bars, redrawn with every snapshot (twice a second) on
 * the machine of the server it watches: the bars of each kind are one path,
 * not an element each (an element per bar cost the browser a third of its
 * drawing time), and the
 * step under the pointer is found from its x. Only the chosen request's
 * steps, a few, are elements of their own (a mark above each bar, named by
 * data-step).
 */

import { nearestStep } from "./nearestStep.js";
import { el, f, setAttrs } from "./svg.js";

export interface StepWindow {
  window_ms: number;
  truncated: boolean;
  /** context: the longest context a row attended to in the step (KV cells before it + tokens fed). */
  steps: Array<{ id: number; start: number; dur: number; decode: number | null; rows: number; prefill: boolean; context: number; requests: string[] }>;
  events: Array<{ type: "gc" | "stall"; kind?: string; start: number; dur: number }>;
}

type Step = StepWindow["steps"][number];

const LABEL_W = 90;
const LANE_H = 40;
const EVENT_H = 12;
const AXIS_H = 18;
/** A pointer this close to a bar (px) points at it: most bars are narrower than a pixel. */
const NEAR_PX = 3;

/**
 * What the listeners, made once, read: the window drawn last. The page does
 * not redraw the timeline while the pointer or the focus is on it, so a
 * cursor or a hover tip never outlives the window it was made on.
 */
interface Drawn {
  steps: Step[];
  scale: number;
  onStep: (step: Step) => void;
  /** The step the arrow keys are on (while the timeline has the focus). */
  cursor: number | undefined;
}

const drawn = new WeakMap<HTMLElement, Drawn>();

/** `onStep`: a click on a step's bar, or Enter on it, opens it. */
export function renderSteps(container: HTMLElement, w: StepWindow, width: number, selected: string | undefined, onStep: (step: Step) => void): void {
  const plotW = Math.max(200, width - LABEL_W - 40);
  const scale = plotW / w.window_ms;
  // Made anew when the page cleared the container (a file opened).
  const state = container.querySelector("svg") ? drawn.get(container)! : listen(container);
  Object.assign(state, { steps: w.steps, scale, onStep });
  const svg = container.querySelector("svg")!;
  svg.replaceChildren();
  const height = AXIS_H + LANE_H + EVENT_H + 8;
  setAttrs(svg, { width: LABEL_W + plotW + 40, height, "aria-label": `engine steps of the last ${w.window_ms / 1000} s; arrow keys move between them, Enter opens one`, "data-scale": scale });
  axis(svg, w.window_ms, scale, height);
  const maxRows = Math.max(1, ...w.steps.map((s) => s.rows));
  const bar = (s: Step): { x: number; y: number; width: number; height: number } => {
    const h = Math.max(2, (LANE_H - 4) * (s.rows / maxRows));
    return { x: LABEL_W + s.start * scale, y: AXIS_H + LANE_H - 2 - h, width: Math.max(s.dur * scale, 0.5), height: h };
  };
  const paths = { decode: [] as string[], prefill: [] as string[] };
  const mine: Step[] = [];
  for (const s of w.steps) {
    if (selected !== undefined && s.requests.includes(selected)) mine.push(s);
    const b = bar(s);
    paths[s.prefill ? "prefill" : "decode"].push(`M${b.x.toFixed(1)} ${b.y.toFixed(1)}h${b.width.toFixed(2)}v${b.height.toFixed(1)}h${(-b.width).toFixed(2)}z`);
  }
  for (const kind of ["decode", "prefill"] as const) if (paths[kind].length > 0) el("path", { d: paths[kind].join(""), class: `step ${kind}` }, svg);
  for (const s of mine) el("rect", { x: LABEL_W + s.start * scale, y: AXIS_H - 3, width: Math.max(s.dur * scale, 1), height: 4, class: `step ${s.prefill ? "prefill" : "decode"} mine`, "data-step": s.id, "data-requests": s.requests.join(" ") }, svg);
  for (const e of w.events) el("rect", { x: LABEL_W + e.start * scale, y: AXIS_H + LANE_H + 2, width: Math.max(e.dur * scale, 1), height: EVENT_H - 2, class: e.type, "data-event": e.type, "data-tip": `${e.type === "gc" ? `GC ${e.kind ?? ""}` : "event-loop stall"}: ${f(e.dur)} ms` }, svg);
}

function axis(svg: SVGSVGElement, windowMs: number, scale: number, height: number): void {
  for (const [text, y] of [
    ["steps", AXIS_H + LANE_H / 2 + 4],
    ["gc / stalls", AXIS_H + LANE_H + EVENT_H],
  ] as const) {
    const label = el("text", { x: 4, y, class: "label" }, svg);
    label.textContent = text;
  }
  for (let t = 0; t <= windowMs; t += 1000) {
    const x = LABEL_W + t * scale;
    el("line", { x1: x, x2: x, y1: AXIS_H - 4, y2: height, class: "axis" }, svg);
    const tick = el("text", { x: x + 2, y: 12, class: "label" }, svg);
    tick.textContent = `${(t - windowMs) / 1000} s`;
  }
}

/** The timeline's svg, its hover tip and its listeners, made once per container. */
function listen(container: HTMLElement): Drawn {
  const state: Drawn = { steps: [], scale: 1, onStep: () => undefined, cursor: undefined };
  drawn.set(container, state);
  const svg = el("svg", { role: "group", tabindex: 0, "aria-describedby": "steps-tip" }, container);
  // A chosen request's mark names its step; elsewhere the step is the one nearest the pointer.
  const at = (e: MouseEvent): Step | undefined => {
    const named = (e.target as Element).getAttribute("data-step");
    return named !== null ? state.steps.find((s) => s.id === Number(named)) : nearestStep(state.steps, (e.clientX - svg.getBoundingClientRect().left - LABEL_W) / state.scale, NEAR_PX / state.scale);
  };
  svg.addEventListener("click", (e) => {
    const s = at(e);
    if (s) state.onStep(s);
  });
  svg.addEventListener("mousemove", (e) => {
    const event = (e.target as Element).getAttribute("data-tip");
    const s = event === null ? at(e) : undefined;
    svg.style.cursor = s ? "pointer" : "";
    tip(container, event ?? (s ? describe(s) : undefined), e.clientX - container.getBoundingClientRect().left);
  });
  svg.addEventListener("mouseleave", () => tip(container, undefined));
  const dropCursor = (): void => {
    state.cursor = undefined;
    svg.querySelector(".cursor")?.remove();
    tip(container, undefined);
  };
  // The cursor is the keyboard's: it goes with the focus.
  svg.addEventListener("focusout", dropCursor);
  svg.addEventListener("keydown", (e) => {
    const i = state.steps.findIndex((s) => s.id === state.cursor);
    const next = e.key === "ArrowRight" ? (i < 0 ? state.steps.length - 1 : Math.min(i + 1, state.steps.length - 1)) : e.key === "ArrowLeft" ? (i < 0 ? state.steps.length - 1 : Math.max(i - 1, 0)) : undefined;
    if (next !== undefined && state.steps[next]) {
      e.preventDefault();
      moveCursor(container, state, state.steps[next]);
    } else if (e.key === "Enter" && i >= 0) state.onStep(state.steps[i]);
    else if (e.key === "Escape") dropCursor();
  });
  return state;
}

function moveCursor(container: HTMLElement, state: Drawn, s: Step): void {
  state.cursor = s.id;
  const svg = container.querySelector("svg")!;
  const shown = svg.querySelector<SVGRectElement>(".cursor") ?? el("rect", { class: "cursor" }, svg);
  const x = LABEL_W + s.start * state.scale;
  setAttrs(shown, { x, y: AXIS_H, width: Math.max(s.dur * state.scale, 1), height: LANE_H });
  tip(container, describe(s), x);
}

const describe = (s: Step): string => `step ${s.id}${s.prefill ? " (prompt)" : ""}: ${f(s.dur)} ms, batch ${s.rows}, decode ${f(s.decode)} ms\n${s.requests.join("\n")}`;

/** The hover tip, as text; `x`: where, in the container's px. */
function tip(container: HTMLElement, text: string | undefined, x = 0): void {
  let box = container.querySelector<HTMLElement>(".step-tip");
  if (text === undefined) {
    if (box) box.hidden = true;
    return;
  }
  if (!box) {
    box = document.createElement("div");
    box.className = "step-tip";
    box.id = "steps-tip";
    box.setAttribute("role", "tooltip");
    box.setAttribute("aria-live", "polite");
    container.appendChild(box);
  }
  box.textContent = text;
  box.hidden = false;
  box.style.left = `${Math.max(0, Math.min(x + 12, container.clientWidth - box.offsetWidth))}px`;
}
