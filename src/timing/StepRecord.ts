/**
 * Steps as the timing views keep them: compact, holding request ids rather
 * than the engine's request objects, so that keeping thousands of recent
 * steps does not keep their requests alive.
 */
import type { Marks } from "./Marks.js";

export interface StepRow {
  readonly requestId: string;
  readonly kind: "prefill" | "decode";
  /** Tokens fed for the row in this step. */
  readonly tokens: number;
  /** KV cells the row held before this step (its tokens attend to these and to each other). */
  readonly position: number;
}

export interface StepRecord {
  readonly id: number;
  /** STEP_POINTS. */
  readonly marks: Marks;
  /** ms from the previous step's delivered to this step's step_start (NaN for the first). */
  readonly gap: number;
  readonly decodes: number;
  readonly rows: readonly StepRow[];
  /** Requests waiting for a row when the step was scheduled. */
  readonly waiting: number;
}

/** A step as the engine hands it over (the master's Step has this shape). */
export interface EngineStep {
  readonly id: number;
  readonly marks: Marks;
  readonly gap: number;
  readonly decodes: number;
  readonly waiting: number;
  readonly rows: ReadonlyArray<{ readonly request: { readonly id: string }; readonly tokens: readonly number[]; readonly kind: "prefill" | "decode"; readonly position: number }>;
}

export function stepTokens(step: StepRecord): number {
  let n = 0;
  for (const r of step.rows) n += r.tokens;
  return n;
}
