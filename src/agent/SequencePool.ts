/**
 * The context's sequences (rows), reused for request after request: a
 * released row's KV cells are cleared, then it is available again. The agent
 * clears a row only while no decode runs (llama.cpp's KV cache is not safe to
 * change during one), so a row released mid-step comes back after the step.
 *
 * The pool always hands out the free row with the lowest index. llama.cpp
 * (with a KV stream per sequence) splits a batch into one micro-batch per run
 * of consecutive, ascending sequence ids: rows 0,1,2,3 decode in one pass,
 * rows 0,2,4,6 in four, at up to twice the step time (measured on the small
 * preset). Keeping busy rows packed at the low indices, and submitting them
 * in index order (Agent.runStep), keeps steps in as few passes as possible.
 */
import type { RowSampler } from "./RowSampler.js";

export class Row {
  /** Tokens in the row's KV cells: the position of the next token fed. */
  position = 0;

  constructor(
    /** Position in the pool, and the row's llama.cpp sequence id. */
    readonly index: number,
    readonly sampler: RowSampler,
  ) {}
}

type RowState = "free" | "busy" | "resetting" | "lost";

/** Clears a row's KV cells once no decode runs; resolves when done. */
export type RowReset = (row: Row) => Promise<void>;

export class SequencePool {
  private readonly rows: Row[];
  private readonly state: RowState[];
  private resets = 0;
  private freeCount: number;
  private idleWaiters: Array<() => void> = [];
  /** Called whenever a row becomes available again. */
  onAvailable: (() => void) | undefined;
  /** Called when a reset fails; that row is not used again. */
  onError: ((err: Error) => void) | undefined;

  constructor(
    samplers: readonly RowSampler[],
    private readonly reset: RowReset,
  ) {
    this.rows = samplers.map((sampler, i) => new Row(i, sampler));
    this.state = this.rows.map(() => "free");
    this.freeCount = this.rows.length;
  }

  /** Rows ready to take a request now. */
  get available(): number {
    return this.freeCount;
  }

  /** Rows being reset (they come back soon). */
  get resetting(): number {
    return this.resets;
  }

  /** Rows this pool can hand out in all (less any lost to failed resets). */
  get capacity(): number {
    return this.state.filter((s) => s !== "lost").length;
  }

  /** The free row with the lowest index, or undefined. */
  acquire(): Row | undefined {
    if (this.freeCount === 0) return undefined;
    const i = this.state.indexOf("free");
    this.state[i] = "busy";
    this.freeCount--;
    return this.rows[i];
  }

  release(row: Row): void {
    this.state[row.index] = "resetting";
    this.resets++;
    this.reset(row).then(
      () => {
        row.position = 0;
        row.sampler.renew();
        this.state[row.index] = "free";
        this.freeCount++;
        this.settle();
      },
      (err: Error) => {
        this.state[row.index] = "lost";
        this.onError?.(new Error(`resetting row ${row.index} failed, so it is not used again: ${err.message}`));
        this.settle();
      },
    );
  }

  /** Resolves once no reset is in progress. */
  whenSettled(): Promise<void> {
    if (this.resets === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Every row, for disposing of their samplers. */
  all(): readonly Row[] {
    return this.rows;
  }

  private settle(): void {
    this.resets--;
    if (this.resets === 0) for (const w of this.idleWaiters.splice(0)) w();
    this.onAvailable?.();
  }
}
