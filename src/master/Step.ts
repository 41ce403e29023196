/** One engine step: its id, the rows it carried (which requests, prefill or decode) and its time points. */
import { Marks } from "../timing/Marks.js";
import { STEP_POINTS } from "../timing/points.js";
import type { Request } from "./Request.js";

export interface BatchRow {
  request: Request;
  /** Tokens fed for this row: a prompt chunk, or the last sampled token. */
  tokens: readonly number[];
  /** The row samples a token this step (false for a prompt chunk that is not the last). */
  samples: boolean;
  kind: "prefill" | "decode";
  /** KV cells the row held before this step: where its tokens go in its context. */
  position: number;
}

export class Step {
  readonly marks = new Marks(STEP_POINTS.length);
  rows: BatchRow[] = [];
  /** llama_decode calls made in this step (always 1 for a non-empty step). */
  decodes = 0;
  /** Milliseconds from the previous step's `delivered` to this step's `step_start` (NaN for the first). */
  gap = NaN;
  /** Requests waiting for a row when the step was scheduled. */
  waiting = 0;

  constructor(readonly id: number) {}

  get requestIds(): string[] {
    return this.rows.map((r) => r.request.id);
  }

  get tokenCount(): number {
    let n = 0;
    for (const r of this.rows) n += r.tokens.length;
    return n;
  }
}
