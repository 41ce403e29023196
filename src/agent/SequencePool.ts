/**
 * The context's sequences (rows), made once and reused: a released sequence
 * is reset (its KV cells cleared) in the background and becomes available
 * again when the reset is done. Disposing and re-creating sequences per
 * request would wait on a context-wide lock.
 */
import type { LlamaContext, LlamaContextSequence } from "node-llama-cpp";

export type Row = LlamaContextSequence;

export class SequencePool {
  private readonly free: Row[] = [];
  private resets = 0;
  private idleWaiters: Array<() => void> = [];
  /** Called whenever a sequence becomes available again. */
  onAvailable: (() => void) | undefined;
  /** Called when a reset fails; the sequence is replaced if the context allows. */
  onError: ((err: Error) => void) | undefined;
  private lost = 0;

  constructor(
    private readonly context: LlamaContext,
    size: number,
    private readonly makeSequence: (context: LlamaContext) => Row,
  ) {
    for (let i = 0; i < size; i++) this.free.push(makeSequence(context));
  }

  /** Sequences ready to take a request now. */
  get available(): number {
    return this.free.length;
  }

  /** Sequences being reset (they come back soon). */
  get resetting(): number {
    return this.resets;
  }

  /** Sequences this pool can hand out in all (less any lost to failed resets). */
  get capacity(): number {
    return this.context.totalSequences - this.lost;
  }

  acquire(): Row | undefined {
    return this.free.pop();
  }

  release(row: Row): void {
    this.resets++;
    row.clearHistory().then(
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
    this.free.push(row);
    this.settle();
  }

  private replace(row: Row, err: Error): void {
    this.onError?.(new Error(`resetting a sequence failed: ${err.message}`));
    row.dispose().then(
      () => {
        try {
          this.returned(this.makeSequence(this.context));
        } catch (e) {
          this.lost++;
          this.onError?.(new Error(`a sequence could not be replaced: ${(e as Error).message}`));
          this.settle();
        }
      },
      () => {
        this.lost++;
        this.settle();
      },
    );
  }

  private settle(): void {
    this.resets--;
    if (this.resets === 0) for (const w of this.idleWaiters.splice(0)) w();
    this.onAvailable?.();
  }
}
