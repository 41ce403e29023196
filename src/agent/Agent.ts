/**
 * The agent runs the model: one llama.cpp context whose sequences are the
 * batch rows. One engine step is exactly one llama_decode for every active
 * row, then one native sampling per row that asked for a token.
 *
 * The agent calls llama.cpp's batch API itself (node-llama-cpp's addon:
 * initBatch, addToBatch, decodeBatch, sampleToken) instead of going through
 * node-llama-cpp's sequence evaluation, whose per-call queueing, locks and
 * sampler set-up cost ~0.3 ms of JS per token and made a single stream
 * 10–25 % slower than llama-server on the same llama.cpp (measured side by
 * side: bench:vs-llama-server). So the agent keeps each row's position and
 * clears a row's KV cells itself, between steps.
 */
import type { LlamaContext, LlamaModel, Token } from "node-llama-cpp";
import { now } from "../timing/clock.js";
import { loadLlama } from "./llama.js";
import { describeModel, longestTokenBytes, tokenizerKind, vocabularySpelling, type ModelInfo } from "./modelInfo.js";
import type { GpuChoice, GpuLayers, Placement } from "./gpu.js";
import { assertContextFits } from "./contextFit.js";
import { addonOf, newAddonSampler, type AddonContext } from "./internals.js";
import { onePoolThread, type SamplingHandOff } from "./libuvPool.js";
import { PromptTokenizer } from "./PromptTokenizer.js";
import { RowSampler } from "./RowSampler.js";
import { TokenFacts } from "./TokenFacts.js";
import { tokenBytes } from "./tokenBytes.js";
import { errorOutput, sampleAfterDecode, sampleAll } from "./rowSampling.js";
import { GREEDY, type SamplingParams } from "./Sampling.js";
import { SequencePool, type Row } from "./SequencePool.js";

export interface AgentOptions {
  /** A GGUF file. */
  modelPath: string;
  /** Sequences in the context: the most requests that can run at once. Default 8. */
  rows?: number;
  /** Tokens each row can hold (prompt + output); llama.cpp rounds it up to a multiple of 256. Default 2048. */
  contextSize?: number;
  /** Most tokens one decode may carry; longer prompts are prefilled in chunks. Default 512. */
  batchTokens?: number;
  /** CPU threads for llama.cpp. Default 1: more threads compete with the JS thread. */
  threads?: number;
  /** Run one decode before reporting ready (the first decode pays page faults). Default true. */
  warmup?: boolean;
  /**
   * Flash attention. Default true, as llama.cpp resolves its own default
   * ("auto") on CPU; node-llama-cpp's default is off, which made every decode
   * step 10–25 % slower than llama-server's (measured side by side).
   */
  flashAttention?: boolean;
  /** Which llama.cpp build: "off" (the CPU; the default here), "auto", "cuda" or "vulkan" (see gpu.ts). */
  gpu?: GpuChoice;
  /** Layers on the GPU when one is used. Default "auto": as many as fit. */
  gpuLayers?: GpuLayers;
  /**
   * "auto" (the default): queue each step's sampling right behind its decode
   * when the libuv pool has one thread (see libuvPool.ts), else after the
   * decode has come back to JS. "awaited": always the latter.
   */
  sampling?: "auto" | "awaited";
}


export type { ModelInfo } from "./modelInfo.js";

export interface RowSample {
  params: SamplingParams;
  /** The seed for this one token. */
  seed: number;
  /** Recent tokens for the repetition penalties (only when they are on). */
  penaltyTokens?: number[];
  /** Also compute the token's probability (llama.cpp sorts the whole vocabulary for it). */
  logprob?: boolean;
  /** Also return this many most likely tokens with their logprobs (0 = none; costs the full distribution). */
  topLogprobs?: number;
}

export interface TokenAlternative {
  id: number;
  logprob: number;
}

export interface RowInput {
  row: Row;
  /** Tokens to feed: a prompt (chunk) or the last sampled token. */
  tokens: readonly number[];
  /** Sample the next token after the last input token; absent for a prompt chunk that is not the last. */
  sample?: RowSample;
}

/** When a step's parts happened (the clock of timing/clock.ts); NaN for a decode that never started. */
export interface StepTimes {
  /** Every row's inputs are in the native batch. */
  inputsSubmitted: number;
  decodeStart: number;
  decodeEnd: number;
  /** Every sampling row has its token. */
  sampled: number;
}

export interface StepResult {
  outputs: RowOutput[];
  times: StepTimes;
}

export type RowOutput =
  | {
      kind: "token";
      token: number;
      /** log of the token's probability under the sampling distribution; NaN unless asked for */
      logprob: number;
      /** The most likely tokens, when asked for. */
      top?: TokenAlternative[];
    }
  | { kind: "fed" }
  | { kind: "error"; error: Error };

const FED: RowOutput = Object.freeze({ kind: "fed" });
const NO_LOGITS = new Uint32Array(0);

export class Agent {
  readonly pool: SequencePool;
  readonly info: ModelInfo;
  /** Which backend runs the model, and how many layers are on the GPU. */
  readonly placement: Placement;
  /** Long prompts are tokenized off the event loop (see PromptTokenizer). */
  readonly prompts: PromptTokenizer;
  /** Called as each llama_decode starts (the master hands the previous step's events over then). */
  onDecodeStart: (() => void) | undefined;
  private decodes = 0;
  /** Settles when the step in flight has ended: KV cells are changed only when there is none. */
  private stepping: Promise<void> | undefined;
  private disposed = false;
  private disposing: Promise<void> | undefined;
  private readonly afterStep: Array<() => void> = [];
  private textContext: number[] | undefined;
  /** Per-token answers, asked of the model once per id. */
  private readonly facts: TokenFacts;

  private constructor(
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly addon: AddonContext,
    samplers: RowSampler[],
    /** Tokens one row holds, counting the last sampled token (which is never fed back). */
    readonly rowCapacity: number,
    readonly batchTokens: number,
    modelPath: string,
    devices: string[],
    readonly sampling: SamplingHandOff,
  ) {
    this.pool = new SequencePool(samplers, (row) => this.clearRow(row));
    this.info = describeModel(model);
    this.placement = { backend: model.llama.gpu || "cpu", devices, gpuLayers: model.gpuLayers, totalLayers: model.fileInsights.totalLayers };
    this.prompts = new PromptTokenizer((text, special) => this.tokenize(text, special), modelPath, longestTokenBytes(model));
    this.facts = new TokenFacts(this.info.vocabSize, {
      isSpecial: (token) => model.isSpecialToken(token as Token),
      isEndOfGeneration: (token) => model.isEogToken(token as Token),
      text: (token) => {
        this.textContext ??= this.tokenize("a").slice(-1);
        return this.detokenize([token], this.textContext);
      },
      bytes: (token) => tokenBytes(this.facts.text(token), tokenizerKind(model), vocabularySpelling(model, token)),
    });
  }

  static async load(options: AgentOptions): Promise<Agent> {
    const rows = options.rows ?? 8;
    const batchTokens = options.batchTokens ?? 512;
    if (!Number.isInteger(rows) || rows < 1) throw new RangeError(`rows must be a positive integer, got ${rows}`);
    if (!Number.isInteger(batchTokens) || batchTokens < rows) throw new RangeError(`batchTokens must be an integer ≥ rows (${rows}), got ${batchTokens}`);
    const llama = await loadLlama(options.gpu);
    const model = await llama.loadModel({ modelPath: options.modelPath, gpuLayers: options.gpuLayers ?? "auto" });
    const samplers: RowSampler[] = [];
    try {
      for (let i = 0; i < rows; i++) samplers.push(new RowSampler(newAddonSampler(llama, model)));
      const devices = llama.gpu === false ? [] : await llama.getGpuDeviceNames();
      const shape = { rows, contextSize: options.contextSize ?? 2048, batchTokens, flashAttention: options.flashAttention ?? true };
      assertContextFits(model, shape, llama.gpu !== false);
      const context = await model.createContext({
        sequences: rows,
        contextSize: shape.contextSize,
        batchSize: batchTokens,
        threads: options.threads ?? 1,
        flashAttention: shape.flashAttention,
        failedCreationRemedy: false,
      });
      const sampling: SamplingHandOff = options.sampling !== "awaited" && (await onePoolThread()) ? "chained" : "awaited";
      const agent = new Agent(model, context, addonOf(context), samplers, context.contextSize, batchTokens, options.modelPath, devices, sampling);
      if (options.warmup ?? true) await agent.warmup();
      return agent;
    } catch (err) {
      for (const s of samplers) s.dispose();
      await model.dispose();
      throw err;
    }
  }

  /** llama_decode calls so far. */
  get decodeCount(): number {
    return this.decodes;
  }

  /** Text → token ids, without BOS. With `special`, text like "<|im_start|>" becomes that special token (chat templates). */
  tokenize(text: string, special = false): number[] {
    return this.model.tokenize(text, special) as number[];
  }

  /** `lastTokens` are the tokens before `tokens`: SentencePiece needs them to keep a leading space. */
  detokenize(tokens: readonly number[], lastTokens?: readonly number[]): string {
    return this.model.detokenize(tokens as Token[], false, lastTokens as Token[] | undefined);
  }

  /**
   * One token's own text, as it reads inside a text (SentencePiece drops a
   * word-initial space from the first token of a text, so it is detokenized
   * after a context token).
   */
  tokenText(token: number): string {
    return this.facts.text(token);
  }

  /** One token's bytes: its text's UTF-8, or for a token that is part of a character, the byte(s) it stands for. */
  tokenBytes(token: number): number[] {
    return this.facts.bytes(token);
  }

  isEndOfGeneration(token: number): boolean {
    return this.facts.isEndOfGeneration(token);
  }

  isSpecial(token: number): boolean {
    return this.facts.isSpecial(token);
  }

  /**
   * One engine step: one llama_decode of every row's inputs, then each
   * sampling row's next token, with the step's own times (the caller puts
   * them on its timeline). A row that fails gets an error output; a failed
   * decode fails every row in it.
   */
  runStep(inputs: readonly RowInput[]): Promise<StepResult> {
    if (this.disposed) return Promise.reject(new Error("the agent is disposed"));
    if (this.stepping) return Promise.reject(new Error("a step is already running: steps run one at a time"));
    // Set before the step starts, so that a row released from inside it (a callback) waits for its end.
    let ended!: () => void;
    this.stepping = new Promise<void>((resolve) => (ended = resolve));
    return this.step(inputs).finally(() => {
      this.stepping = undefined;
      for (const run of this.afterStep.splice(0)) run();
      ended();
    });
  }

  private async step(inputs: readonly RowInput[]): Promise<StepResult> {
    const outputs = new Array<RowOutput | undefined>(inputs.length);
    const logitIndex = new Int32Array(inputs.length).fill(-1);
    const batch = this.fillBatch(inputs, outputs, logitIndex);
    const times: StepTimes = { inputsSubmitted: now(), decodeStart: NaN, decodeEnd: NaN, sampled: NaN };
    if (batch.length > 0) {
      this.decodes++;
      times.decodeStart = now();
      // Caught before anything else runs, so that nothing can leave a failed decode unhandled or end the step while it runs.
      const decoded = this.addon.decodeBatch().then(
        () => undefined,
        (err: unknown) => err ?? new Error("llama_decode failed"),
      );
      const sampling = batch.filter((i) => inputs[i].sample !== undefined);
      const chained = this.sampling === "chained" ? sampleAll(this.addon, inputs, sampling, logitIndex, outputs) : undefined;
      this.decodeStarted();
      const failure = await decoded;
      times.decodeEnd = now();
      if (failure === undefined) {
        for (const i of batch) inputs[i].row.position += inputs[i].tokens.length;
        await (chained ?? sampleAfterDecode(this.addon, inputs, batch, sampling, logitIndex, outputs));
      } else {
        // A chained sampling read logits no decode wrote: its tokens are overwritten, once it has run (the row's sampler is in use until then);
        // the token it put in the row's penalty history makes the next configure rebuild that sampler.
        await chained;
        for (const i of batch) outputs[i] = errorOutput(failure);
      }
    }
    times.sampled = now();
    for (let i = 0; i < outputs.length; i++) outputs[i] ??= FED; // fed rows asked for no token
    return { outputs: outputs as RowOutput[], times };
  }

  /**
   * One llama_batch of the rows' inputs, in row order: llama.cpp decodes a
   * run of ascending sequence ids in one pass (see SequencePool). Returns the
   * inputs in the batch; the others get an error output.
   */
  private fillBatch(inputs: readonly RowInput[], outputs: Array<RowOutput | undefined>, logitIndex: Int32Array): number[] {
    const batch: number[] = [];
    let total = 0;
    for (const i of rowOrder(inputs)) {
      const { row, tokens } = inputs[i];
      const refused =
        tokens.length === 0
          ? "a row was submitted with no tokens"
          : row.position + tokens.length > this.rowCapacity
            ? `the row is full: ${row.position} tokens + ${tokens.length} more exceed its ${this.rowCapacity}`
            : total + tokens.length > this.batchTokens
              ? `the step's tokens exceed the batch size (${this.batchTokens})`
              : undefined;
      if (refused) outputs[i] = errorOutput(new Error(refused));
      else {
        batch.push(i);
        total += tokens.length;
      }
    }
    if (total === 0) return batch;
    this.addon.initBatch(total);
    for (const i of batch) {
      const { row, tokens, sample } = inputs[i];
      const logits = sample ? Uint32Array.of(tokens.length - 1) : NO_LOGITS;
      const indexes = this.addon.addToBatch(row.index, row.position, Uint32Array.from(tokens), logits);
      if (sample) logitIndex[i] = indexes[0];
    }
    return batch;
  }

  /** The master hands the previous step's events over now; its failure must not stop the decode's step. */
  private decodeStarted(): void {
    try {
      this.onDecodeStart?.();
    } catch (err) {
      process.emitWarning(`a decode-start listener threw: ${(err as Error).message}`, "LlmServingWarning");
    }
  }

  /** Clears a released row's KV cells now, or after the step in flight (llama.cpp's KV cache must not change during a decode). */
  private clearRow(row: Row): Promise<void> {
    return new Promise((resolve, reject) => {
      const clear = (): void => {
        if (this.disposed) return resolve(); // the context and its cells are gone
        try {
          this.addon.disposeSequence(row.index);
          resolve();
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      };
      if (this.stepping) this.afterStep.push(clear);
      else clear();
    });
  }

  private async warmup(): Promise<void> {
    const rows: Row[] = [];
    for (let row = this.pool.acquire(); row; row = this.pool.acquire()) rows.push(row);
    const prompt = this.tokenize("warm up");
    if (this.info.addBos && this.info.bosToken !== null) prompt.unshift(this.info.bosToken);
    const inputs = rows.map((row) => ({ row, tokens: prompt, sample: { params: GREEDY, seed: 0 } }));
    const { outputs } = await this.runStep(inputs);
    for (const row of rows) this.pool.release(row);
    await this.pool.whenSettled();
    const failed = outputs.find((o) => o.kind === "error");
    if (failed?.kind === "error") throw new Error(`warm-up failed: ${failed.error.message}`);
  }

  /** Frees the model once the step in flight has ended; no step starts meanwhile. Calling it again waits for the same. */
  dispose(): Promise<void> {
    this.disposing ??= this.disposeNow();
    return this.disposing;
  }

  private async disposeNow(): Promise<void> {
    this.disposed = true;
    await this.stepping;
    await this.prompts.dispose();
    await this.context.dispose();
    for (const row of this.pool.all()) row.sampler.dispose();
    await this.model.dispose();
  }
}

/** Input positions sorted by row index. */
function rowOrder(inputs: readonly RowInput[]): number[] {
  const order = inputs.map((_, i) => i);
  return order.sort((a, b) => inputs[a].row.index - inputs[b].row.index);
}
