/**
 * How one kind of backend is spoken to: the request for a generation (always
 * streamed, so that every token is relayed as it comes, whatever the client
 * asked for), what each event of its stream means, and where to ask for its
 * health and load. One file per backend kind implements it.
 */
import type { SamplingParams } from "../../agent/Sampling.js";
import type { FinishReason } from "../../master/GenerationStream.js";
import type { BackendTimings } from "../../timing/backendTimings.js";
import type { ChatMessage } from "../ChatTemplate.js";

export const BACKEND_KINDS = ["llama.cpp", "openai", "tgi"] as const;

export type BackendKind = (typeof BACKEND_KINDS)[number];

/** A generation as a remote engine relays it: checked here, tokenized and templated there. */
export interface RemoteRequest {
  /** Text or token ids; absent for a chat. */
  prompt?: string | readonly number[];
  messages?: readonly ChatMessage[];
  maxNewTokens: number;
  sampling: SamplingParams;
  seed: number | undefined;
  stop: readonly string[];
  ignoreEos: boolean;
}

export interface BackendCallSpec {
  path: string;
  body: Record<string, unknown>;
}

/** What one event of a backend's stream says. */
export interface BackendEvent {
  /** Text generated since the last event ("" for none). */
  text: string;
  /** Tokens this event carries (0 when it carries none), and their ids when the backend gives them. */
  tokens: number;
  tokenIds?: readonly number[];
  /** The generation ended. */
  finish?: FinishReason;
  /** The stop string that ended it, when the backend says. */
  stopString?: string;
  promptTokens?: number;
  generatedTokens?: number;
  /** The backend's own timings for the request. */
  timings?: BackendTimings;
  /** The backend reported an error in the stream. */
  error?: string;
}

export interface BackendProtocol {
  readonly kind: BackendKind;
  /** The request for a generation; throws a RequestError for what this backend cannot take. */
  call(request: RemoteRequest, model: string | undefined): BackendCallSpec;
  /** One event of the stream (the JSON of an SSE `data:` line). */
  read(event: unknown): BackendEvent;
  /** GET here answers 200 when the backend can serve. */
  readonly healthPath: string;
  /** GET here says how loaded the backend is (read by `load`), if the backend has such a route. */
  readonly loadPath?: string;
  load?(body: string): BackendLoad | undefined;
}

/** How busy a backend says it is. */
export interface BackendLoad {
  running?: number;
  waiting?: number;
  /** Slots or sequences it can run at once. */
  capacity?: number;
  /** KV cache in use, 0…1. */
  kvUsage?: number;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function count(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}
