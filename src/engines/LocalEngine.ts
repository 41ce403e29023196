/**
 * The engine in this process: one master and its agent on a GGUF model.
 * Loading (the server already answers, with 503), ready, draining on
 * shutdown; requests get an EngineUnavailableError while it cannot take them.
 */
import { basename, extname } from "node:path";
import { Agent } from "../agent/Agent.js";
import { contextNote } from "../agent/contextFit.js";
import type { GpuChoice, GpuLayers } from "../agent/gpu.js";
import type { GenerationRequest } from "../master/GenerationRequest.js";
import type { GenerationStream } from "../master/GenerationStream.js";
import { Master, type MasterStats } from "../master/Master.js";
import type { BatchingPolicy } from "../master/Scheduler.js";
import { Arrivals } from "./Arrivals.js";
import { ChatTemplate } from "./ChatTemplate.js";
import { EngineUnavailableError, type Engine, type EngineModel, type EngineRequest, type EngineState, type EngineTokens, type StepListener } from "./Engine.js";

/** What the local engine runs with (the server's configuration has these fields). */
export interface LocalEngineOptions {
  /** The name clients use; absent = the model file's name. */
  modelName: string | undefined;
  rows: number;
  contextSize: number;
  batchTokens: number;
  threads: number;
  gpu: GpuChoice;
  gpuLayers: GpuLayers;
  batching: BatchingPolicy;
  queueLimit: number;
  blockSize: number;
  eosTokenIds: number[] | undefined;
  /** Keep per-token records (the timing instruments read them). */
  timing: boolean;
}

export class LocalEngine implements Engine {
  state: EngineState = "loading";
  agent: Agent | undefined;
  master: Master | undefined;
  failure: Error | undefined;
  readonly ready: Promise<void>;
  model: EngineModel | undefined;
  tokens: EngineTokens | undefined;

  /** The GGUF file, once resolved (the default model may have to be made first). */
  modelPath: string | undefined;

  private chatTemplate: ChatTemplate | undefined;

  /** Requests admitted (received while ready) that have not reached the master yet: a drain waits for them. */
  private readonly arrivals = new Arrivals();

  constructor(
    readonly options: LocalEngineOptions,
    resolveModelPath: () => Promise<string>,
    private readonly onStep?: StepListener,
    /** Start the tokenizer thread for long prompts before reporting ready (else at the first long prompt). */
    private readonly warmTokenizer = true,
  ) {
    this.ready = this.load(resolveModelPath);
    this.ready.catch(() => undefined); // the failure is kept in `failure` and shown by /health
  }

  get modelName(): string {
    if (this.options.modelName) return this.options.modelName;
    return this.modelPath ? basename(this.modelPath, extname(this.modelPath)) : "";
  }

  get maxPromptBytes(): number | undefined {
    const agent = this.state === "ready" ? this.agent : undefined;
    const perToken = agent?.prompts.maxTokenBytes;
    return agent && perToken ? agent.rowCapacity * perToken : undefined;
  }

  ensureAvailable(admitted = false): void {
    this.requireMaster(admitted);
  }

  // Async, so that an unavailable engine rejects instead of throwing; the master's submit still starts in this tick.
  async generate(request: EngineRequest, admitted: boolean): Promise<GenerationStream> {
    const master = this.requireMaster(admitted);
    return master.submit("messages" in request ? this.chatPrompt(request, master) : request);
  }

  /** A chat's prompt, from the model's template (special tokens in it are parsed as such). */
  private chatPrompt({ messages, ...rest }: Extract<EngineRequest, { messages: unknown }>, master: Master): GenerationRequest {
    const info = master.agent.info;
    this.chatTemplate ??= new ChatTemplate(info.chatTemplate, { bos: info.bosText, eos: info.eosText });
    return { ...rest, prompt: this.chatTemplate.render(messages), specialTokens: this.chatTemplate.fromModel };
  }

  stats(): MasterStats {
    return this.requireMaster().stats;
  }

  admit(): boolean {
    return this.arrivals.admit(this.state === "ready");
  }

  settle(): void {
    this.arrivals.settle();
  }

  private requireMaster(admitted = false): Master {
    if (this.master && (this.state === "ready" || (admitted && this.state === "draining"))) return this.master;
    if (this.state === "loading") throw new EngineUnavailableError("loading", "the model is still loading; try again shortly", true);
    if (this.state === "failed") throw new EngineUnavailableError("engine_failed", `the engine is not available: ${this.failure?.message ?? "unknown error"}`, false);
    throw new EngineUnavailableError("shutting_down", "the server is shutting down", true);
  }

  private describe(agent: Agent): EngineModel {
    const actual = agent.rowCapacity;
    const asked = this.options.contextSize;
    return {
      info: agent.info,
      placement: agent.placement,
      contextSize: actual,
      requestedContextSize: asked,
      contextNote: contextNote(asked, actual, agent.info.trainContextSize),
      rows: this.options.rows,
      queueLimit: this.options.queueLimit,
      sampling: agent.sampling,
    };
  }

  private async load(resolveModelPath: () => Promise<string>): Promise<void> {
    const o = this.options;
    try {
      this.modelPath = await resolveModelPath();
      const agent = await Agent.load({ modelPath: this.modelPath, rows: o.rows, contextSize: o.contextSize, batchTokens: o.batchTokens, threads: o.threads, gpu: o.gpu, gpuLayers: o.gpuLayers });
      if (this.warmTokenizer) await agent.prompts.warm();
      if (this.state !== "loading") {
        // Shut down while loading: nobody will use it.
        await agent.dispose();
        return;
      }
      this.agent = agent;
      this.master = new Master(agent, { batching: o.batching, maxWaiting: o.queueLimit, blockSize: o.blockSize, eosTokenIds: o.eosTokenIds, recordTokens: o.timing });
      if (this.onStep) this.master.onStep(this.onStep);
      this.model = this.describe(agent);
      this.tokens = { text: (id) => agent.tokenText(id), bytes: (id) => agent.tokenBytes(id), isSpecial: (id) => agent.isSpecial(id), detokenize: (ids) => agent.detokenize(ids) };
      this.state = "ready";
    } catch (err) {
      if (this.state === "loading") this.state = "failed";
      this.failure = err as Error;
      throw err;
    }
  }

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
    const arrived = this.arrivals.all();
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
