/**
 * The per-step log tree, at debug level, like the study's model-side trace
 * (master → worker → agent, ms per level: STEP_TREE), with request ids and
 * whatever GC or loop stall overlapped the step.
 */
import type { RuntimeEvents } from "./requestBreakdown.js";
import { STEP_SPANS, STEP_TREE, StepPoint } from "./points.js";
import type { StepRecord } from "./StepRecord.js";

const f = (x: number): string => (Number.isNaN(x) ? "-" : x.toFixed(3));

export function stepLogTree(step: StepRecord, events: RuntimeEvents | undefined): string {
  const m = step.marks;
  const start = m.get(StepPoint.step_start);
  const end = m.get(StepPoint.delivered);
  const gc = events?.gc.overlap(start, end).ms ?? 0;
  const stall = events?.stalls.overlap(start, end).ms ?? 0;
  const spans = new Map(STEP_SPANS.map((s) => [s.name as string, m.span(StepPoint[s.from], StepPoint[s.to])]));
  const ids = step.rows.map((r) => `${r.requestId}${r.kind === "prefill" ? `(prefill ${r.tokens})` : ""}`).join(",");
  const extra = `${gc ? `, gc ${f(gc)} ms` : ""}${stall ? `, loop stall ${f(stall)} ms` : ""}`;
  return [
    `[step ${step.id}] rows=${step.rows.length} requests=${ids} gap ${f(step.gap)} ms${extra}`,
    ...STEP_TREE.map((level) => `${"  ".repeat(level.depth + 1)}${level.name} ${f(level.spans.reduce((a, s) => a + spans.get(s)!, 0))} ms`),
  ].join("\n");
}
