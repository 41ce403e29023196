/**
 * One engine step, opened from a request's waterfall or from the step
 * timeline: its time and stages, its batch, and every request it carried,
 * each a button that opens that request's waterfall — the link from a
 * request to the steps it rode and on to the requests it shared them with.
 */

import { f } from "./svg.js";

/** What either view knows of a step: the waterfall has its stages and rows' kinds, the step timeline only ids. */
export interface StepSummary {
  id: number;
  dur?: number;
  rows: number;
  decode: number | null;
  /** Stage spans, ms (the waterfall's steps). */
  spans?: Record<string, number | null>;
  requests: Array<{ id: string; kind?: string; tokens?: number; position?: number }>;
}

function row(r: StepSummary["requests"][number]): string {
  if (r.kind === undefined) return r.id;
  const where = r.position === undefined ? "" : ` at ${r.position}`;
  return r.kind === "prefill" ? `${r.id} (prompt, ${r.tokens ?? "?"} tokens${where})` : `${r.id} (decode${where})`;
}

export function renderStepDetail(container: HTMLElement, step: StepSummary, open: (requestId: string) => void): void {
  container.replaceChildren();
  container.dataset.step = String(step.id);
  const head = document.createElement("p");
  const stages = step.spans
    ? Object.entries(step.spans)
        .filter(([, v]) => v !== null)
        .map(([k, v]) => `${k} ${f(v)}`)
        .join(", ")
    : "";
  head.textContent = `Step ${step.id}: ${step.dur === undefined ? "" : `${f(step.dur)} ms, `}batch ${step.rows}, decode ${f(step.decode)} ms${stages ? ` (stages, ms: ${stages})` : ""}. It carried:`;
  const list = document.createElement("ul");
  for (const r of step.requests) {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.request = r.id;
    button.textContent = row(r);
    button.addEventListener("click", () => open(r.id));
    li.appendChild(button);
    list.appendChild(li);
  }
  container.append(head, list);
  container.hidden = false;
}
