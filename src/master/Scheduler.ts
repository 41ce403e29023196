/**
 * Decides what the next step carries. Running rows come first (one token per
 * decoding row, then prompt chunks of rows still prefilling), then waiting
 * requests are admitted in FIFO order while a row is free, the batch has room
 * and the step's token budget lasts. A prompt longer than the budget is
 * prefilled in chunks over several steps, so every step is one llama_decode.
 *
 * - continuous: rows leave as soon as they finish and new requests join at the next step;
 * - static (llm-serving's batching_strategy: static): a batch is admitted together
 *   and runs until all its rows finish; nobody joins it meanwhile.
 */
import type { Row } from "../agent/SequencePool.js";
import { RequestPoint } from "../timing/points.js";
import type { Request } from "./Request.js";
import type { BatchRow } from "./Step.js";
import { WaitingQueue } from "./WaitingQueue.js";

export type BatchingPolicy = "continuous" | "static";

export interface SchedulerOptions {
  policy: BatchingPolicy;
  /** Most rows in one step. */
  maxBatchSize: number;
  /** Most tokens in one step (one llama_decode). */
  batchTokens: number;
}

export interface RowSource {
  acquire(): Row | undefined;
}

export class Scheduler {
  readonly waiting = new WaitingQueue();
  /** Running requests in admission order; finished ones are dropped at the next schedule. */
  running: Request[] = [];

  constructor(
    private readonly options: SchedulerOptions,
    private readonly rows: RowSource,
  ) {}

  schedule(): BatchRow[] {
    this.running = this.running.filter((r) => r.phase === "running");
    const batch: BatchRow[] = [];
    let budget = this.options.batchTokens;
    for (const r of this.running) {
      if (budget === 0) break;
      budget -= this.addRow(batch, r, budget);
    }
    if (this.options.policy === "continuous" || this.running.length === 0) budget = this.admit(batch, budget);
    return batch;
  }

  private admit(batch: BatchRow[], budget: number): number {
    while (budget > 0 && this.running.length < this.options.maxBatchSize && this.waiting.length > 0) {
      const row = this.rows.acquire();
      if (!row) break;
      const r = this.waiting.shift()!;
      r.row = row;
      r.phase = "running";
      r.trace.marks.mark(RequestPoint.admitted);
      this.running.push(r);
      budget -= this.addRow(batch, r, budget);
    }
    return budget;
  }

  /** Adds the request's next input to the batch; returns the tokens it uses. */
  private addRow(batch: BatchRow[], r: Request, budget: number): number {
    if (r.prefillDone) {
      batch.push({ request: r, tokens: [r.output[r.output.length - 1]], samples: true, kind: "decode" });
      return 1;
    }
    const n = Math.min(budget, r.prompt.length - r.prefilled);
    const tokens = r.prompt.slice(r.prefilled, r.prefilled + n);
    batch.push({ request: r, tokens, samples: r.prefilled + n === r.prompt.length, kind: "prefill" });
    return n;
  }
}
