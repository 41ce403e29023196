/**
 * The context's sequences (rows), made once and reused: a released row is
 * reset (its KV cells cleared) in the background and becomes available again
 * when the reset is done. Disposing and re-creating sequences per request
 * would wait on a context-wide lock.
 *
 * The pool always hands out the free row with the lowest index. llama.cpp
 * (with a KV stream per sequence) splits a batch into one micro-batch per run
 * of consecutive, ascending sequence ids: rows 0,1,2,3 decode in one pass,
 * rows 0,2,4,6 in four, at up to twice the step time (measured on the small
 * preset). Keeping busy rows packed at the low indices, and submitting them
 * in index order (Agent.runStep), keeps steps in as few passes as possible.
 */
import type { LlamaContext, LlamaContextSequence } from "node-llama-cpp";

export class Row {
  constructor(
    /** Position in the pool; sequences are created in this order, so it is also their sequence id. */
    readonly index: number,
    public sequence: LlamaContextSequence,
  ) {}
}

type RowState = "free" | "busy" | "resetting" | "lost";

export class SequencePool {
  private readonly rows: Row[] = [];
  private readonly state: RowState[] = [];
  private resets = 0;
  private freeCount = 0;
  private idleWaiters: Array<() => void> = [];
  /** Called whenever a row becomes available again. */
  onAvailable: (() => void) | undefined;
  /** Called when a reset fails; the row's sequence is replaced if the context allows. */
  onError: ((err: Error) => void) | undefined;

  constructor(
    private readonly context: LlamaContext,
    size: number,
    private readonly makeSequence: (context: LlamaContext) => LlamaContextSequence,
  ) {
    for (let i = 0; i < size; i++) {
      this.rows.push(new Row(i, makeSequence(context)));
      this.state.push("free");
    }
    this.freeCount = size;
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
    row.sequence.clearHistory().then(
      () => this.returned(row),
      (err: Error) => this.replace(row, err),
    );
  }

  /** Resolves once no reset is in progress. */
  whenSettled(): Promise<void> {
    if (this.resets === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private returned(row: Row): void {
    this.state[row.index] = "free";
    this.freeCount++;
    this.settle();
  }

  private replace(row: Row, err: Error): void {
    this.onError?.(new Error(`resetting row ${row.index} failed: ${err.message}`));
    const lose = (e: unknown): void => {
      this.state[row.index] = "lost";
      this.onError?.(new Error(`row ${row.index} could not be replaced: ${(e as Error).message}`));
      this.settle();
    };
    row.sequence.dispose().then(() => {
      try {
        row.sequence = this.makeSequence(this.context);
        this.returned(row);
      } catch (e) {
        lose(e);
      }
    }, lose);
  }

  private settle(): void {
    this.resets--;
    if (this.resets === 0) for (const w of this.idleWaiters.splice(0)) w();
    this.onAvailable?.();
  }
}
