/**
 * The engine as the server sees it: loading (the server already answers, with
 * 503), ready, draining on shutdown. Routes ask it for the master and get a
 * 503 while there is none to serve them.
 */
import { basename, extname } from "node:path";
import { Agent, type ModelInfo } from "../agent/Agent.js";
import { Master } from "../master/Master.js";
import type { EngineStep } from "../timing/StepRecord.js";
import type { ServeConfig } from "./config/ServeConfig.js";
import { HttpError } from "./httpErrors.js";

export type EngineState = "loading" | "ready" | "draining" | "stopped" | "failed";

export class Engine {
  state: EngineState = "loading";
  agent: Agent | undefined;
  master: Master | undefined;
  /** Why loading failed. */
  failure: Error | undefined;
  /** Resolves when the model is loaded and warmed up (rejects if it cannot be). */
  readonly ready: Promise<void>;

  /** The GGUF file, once resolved (the default model may have to be made first). */
  modelPath: string | undefined;

  constructor(
    readonly config: ServeConfig,
    resolveModelPath: () => Promise<string>,
    /** Receives every engine step (the timing instruments), if any. */
    private readonly onStep?: (step: EngineStep) => void,
  ) {
    this.ready = this.load(resolveModelPath);
    this.ready.catch(() => undefined); // the failure is kept in `failure` and shown by /health
  }

  /** The name clients use for the model ("" until the model file is known). */
  get modelName(): string {
    if (this.config.modelName) return this.config.modelName;
    return this.modelPath ? basename(this.modelPath, extname(this.modelPath)) : "";
  }

  get info(): ModelInfo | undefined {
    return this.agent?.info;
  }

  /** The master, or a 503 that says why there is none. */
  requireMaster(): Master {
    if (this.state === "ready" && this.master) return this.master;
    if (this.state === "loading") throw new HttpError(503, "loading", "the model is still loading; try again shortly", undefined, { "retry-after": "1" });
    if (this.state === "failed") throw new HttpError(503, "engine_failed", `the engine is not available: ${this.failure?.message ?? "unknown error"}`);
    throw new HttpError(503, "shutting_down", "the server is shutting down", undefined, { "retry-after": "1" });
  }

  /** 404 unless `name` is the served model's name. */
  checkModelName(name: unknown, param = "model"): void {
    if (this.modelPath === undefined) this.requireMaster(); // still loading: 503, not 404
    if (name !== this.modelName) {
      throw new HttpError(404, "model_not_found", `model ${JSON.stringify(name)} is not served here; this server serves "${this.modelName}"`, param);
    }
  }

  private async load(resolveModelPath: () => Promise<string>): Promise<void> {
    const c = this.config;
    try {
      this.modelPath = await resolveModelPath();
      this.agent = await Agent.load({ modelPath: this.modelPath, rows: c.rows, contextSize: c.contextSize, batchTokens: c.batchTokens, threads: c.threads });
      this.master = new Master(this.agent, { batching: c.batching, maxWaiting: c.queueLimit, blockSize: c.blockSize, eosTokenIds: c.eosTokenIds, recordTokens: c.timing });
      if (this.onStep) this.master.onStep(this.onStep);
      if (this.state === "loading") this.state = "ready";
    } catch (err) {
      this.state = "failed";
      this.failure = err as Error;
      throw err;
    }
  }

  /**
   * Lets in-flight requests finish for up to `timeoutMs`, then cancels what
   * is left. Resolves true if everything finished in time.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.state === "loading") await this.ready.catch(() => undefined);
    if (this.state === "ready") this.state = "draining";
    const master = this.master;
    if (!master) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const finished = await Promise.race([master.drain().then(() => true as const), timedOut]);
    clearTimeout(timer);
    if (!finished) await master.close();
    return finished;
  }

  /** Frees the model (after the responses that may still read token texts are done). */
  async dispose(): Promise<void> {
    await this.agent?.dispose();
    this.state = "stopped";
  }
}
