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
 *
 * It is the only writer of a request's lifecycle, as nano-vllm's scheduler:
 * waiting → running (with a row) → finished (row released), prefill
 * progress, and cancellation. The master and the postprocessor ask it.
 */
import type { Row } from "../agent/SequencePool.js";
import { RequestPoint } from "../timing/points.js";
import type { FinishReason } from "./GenerationStream.js";
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
  release(row: Row): void;
}

/** What a cancel did: the request was finished at once (it was waiting), will leave at its next step (running), or had already finished. */
export type CancelOutcome = "finished" | "at_next_step" | "already_finished";

export class Scheduler {
  readonly waiting = new WaitingQueue();
  /** Running requests in admission order; finished ones are dropped at the next schedule. */
  running: Request[] = [];

  constructor(
    private readonly options: SchedulerOptions,
    private readonly rows: RowSource,
  ) {}

  /** A validated request joins the queue. */
  enqueue(r: Request): void {
    this.waiting.push(r);
  }

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

  /** The step fed `tokens` more of the request's prompt. */
  fed(r: Request, tokens: number): void {
    r.prefilled += tokens;
  }

  /** Ends a request wherever it is: it leaves the queue, or its row is released. False if it had already finished. */
  finish(r: Request, reason: FinishReason): boolean {
    if (r.phase === "finished") return false;
    if (r.phase === "waiting") this.waiting.remove(r);
    r.phase = "finished";
    r.finishReason = reason;
    if (r.row) {
      this.rows.release(r.row);
      r.row = undefined;
    }
    return true;
  }

  /** A waiting request is finished now (cancelled); a running one leaves at its next step. */
  cancel(r: Request): CancelOutcome {
    if (r.phase === "running") {
      r.cancelRequested = true;
      return "at_next_step";
    }
    return this.finish(r, "cancelled") ? "finished" : "already_finished";
  }

  /** Every waiting request leaves the queue (the caller finishes them); every running one leaves at its next step. */
  stopAll(): Request[] {
    for (const r of this.running) if (r.phase === "running") r.cancelRequested = true;
    return this.waiting.drain();
  }

  /** Adds the request's next input to the batch; returns the tokens it uses. */
  private addRow(batch: BatchRow[], r: Request, budget: number): number {
    if (r.prefillDone) {
      batch.push({ request: r, tokens: [r.output[r.output.length - 1]], samples: true, kind: "decode", position: r.cachedTokens });
      return 1;
    }
    const n = Math.min(budget, r.prompt.length - r.prefilled);
    const tokens = r.prompt.slice(r.prefilled, r.prefilled + n);
    batch.push({ request: r, tokens, samples: r.prefilled + n === r.prompt.length, kind: "prefill", position: r.prefilled });
    return n;
  }
}
