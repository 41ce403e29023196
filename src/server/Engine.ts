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
import { badParam, HttpError } from "./httpErrors.js";

/** Room in a request body for what is not prompt text (parameters, stop strings, chat roles). */
const BODY_SLACK_BYTES = 64 * 1024;

/** The model name Hugging Face's TGI examples send. */
const TGI_ALIAS = "tgi";

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
    /** Start the tokenizer thread for long prompts before reporting ready (else at the first long prompt). */
    private readonly warmTokenizer = true,
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

  /** Requests admitted (received while ready) that have not reached the master yet: a drain waits for them. */
  private arriving = 0;
  private allArrived: (() => void) | undefined;

  /**
   * The master, or a 503 that says why there is none. `admitted`: the
   * request was received before a drain began, so it is still let in.
   */
  requireMaster(admitted = false): Master {
    if (this.master && (this.state === "ready" || (admitted && this.state === "draining"))) return this.master;
    if (this.state === "loading") throw new HttpError(503, "loading", "the model is still loading; try again shortly", undefined, { "retry-after": "1" });
    if (this.state === "failed") throw new HttpError(503, "engine_failed", `the engine is not available: ${this.failure?.message ?? "unknown error"}`);
    throw new HttpError(503, "shutting_down", "the server is shutting down", undefined, { "retry-after": "1" });
  }

  /**
   * Checks the model a client names. No model, "tgi" (Hugging Face's docs
   * name TGI's model so) and an http(s) URL (@huggingface/inference sends
   * its endpoint's URL) all mean the served model; any other name is a 404
   * that says what is served, unless the name check is off.
   */
  checkModelName(name: unknown, param = "model"): void {
    if (this.modelPath === undefined) this.requireMaster(); // still loading: 503, not 404
    if (name === undefined || name === null || this.config.modelNameCheck === "off") return;
    if (typeof name !== "string") throw badParam(param, `must be a string, got ${typeof name}`);
    if (name === this.modelName || name === TGI_ALIAS || /^https?:\/\//i.test(name)) return;
    throw new HttpError(
      404,
      "model_not_found",
      `model ${JSON.stringify(name)} is not served here; this server serves "${this.modelName}" (no model, "${TGI_ALIAS}" or an http(s) URL mean it too)`,
      param,
    );
  }

  /**
   * The largest request body that can hold a prompt that fits, when the
   * tokenizer gives a bound (see PromptTokenizer): the prompt's bytes, each
   * written at worst as a 6-byte JSON escape, plus room for everything else.
   * Larger bodies are refused before they are read: parsing a 1 MB body
   * alone holds the event loop for ~10 ms.
   */
  get maxBodyBytes(): number | undefined {
    const master = this.state === "ready" ? this.master : undefined;
    const perToken = master?.agent.prompts.maxTokenBytes;
    return master && perToken ? master.agent.rowCapacity * perToken * 6 + BODY_SLACK_BYTES : undefined;
  }

  /** A generation request begins (its body may still be arriving); false once a drain has begun. */
  admit(): boolean {
    if (this.state !== "ready") return false;
    this.arriving++;
    return true;
  }

  /** An admitted request has reached the master, or ended without. */
  settle(): void {
    if (--this.arriving > 0) return;
    this.allArrived?.();
    this.allArrived = undefined;
  }

  /** Says how the context size differs from what was asked, if it does (llama.cpp rounds it up). */
  get contextNote(): string | undefined {
    const actual = this.agent?.rowCapacity;
    const asked = this.config.contextSize;
    if (actual === undefined || actual === asked) return undefined;
    const why = actual > asked ? "llama.cpp sizes the KV cache in multiples of 256 tokens" : "llama.cpp could not give more";
    return `the context size asked for (${asked} tokens) is ${actual} tokens per request: ${why}`;
  }

  private async load(resolveModelPath: () => Promise<string>): Promise<void> {
    const c = this.config;
    try {
      this.modelPath = await resolveModelPath();
      const agent = await Agent.load({ modelPath: this.modelPath, rows: c.rows, contextSize: c.contextSize, batchTokens: c.batchTokens, threads: c.threads, gpu: c.gpu, gpuLayers: c.gpuLayers });
      if (this.warmTokenizer) await agent.prompts.warm();
      if (this.state !== "loading") {
        // Shut down while loading: nobody will use it.
        await agent.dispose();
        return;
      }
      this.agent = agent;
      this.master = new Master(agent, { batching: c.batching, maxWaiting: c.queueLimit, blockSize: c.blockSize, eosTokenIds: c.eosTokenIds, recordTokens: c.timing });
      if (this.onStep) this.master.onStep(this.onStep);
      this.state = "ready";
    } catch (err) {
      if (this.state === "loading") this.state = "failed";
      this.failure = err as Error;
      throw err;
    }
  }

  /**
   * Lets in-flight requests finish for up to `timeoutMs`, then cancels what
   * is left. Resolves true if everything finished in time.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    // While loading, every request was answered 503: nothing is in flight, and a load cannot be cut short.
    if (this.state === "loading") {
      this.state = "stopped";
      return true;
    }
    if (this.state === "ready") this.state = "draining";
    const master = this.master;
    if (!master) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    // Requests received before the signal, whose bodies may still be arriving, get in first.
    const arrived = this.arriving === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.allArrived = resolve));
    const finished = await Promise.race([arrived.then(() => master.drain()).then(() => true as const), timedOut]);
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
