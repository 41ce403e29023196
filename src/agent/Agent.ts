/**
 * The agent runs the model: one llama.cpp context whose sequences are the
 * batch rows. One engine step is exactly one llama_decode for every active
 * row: each row's inputs are submitted in the same tick (node-llama-cpp queues
 * them and dispatches them as one batch), then the rows are awaited together.
 */
import { GgufFileType, type ControlledEvaluateInputItem, type LlamaContext, type LlamaModel, type Token } from "node-llama-cpp";
import { Marks } from "../timing/Marks.js";
import { STEP_POINTS, StepPoint } from "../timing/points.js";
import { DecodeProbe } from "./DecodeProbe.js";
import { loadLlama } from "./llama.js";
import type { GpuChoice, GpuLayers, Placement } from "./gpu.js";
import { PromptTokenizer } from "./PromptTokenizer.js";
import { SamplerPool } from "./SamplerPool.js";
import { SamplingGate } from "./SamplingGate.js";
import { GREEDY, samplerCallOptions, type SamplingParams } from "./Sampling.js";
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
}

export interface ModelInfo {
  path: string;
  name: string;
  architecture: string;
  /** True for models made by `llm-serving make-model`: random weights, meaningless text. */
  synthetic: boolean;
  preset: string | undefined;
  vocabSize: number;
  bosToken: number | null;
  eosToken: number | null;
  addBos: boolean;
  trainContextSize: number;
  sizeBytes: number;
  /** Weight type, e.g. "Q8_0", "F16" (from general.file_type). */
  fileType: string;
  /** The Jinja chat template from the GGUF metadata, if any. */
  chatTemplate: string | undefined;
  bosText: string | null;
  eosText: string | null;
}

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

export class Agent {
  readonly pool: SequencePool;
  readonly info: ModelInfo;
  /** Which backend runs the model, and how many layers are on the GPU. */
  readonly placement: Placement;
  /** Long prompts are tokenized off the event loop (see PromptTokenizer). */
  readonly prompts: PromptTokenizer;
  /** Called as each llama_decode starts (the master hands the previous step's events over then). */
  onDecodeStart: (() => void) | undefined;
  /** Marks of the step in flight, which the decode probe writes into. */
  private stepMarks: Marks | undefined;
  private textContext: number[] | undefined;

  private constructor(
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly probe: DecodeProbe,
    private readonly gate: SamplingGate,
    private readonly samplers: SamplerPool,
    /** Tokens one row holds, counting the last sampled token (which is never fed back). */
    readonly rowCapacity: number,
    readonly batchTokens: number,
    modelPath: string,
    devices: string[],
  ) {
    this.pool = new SequencePool(context, context.totalSequences, (ctx) =>
      ctx.getSequence({
        contextShift: {
          // The master admits a request only if it fits its row, so a full row is a bug: fail, never shift silently.
          strategy: () => {
            throw new Error("the row is full (context shift is disabled)");
          },
        },
      }),
    );
    this.info = describeModel(model);
    this.placement = { backend: model.llama.gpu || "cpu", devices, gpuLayers: model.gpuLayers, totalLayers: model.fileInsights.totalLayers };
    this.prompts = new PromptTokenizer((text, special) => this.tokenize(text, special), modelPath, longestTokenBytes(model));
    probe.observer = {
      decodeStarted: (t) => {
        if (this.stepMarks && Number.isNaN(this.stepMarks.get(StepPoint.decode_start))) this.stepMarks.set(StepPoint.decode_start, t);
        this.onDecodeStart?.();
      },
      decodeEnded: (t) => this.stepMarks?.set(StepPoint.decode_end, t),
    };
  }

  static async load(options: AgentOptions): Promise<Agent> {
    const rows = options.rows ?? 8;
    const batchTokens = options.batchTokens ?? 512;
    if (!Number.isInteger(rows) || rows < 1) throw new RangeError(`rows must be a positive integer, got ${rows}`);
    if (!Number.isInteger(batchTokens) || batchTokens < rows) throw new RangeError(`batchTokens must be an integer ≥ rows (${rows}), got ${batchTokens}`);
    const llama = await loadLlama(options.gpu);
    const model = await llama.loadModel({ modelPath: options.modelPath, gpuLayers: options.gpuLayers ?? "auto" });
    // Up to one sampler per row is in use per step, and as many are being disposed after the previous one.
    const samplers = SamplerPool.attach(llama, model, 2 * rows + 2);
    try {
      const devices = llama.gpu === false ? [] : await llama.getGpuDeviceNames();
      const context = await model.createContext({
        sequences: rows,
        contextSize: options.contextSize ?? 2048,
        batchSize: batchTokens,
        threads: options.threads ?? 1,
        flashAttention: options.flashAttention ?? true,
        failedCreationRemedy: false,
      });
      const agent = new Agent(model, context, DecodeProbe.attach(context), SamplingGate.attach(context), samplers, context.contextSize, batchTokens, options.modelPath, devices);
      if (options.warmup ?? true) await agent.warmup();
      return agent;
    } catch (err) {
      samplers.dispose();
      await model.dispose();
      throw err;
    }
  }

  /** llama_decode calls so far. */
  get decodeCount(): number {
    return this.probe.count;
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
    this.textContext ??= this.tokenize("a").slice(-1);
    return this.detokenize([token], this.textContext);
  }

  isEndOfGeneration(token: number): boolean {
    return this.model.isEogToken(token as Token);
  }

  isSpecial(token: number): boolean {
    return this.model.isSpecialToken(token as Token);
  }

  /**
   * One engine step. `marks` receives inputs_submitted, decode_start,
   * decode_end and sampled. A row that fails gets an error output; the others are unaffected.
   */
  async runStep(inputs: readonly RowInput[], marks: Marks): Promise<RowOutput[]> {
    this.stepMarks = marks;
    this.gate.set(!sameLength(inputs));
    const pending = new Array<Promise<EvaluateResult>>(inputs.length);
    // In row order: node-llama-cpp batches rows in submission order, and llama.cpp decodes a run of ascending row ids in one pass (see SequencePool).
    for (const i of rowOrder(inputs)) pending[i] = this.submit(inputs[i]);
    marks.mark(StepPoint.inputs_submitted);
    const settled = await Promise.allSettled(pending);
    marks.mark(StepPoint.sampled);
    this.stepMarks = undefined;
    const outputs = new Array<RowOutput>(inputs.length);
    for (let i = 0; i < inputs.length; i++) outputs[i] = toRowOutput(settled[i], inputs[i]);
    return outputs;
  }

  private submit(input: RowInput): Promise<EvaluateResult> {
    const { tokens, sample } = input;
    const sequence = input.row.sequence;
    if (tokens.length === 0) return Promise.reject(new Error("a row was submitted with no tokens"));
    if (!sample) return sequence.controlledEvaluate(tokens as Token[]);
    const items: ControlledEvaluateInputItem[] = tokens.slice(0, -1) as Token[];
    items.push([
      tokens[tokens.length - 1] as Token,
      {
        generateNext: {
          token: true,
          confidence: sample.logprob === true,
          probabilities: (sample.topLogprobs ?? 0) > 0,
          options: samplerCallOptions(sample.params, sample.seed, sample.penaltyTokens),
        },
      },
    ]);
    return sequence.controlledEvaluate(items);
  }

  private async warmup(): Promise<void> {
    const rows: Row[] = [];
    for (let row = this.pool.acquire(); row; row = this.pool.acquire()) rows.push(row);
    const prompt = this.tokenize("warm up");
    if (this.info.addBos && this.info.bosToken !== null) prompt.unshift(this.info.bosToken);
    const inputs = rows.map((row) => ({ row, tokens: prompt, sample: { params: GREEDY, seed: 0 } }));
    const outputs = await this.runStep(inputs, new Marks(STEP_POINTS.length));
    for (const row of rows) this.pool.release(row);
    await this.pool.whenSettled();
    const failed = outputs.find((o) => o.kind === "error");
    if (failed?.kind === "error") throw new Error(`warm-up failed: ${failed.error.message}`);
  }

  async dispose(): Promise<void> {
    await this.prompts.dispose();
    this.samplers.dispose();
    await this.context.dispose();
    await this.model.dispose();
  }
}

/**
 * Rows of equal length submitted in row order come out of llama.cpp in order,
 * so nothing is swapped back and sampling needs no gate (see SamplingGate).
 */
function sameLength(inputs: readonly RowInput[]): boolean {
  for (let i = 1; i < inputs.length; i++) if (inputs[i].tokens.length !== inputs[0].tokens.length) return false;
  return true;
}

/** Input positions sorted by row index. */
function rowOrder(inputs: readonly RowInput[]): number[] {
  const order = inputs.map((_, i) => i);
  return order.sort((a, b) => inputs[a].row.index - inputs[b].row.index);
}

type EvaluateResult = Array<{ next: { token?: Token | null; confidence?: number; probabilities?: Map<Token, number> } } | undefined>;

function toRowOutput(result: PromiseSettledResult<EvaluateResult>, input: RowInput): RowOutput {
  if (result.status === "rejected") {
    const error = result.reason instanceof Error ? result.reason : new Error(String(result.reason));
    return { kind: "error", error };
  }
  if (!input.sample) return FED;
  const next = result.value[input.tokens.length - 1]?.next;
  if (next?.token == null) return { kind: "error", error: new Error("the engine returned no token") };
  const output: RowOutput = { kind: "token", token: next.token, logprob: next.confidence == null ? NaN : Math.log(next.confidence) };
  const n = input.sample.topLogprobs ?? 0;
  if (n > 0 && next.probabilities) output.top = topOf(next.probabilities, n);
  return output;
}

/** The first n entries of node-llama-cpp's probability map, which is sorted from most to least likely. */
function topOf(probabilities: Map<Token, number>, n: number): TokenAlternative[] {
  const top: TokenAlternative[] = [];
  for (const [id, p] of probabilities) {
    if (top.length === n) break;
    top.push({ id, logprob: Math.log(p) });
  }
  return top;
}

function describeModel(model: LlamaModel): ModelInfo {
  const md = model.fileInfo.metadata as unknown as {
    general?: { name?: string; architecture?: string; file_type?: number };
    tokenizer?: { ggml?: { tokens?: unknown[] }; chat_template?: string };
    llm_serving?: { synthetic?: boolean; preset?: string };
  } & Record<string, { vocab_size?: number } | undefined>;
  const architecture = md.general?.architecture ?? "unknown";
  return {
    path: model.filename ?? "",
    name: md.general?.name ?? model.filename ?? "model",
    architecture,
    synthetic: md.llm_serving?.synthetic === true,
    preset: md.llm_serving?.preset,
    vocabSize: md.tokenizer?.ggml?.tokens?.length ?? md[architecture]?.vocab_size ?? 0,
    bosToken: model.tokens.bos,
    eosToken: model.tokens.eos,
    addBos: model.tokens.shouldPrependBosToken,
    trainContextSize: model.trainContextSize,
    sizeBytes: model.size,
    fileType: fileTypeName(md.general?.file_type),
    chatTemplate: typeof md.tokenizer?.chat_template === "string" ? md.tokenizer.chat_template : undefined,
    bosText: model.tokens.bosString,
    eosText: model.tokens.eosString,
  };
}

/**
 * The most UTF-8 bytes of text one token can stand for, for tokenizers that
 * never shrink text (SentencePiece "llama", byte-level BPE "gpt2"): the
 * vocabulary's spelling of a token is never shorter than the text it stands
 * for ("▁" for a space, "<0x41>" for a byte, "Ġ" for a space byte).
 * Undefined for other tokenizers (some normalize text, so no bound holds).
 */
function longestTokenBytes(model: LlamaModel): number | undefined {
  const md = model.fileInfo.metadata as unknown as { tokenizer?: { ggml?: { model?: string; tokens?: unknown[] } } };
  const kind = md.tokenizer?.ggml?.model;
  const tokens = md.tokenizer?.ggml?.tokens;
  if ((kind !== "llama" && kind !== "gpt2") || !Array.isArray(tokens) || tokens.length === 0) return undefined;
  let longest = 1;
  for (const t of tokens) if (typeof t === "string") longest = Math.max(longest, Buffer.byteLength(t, "utf8"));
  return longest;
}

function fileTypeName(fileType: number | undefined): string {
  const name = fileType === undefined ? undefined : GgufFileType[fileType];
  return name ? name.replace(/^(MOSTLY|ALL)_/, "") : "unknown";
}
