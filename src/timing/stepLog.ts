/**
 * The per-step log tree, at debug level, like the study's model-side trace
 * (master → worker → agent, ms per level), with request ids and whatever GC
 * or loop stall overlapped the step.
 */
import type { RuntimeEvents } from "./requestBreakdown.js";
import { StepPoint } from "./points.js";
import type { StepRecord } from "./StepRecord.js";

const f = (x: number): string => (Number.isNaN(x) ? "-" : x.toFixed(3));

export function stepLogTree(step: StepRecord, events: RuntimeEvents | undefined): string {
  const m = step.marks;
  const span = (a: number, b: number): number => m.span(a, b);
  const start = m.get(StepPoint.step_start);
  const end = m.get(StepPoint.delivered);
  const gc = events?.gc.overlap(start, end).ms ?? 0;
  const stall = events?.stalls.overlap(start, end).ms ?? 0;
  const ids = step.rows.map((r) => `${r.requestId}${r.kind === "prefill" ? `(prefill ${r.tokens})` : ""}`).join(",");
  const extra = `${gc ? `, gc ${f(gc)} ms` : ""}${stall ? `, loop stall ${f(stall)} ms` : ""}`;
  return [
    `[step ${step.id}] rows=${step.rows.length} requests=${ids} gap ${f(step.gap)} ms${extra}`,
    `  master.step ${f(span(StepPoint.step_start, StepPoint.delivered))} ms`,
    `    master.schedule ${f(span(StepPoint.step_start, StepPoint.scheduled))} ms`,
    `    worker.run ${f(span(StepPoint.scheduled, StepPoint.sampled))} ms`,
    `      worker.build ${f(span(StepPoint.scheduled, StepPoint.inputs_submitted))} ms`,
    `      worker.dispatch ${f(span(StepPoint.inputs_submitted, StepPoint.decode_start))} ms`,
    `      agent.predict ${f(span(StepPoint.decode_start, StepPoint.sampled))} ms`,
    `        agent.decode ${f(span(StepPoint.decode_start, StepPoint.decode_end))} ms`,
    `        agent.sample ${f(span(StepPoint.decode_end, StepPoint.sampled))} ms`,
    `    master.postprocess ${f(span(StepPoint.sampled, StepPoint.postprocessed))} ms`,
    `    master.deliver ${f(span(StepPoint.postprocessed, StepPoint.delivered))} ms`,
  ].join("\n");
}
