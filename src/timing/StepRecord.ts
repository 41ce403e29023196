/** What the timing views need of an engine step (the master's Step has this shape). */
import type { Marks } from "./Marks.js";

export interface StepRow {
  readonly request: { readonly id: string };
  readonly tokens: readonly number[];
  readonly kind: "prefill" | "decode";
  readonly samples: boolean;
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
  readonly waiting?: number;
}
