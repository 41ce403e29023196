/**
 * What the server asks of an engine, and all it may ask: the way vLLM's
 * AsyncLLM fronts its engine core, routes never reach the model runner.
 * LocalEngine (master + agent, in this process) is the one there is today;
 * an engine behind HTTP can answer the same questions.
 */
import type { SamplingHandOff } from "../agent/libuvPool.js";
import type { Placement } from "../agent/gpu.js";
import type { ModelInfo } from "../agent/modelInfo.js";
import type { GenerationRequest } from "../master/GenerationRequest.js";
import type { ChatMessage } from "./ChatTemplate.js";
import type { GenerationStream } from "../master/GenerationStream.js";
import type { MasterStats } from "../master/Master.js";
import type { EngineStep } from "../timing/StepRecord.js";

export type EngineState = "loading" | "ready" | "draining" | "stopped" | "failed";

/** Why an engine cannot take a request now; the server answers 503, or 429 when it is only too busy ("overloaded"). */
export class EngineUnavailableError extends Error {
  override name = "EngineUnavailableError";
  constructor(
    readonly reason: "loading" | "engine_failed" | "shutting_down" | "overloaded",
    message: string,
    /** Worth trying again soon (the server says Retry-After). */
    readonly retry: boolean,
  ) {
    super(message);
  }
}

/** The model an engine serves, and how. */
export interface EngineModel {
  /** The GGUF's description (undefined for remote engines: their backends hold the model). */
  info: ModelInfo | undefined;
  /** Where the model runs here (undefined for remote engines). */
  placement: Placement | undefined;
  /** Tokens one request can hold (prompt + output), as the engine made it (0: not known here). */
  contextSize: number;
  /** What was asked for; it differs when llama.cpp rounds it. */
  requestedContextSize: number;
  /** Why contextSize differs from what was asked, if it does, and whether it runs past the model's training context. */
  contextNote: string | undefined;
  /** Requests decoded together. */
  rows: number;
  /** Requests that may wait for a row. */
  queueLimit: number;
  /** How the local engine's sampling follows its decode (undefined for remote engines). */
  sampling?: SamplingHandOff;
}

/**
 * A chat, given as its messages: the engine makes the prompt (a local one
 * with the model's chat template; a remote one would send the messages on).
 */
export type ChatRequest = Omit<GenerationRequest, "prompt" | "specialTokens"> & { messages: readonly ChatMessage[] };

/** What the server asks an engine to generate: a prompt, or a chat. */
export type EngineRequest = GenerationRequest | ChatRequest;

/** An EngineRequest before the server gives it its id. */
export type EngineGeneration = Omit<GenerationRequest, "id"> | Omit<ChatRequest, "id">;

/** Token ids → text, for the formats that show tokens. */
export interface EngineTokens {
  /** One token's own text, as it reads inside a text. */
  text(id: number): string;
  /** Its bytes: the text's UTF-8, or for a token that is part of a character, the byte(s) it stands for. */
  bytes(id: number): number[];
  isSpecial(id: number): boolean;
  detokenize(ids: readonly number[]): string;
}

export interface Engine {
  readonly state: EngineState;
  /** Resolves once the engine can serve (rejects if it never can). */
  readonly ready: Promise<void>;
  /** Why loading failed. */
  readonly failure: Error | undefined;
  /** The name clients use for the model ("" until it is known). */
  readonly modelName: string;
  /** Undefined until ready. */
  readonly model: EngineModel | undefined;
  /** Undefined until ready. */
  readonly tokens: EngineTokens | undefined;
  /** The most bytes of prompt text that can still fit a request, when the tokenizer bounds it. */
  readonly maxPromptBytes: number | undefined;
  /**
   * Throws EngineUnavailableError unless the engine takes requests now.
   * `admitted`: the request was received before a drain began, so it is
   * still let in.
   */
  ensureAvailable(admitted?: boolean): void;
  /** Checks availability, makes the prompt (for a chat), tokenizes and queues the generation; its events come on the stream. */
  generate(request: EngineRequest, admitted: boolean): Promise<GenerationStream>;
  /** Running and waiting requests, KV use (throws EngineUnavailableError when it cannot say). */
  stats(): EngineStats;
  /** A generation request begins (its body may still be arriving); false once a drain has begun. */
  admit(): boolean;
  /** An admitted request has reached the engine, or ended without. */
  settle(): void;
  /** Lets in-flight requests finish for up to `timeoutMs`, then cancels the rest; true if all finished. */
  drain(timeoutMs: number): Promise<boolean>;
  dispose(): Promise<void>;
}

/** One remote engine as /stats shows it. */
export interface RemoteEngineStats {
  name: string;
  kind: string;
  url: string;
  healthy: boolean;
  /** Our requests in flight on it. */
  outstanding: number;
  served: number;
  failures: number;
  /** Why it is out (a failed health check, or the request that took it out); null while it is in. */
  lastError: string | null;
  /** Why its last failed request failed, kept while it is in (remote engines; absent for the local one). */
  lastFailure?: string | null;
  /** What the backend itself says (llama.cpp /slots, vLLM /metrics), when it says. */
  load: { running?: number; waiting?: number; capacity?: number; kvUsage?: number } | null;
}

export type EngineStats = MasterStats & { engines?: RemoteEngineStats[] };

/** Receives every engine step (the timing instruments). */
export type StepListener = (step: EngineStep) => void;
