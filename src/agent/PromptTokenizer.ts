/**
 * Prompts to token ids without stalling the event loop. llama.cpp's
 * tokenizer is synchronous and costs ~0.3 µs per byte here: a 1 MB prompt
 * held the loop for ~190 ms, and with it every running stream. Short prompts
 * are tokenized in place (≤ SYNC_BYTES: about a millisecond); longer ones on
 * a worker thread that loads the same vocabulary, so the result is the same.
 *
 * Before any of that, a prompt that cannot fit is refused by its length
 * alone: no token covers more than `maxTokenBytes` bytes of text, so a text
 * of n bytes makes at least n / maxTokenBytes tokens.
 */
import { once } from "node:events";
import { Worker } from "node:worker_threads";
import type { CloseRequest, TokenizeJob, TokenizeResult } from "./tokenizerWorker.js";

/** Prompts up to this many UTF-8 bytes are tokenized on the calling thread. */
export const SYNC_BYTES = 4096;

/** Loading the vocabulary takes ~0.5 s here; much longer means it is stuck. */
const START_TIMEOUT_MS = 30_000;

type Tokenize = (text: string, special: boolean) => number[];

interface Pending {
  job: TokenizeJob;
  resolve: (tokens: ArrayLike<number>) => void;
  reject: (err: Error) => void;
}

export class PromptTokenizer {
  private worker: Worker | undefined;
  /** Resolves true once the worker has loaded the vocabulary, false if it cannot. */
  private started: Promise<boolean> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  /** Jobs between offThread's start and its answer (including those waiting for the worker to start). */
  private active = 0;
  private disposed = false;

  constructor(
    private readonly tokenizeHere: Tokenize,
    private readonly modelPath: string,
    /** The longest token's text in bytes, when the tokenizer never shrinks text (SPM, BPE); undefined: no bound. */
    readonly maxTokenBytes: number | undefined,
  ) {}

  /** The fewest tokens `text` can become (0 when no bound is known). */
  minTokens(text: string): number {
    return this.maxTokenBytes ? Math.ceil(Buffer.byteLength(text, "utf8") / this.maxTokenBytes) : 0;
  }

  /**
   * Starts the worker now, so that the first long prompt does not wait for
   * it (~0.5 s, a load of its own on a small machine). Resolves false if it
   * cannot start: long prompts are then tokenized in place.
   */
  async warm(): Promise<boolean> {
    if (this.disposed) return false;
    // Waiting for the start is work: it keeps the process alive (a script that only awaits this must not exit meanwhile).
    if (this.active++ === 0) this.worker?.ref();
    try {
      return await this.start();
    } finally {
      if (--this.active === 0) this.worker?.unref();
    }
  }

  /**
   * Synchronous for short texts (so that callers keep their order), a
   * promise for long ones: of the worker's typed array, so that a prompt
   * about to be refused as too long is never copied into the JS heap.
   */
  tokenize(text: string, special: boolean): number[] | Promise<ArrayLike<number>> {
    if (text.length <= SYNC_BYTES / 3 || Buffer.byteLength(text, "utf8") <= SYNC_BYTES || this.disposed) return this.tokenizeHere(text, special);
    return this.offThread({ id: ++this.nextId, text, special });
  }

  private async offThread(job: TokenizeJob): Promise<ArrayLike<number>> {
    // The worker keeps the process alive only while it has work: an idle one must not hold a CLI open.
    if (this.active++ === 0) this.worker?.ref();
    try {
      const started = await this.start();
      if (this.disposed) throw new Error("the engine is shutting down");
      if (!started || !this.worker) return this.tokenizeHere(job.text, job.special);
      const worker = this.worker;
      return await new Promise<ArrayLike<number>>((resolve, reject) => {
        this.pending.set(job.id, { job, resolve, reject });
        worker.postMessage(job);
      });
    } finally {
      if (--this.active === 0) this.worker?.unref();
    }
  }

  private start(): Promise<boolean> {
    this.started ??= new Promise<boolean>((resolve) => {
      const worker = new Worker(new URL("./tokenizerWorker.js", import.meta.url), { workerData: { modelPath: this.modelPath } });
      this.worker = worker;
      // A worker that never says ready (a hung load) must not hold the server's readiness, nor long prompts, forever.
      const timeout = setTimeout(() => {
        this.abandon(worker, `it did not load the vocabulary within ${START_TIMEOUT_MS / 1000} s`);
        // Asked, not terminated: a thread stopped inside llama.cpp's load aborts the process. It ends once loaded.
        worker.postMessage({ close: true } satisfies CloseRequest);
        worker.unref();
        resolve(false);
      }, START_TIMEOUT_MS);
      timeout.unref();
      worker.on("message", (m: TokenizeResult | { ready: true } | { failed: string }) => {
        clearTimeout(timeout);
        if ("ready" in m) resolve(true);
        else if ("failed" in m) {
          this.abandon(worker, `it could not load the vocabulary: ${m.failed}`);
          resolve(false);
        } else this.answer(m);
      });
      worker.on("error", (err) => {
        this.abandon(worker, err.message);
        resolve(false);
      });
      worker.on("exit", () => {
        this.abandon(worker, "it exited");
        resolve(false);
      });
      if (this.active === 0) worker.unref();
    });
    return this.started;
  }

  private answer(m: TokenizeResult): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    // A job the worker could not do is done here: the caller gets tokens or llama.cpp's own error.
    if ("tokens" in m) p.resolve(m.tokens);
    else this.here(p);
  }

  private here(p: Pending): void {
    try {
      p.resolve(this.tokenizeHere(p.job.text, p.job.special));
    } catch (err) {
      p.reject(err as Error);
    }
  }

  /** The worker is gone: what it had is tokenized here, and so is everything after. */
  private abandon(worker: Worker, why: string): void {
    if (this.worker !== worker) return; // already abandoned ("error" is followed by "exit"), or disposed
    process.emitWarning(`the tokenizer thread stopped (${why}); long prompts are tokenized on the main thread`, "LlmServingWarning");
    this.started = Promise.resolve(false);
    this.worker = undefined;
    const left = [...this.pending.values()];
    this.pending.clear();
    // One per turn of the event loop, so that the streams running meanwhile get their turns too.
    const next = (): void => {
      const p = left.shift();
      if (!p) return;
      this.here(p);
      setImmediate(next);
    };
    next();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const worker = this.worker;
    this.worker = undefined;
    const left = [...this.pending.values()];
    this.pending.clear();
    for (const p of left) p.reject(new Error("the engine is shutting down"));
    if (!worker) return;
    // Terminating the thread inside a native call (the tokenizer, the vocabulary's load) or with its
    // model still loaded aborts the whole process (an uncaught Napi::Error): it is asked to free the
    // model and end between jobs instead. The process waits for it: exiting meanwhile would terminate it all the same.
    const exited = once(worker, "exit");
    worker.ref();
    worker.postMessage({ close: true } satisfies CloseRequest);
    // A load that hangs must not hold the shutdown forever: after the start's own bound, the thread is left to the process's exit.
    let bound: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (bound = setTimeout(resolve, START_TIMEOUT_MS)));
    await Promise.race([exited, late]);
    clearTimeout(bound);
    worker.unref();
  }
}
