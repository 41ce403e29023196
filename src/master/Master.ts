/**
 * The master owns the request lifecycle. Its loop is the architecture:
 *
 *   schedule (Scheduler) → run (buildStepInputs, Agent.runStep) → postprocess (Postprocessor) → deliver
 *
 * Every boundary is a step time point. An engine error in one row ends only
 * that request; a failing step fails the requests it carried and the loop goes
 * on; if the loop cannot go on, every caller gets an error.
 */
import { randomInt } from "node:crypto";
import type { Agent } from "../agent/Agent.js";
import { now } from "../timing/clock.js";
import { RequestPoint, StepPoint } from "../timing/points.js";
import { RequestTrace } from "../timing/RequestTrace.js";
import { EngineError, RequestError } from "./errors.js";
import type { GenerationRequest } from "./GenerationRequest.js";
import { validate, validateTokenIds, type ValidRequest } from "./validate.js";
import type { FinishReason, GenerationStream } from "./GenerationStream.js";
import { kvUsage, type KvUsage } from "./KvUsage.js";
import { Outbox } from "./Outbox.js";
import { Postprocessor, type Delivery } from "./Postprocessor.js";
import { Request } from "./Request.js";
import { Scheduler, type BatchingPolicy } from "./Scheduler.js";
import { Step } from "./Step.js";
import { buildStepInputs } from "./StepInputs.js";

export interface MasterOptions {
  /** Default "continuous". */
  batching?: BatchingPolicy;
  /** Most requests running at once (≤ the agent's rows). Default: the agent's rows. */
  maxBatchSize?: number;
  /** Most requests waiting for a row; beyond it submit() throws queue_full. Default 1024. */
  maxWaiting?: number;
  /** Block size for KV accounting (llm-serving's pa_config.block_size). Default 16. */
  blockSize?: number;
  /** End tokens replacing the model's (llm-serving's end_token); a request may override them. */
  eosTokenIds?: readonly number[];
  /** Record per request the steps that carried it and per token when it was produced and delivered. Default true. */
  recordTokens?: boolean;
}

export type MasterState = "running" | "draining" | "stopped" | "failed";

export interface MasterStats {
  state: MasterState;
  running: number;
  waiting: number;
  /** Rows in the step in flight or just run; 0 once the loop has nothing to run. */
  batchSize: number;
  steps: number;
  kv: KvUsage;
}

/** Consecutive failed steps after which the loop gives up and fails everyone. */
const MAX_FAILED_STEPS = 3;

export class Master {
  private readonly scheduler: Scheduler;
  private readonly postprocessor: Postprocessor;
  private readonly deliveries: Delivery[] = [];
  private readonly stepListeners = new Set<(step: Step) => void>();
  private readonly maxWaiting: number;
  private readonly blockSize: number;
  private readonly eosTokenIds: ReadonlySet<number> | undefined;
  private wake: (() => void) | undefined;
  private stepCount = 0;
  private lastBatchSize = 0;
  private failedSteps = 0;
  private requestCount = 0;
  /** Requests being tokenized: they count against the queue limit, and a drain waits for them. */
  private intake = 0;
  private readonly recordTokens: boolean;
  private readonly outbox: Outbox;
  /** When the previous step delivered (for each step's gap). */
  private lastDelivered = NaN;
  private _state: MasterState = "running";
  /** Why the loop stopped, when it failed. */
  failure: Error | undefined;
  /** Resolves when the loop has exited. */
  readonly stopped: Promise<void>;

  constructor(
    readonly agent: Agent,
    options: MasterOptions = {},
  ) {
    const maxBatchSize = options.maxBatchSize ?? agent.pool.capacity;
    if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1 || maxBatchSize > agent.pool.capacity) {
      throw new RangeError(`maxBatchSize must be an integer in [1, ${agent.pool.capacity}] (the agent's rows), got ${maxBatchSize}`);
    }
    // Named as llm-serving names a server's own end tokens (its config's end_token), not as a request's eos_token_id.
    if (options.eosTokenIds) validateTokenIds("end_token", options.eosTokenIds, agent.info.vocabSize);
    this.maxWaiting = options.maxWaiting ?? 1024;
    this.blockSize = options.blockSize ?? 16;
    this.eosTokenIds = options.eosTokenIds ? new Set(options.eosTokenIds) : undefined;
    this.scheduler = new Scheduler({ policy: options.batching ?? "continuous", maxBatchSize, batchTokens: agent.batchTokens }, agent.pool);
    this.recordTokens = options.recordTokens ?? true;
    this.postprocessor = new Postprocessor(
      {
        isEos: (r, token) => (r.params.eosTokenIds ? r.params.eosTokenIds.includes(token) : this.eosTokenIds ? this.eosTokenIds.has(token) : agent.isEndOfGeneration(token)),
        isSpecial: (token) => agent.isSpecial(token),
      },
      this.scheduler,
      this.recordTokens,
    );
    this.outbox = new Outbox(this.recordTokens);
    agent.onDecodeStart = () => this.outbox.flush();
    agent.pool.onAvailable = () => this.signal();
    // A row whose reset failed is not used again; with none left, waiting requests would wait forever.
    agent.pool.onError = (err) => {
      process.emitWarning(err.message, "LlmServingWarning");
      if (agent.pool.capacity === 0) this.fail(new Error("no row is left: every row's reset failed"));
    };
    this.stopped = this.loop();
  }

  get state(): MasterState {
    return this._state;
  }

  /**
   * Validates, tokenizes and queues a request; rejects with a RequestError
   * for bad input (nothing is queued). Short prompts are tokenized before the
   * promise is returned, so requests submitted one after another keep their
   * order; long ones are tokenized off the event loop meanwhile.
   */
  async submit(request: GenerationRequest): Promise<GenerationStream> {
    this.checkAccepting();
    // Admission before validation (as TGI's concurrency limit): an overloaded server spends nothing on a prompt it will refuse.
    if (this.scheduler.waiting.length + this.intake >= this.maxWaiting) {
      throw new RequestError("queue_full", `too many requests waiting (${this.maxWaiting}); try again later`);
    }
    const trace = request.trace ?? new RequestTrace();
    const info = this.agent.info;
    const limits = { vocabSize: info.vocabSize, rowCapacity: this.agent.rowCapacity, bosToken: info.bosToken, addBos: info.addBos };
    let valid: ValidRequest;
    this.intake++;
    try {
      const checked = validate(request, limits, this.agent.prompts, () => trace.marks.mark(RequestPoint.tokenized));
      valid = checked instanceof Promise ? await checked : checked;
    } finally {
      this.intake--;
      this.signal(); // a drain may be waiting for the intake to end
    }
    // Accepted before a drain began: it is served. After close() or a failure: not.
    if (this._state === "stopped" || this._state === "failed") this.checkAccepting();
    const id = request.id ?? `req-${++this.requestCount}`;
    const seed = valid.seed ?? randomInt(0, 0x100000000);
    const r = new Request(trace, id, valid, seed, (tokens) => this.agent.detokenize(tokens), (req) => this.cancel(req));
    // A caller gone while its prompt was tokenized is never queued: its stream ends cancelled at once.
    if (request.signal?.aborted) {
      this.finish(r, "cancelled");
      return r.stream;
    }
    request.signal?.addEventListener("abort", () => r.stream.cancel(), { once: true });
    this.scheduler.enqueue(r);
    this.signal();
    return r.stream;
  }

  private checkAccepting(): void {
    if (this._state === "failed") throw new EngineError(`the engine loop has stopped: ${this.failure?.message}`);
    if (this._state !== "running") throw new RequestError("shutting_down", "the server is shutting down");
  }

  /** Calls `listener` after every step with its record. */
  onStep(listener: (step: Step) => void): () => void {
    this.stepListeners.add(listener);
    return () => this.stepListeners.delete(listener);
  }

  get stats(): MasterStats {
    const running = this.scheduler.running.filter((r) => r.phase === "running");
    return {
      state: this._state,
      running: running.length,
      waiting: this.scheduler.waiting.length,
      batchSize: this.lastBatchSize,
      steps: this.stepCount,
      kv: kvUsage(running, this.agent.pool.capacity, this.agent.rowCapacity, this.blockSize),
    };
  }

  /** Stops accepting requests and resolves when every accepted one has finished. */
  async drain(): Promise<void> {
    if (this._state === "running") this._state = "draining";
    this.signal();
    await this.stopped;
  }

  /** Stops now: every request still waiting or running ends as cancelled. */
  async close(): Promise<void> {
    if (this._state === "running" || this._state === "draining") this._state = "stopped";
    for (const r of this.scheduler.stopAll()) this.finish(r, "cancelled");
    this.signal();
    await this.stopped;
  }

  private cancel(r: Request): void {
    const outcome = this.scheduler.cancel(r);
    if (outcome === "finished") this.announceFinish(r, "cancelled");
    else if (outcome === "at_next_step") this.signal();
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private hasWork(): boolean {
    return this.intake > 0 || this.scheduler.waiting.length > 0 || this.scheduler.running.some((r) => r.phase === "running");
  }

  private async loop(): Promise<void> {
    try {
      while (this._state === "running" || this.hasWork()) {
        for (const r of this.scheduler.running) if (r.cancelRequested) this.finish(r, "cancelled");
        // A finished row's reset is under way: let it land so a waiting request can take the row in this step.
        if (this.scheduler.waiting.length > 0 && this.agent.pool.available === 0 && this.agent.pool.resetting > 0) {
          this.outbox.flush();
          await this.agent.pool.whenSettled();
        }
        const start = now();
        const batch = this.scheduler.schedule();
        if (batch.length === 0) {
          // Nothing to run: hand over what is held, and wait for a submit, a cancel, a row coming back or shutdown.
          this.outbox.flush();
          this.lastBatchSize = 0;
          await new Promise<void>((resolve) => (this.wake = resolve));
          continue;
        }
        const step = new Step(++this.stepCount);
        step.rows = batch;
        step.marks.set(StepPoint.step_start, start);
        step.marks.mark(StepPoint.scheduled);
        step.gap = start - this.lastDelivered;
        step.waiting = this.scheduler.waiting.length;
        this.lastBatchSize = batch.length;
        await this.runStep(step);
      }
      if (this._state !== "failed") this._state = "stopped";
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.outbox.flush();
    }
  }

  /** run → postprocess → deliver for one scheduled step. */
  private async runStep(step: Step): Promise<void> {
    try {
      const inputs = buildStepInputs(step.rows);
      const decodesBefore = this.agent.decodeCount;
      const { outputs, times } = await this.agent.runStep(inputs);
      step.marks.set(StepPoint.inputs_submitted, times.inputsSubmitted);
      step.marks.set(StepPoint.decode_start, times.decodeStart);
      step.marks.set(StepPoint.decode_end, times.decodeEnd);
      step.marks.set(StepPoint.sampled, times.sampled);
      step.decodes = this.agent.decodeCount - decodesBefore;
      this.deliveries.length = 0;
      this.postprocessor.process(step, outputs, this.deliveries);
      step.marks.mark(StepPoint.postprocessed);
      this.deliver(step.id, this.deliveries);
      this.lastDelivered = step.marks.mark(StepPoint.delivered);
      this.failedSteps = 0;
    } catch (err) {
      // Held events of the previous step go out before this step's errors, in order.
      this.outbox.flush();
      const error = new EngineError(`step ${step.id} failed: ${(err as Error).message}`, { cause: err });
      for (const row of step.rows) this.finish(row.request, "error", error);
      if (++this.failedSteps >= MAX_FAILED_STEPS) throw error;
    }
    for (const listener of this.stepListeners) {
      try {
        listener(step);
      } catch (err) {
        // An observer's bug must not stop the engine; say so instead.
        process.emitWarning(`a step listener threw: ${(err as Error).message}`, "LlmServingWarning");
      }
    }
  }

  /** The step's events go to the outbox, held until the next step's decode starts (see Outbox). */
  private deliver(stepId: number, deliveries: readonly Delivery[]): void {
    this.outbox.hold();
    for (const d of deliveries) {
      if (d.event) this.outbox.push(d.request, d.event, stepId);
      if (d.finish) this.finish(d.request, d.finish, d.error, d.stopString);
    }
  }

  private finish(r: Request, reason: FinishReason, error?: Error, stopString?: string): void {
    if (this.scheduler.finish(r, reason)) this.announceFinish(r, reason, error, stopString);
  }

  /** The finish event, after the scheduler has ended the request. */
  private announceFinish(r: Request, reason: FinishReason, error?: Error, stopString?: string): void {
    this.outbox.push(r, {
      type: "finish",
      id: r.id,
      finishReason: reason,
      error,
      text: r.text.slice(0, r.emitted),
      stopString,
      promptTokens: r.prompt.length,
      generatedTokens: r.output.length,
      seed: r.seed,
    });
  }

  /** The loop cannot go on: every caller gets an error, and so does every later submit. */
  private fail(err: Error): void {
    this._state = "failed";
    this.failure = err;
    const error = new EngineError(`the engine loop has stopped: ${err.message}`, { cause: err });
    for (const r of this.scheduler.stopAll()) this.finish(r, "error", error);
    for (const r of this.scheduler.running) this.finish(r, "error", error);
  }
}
