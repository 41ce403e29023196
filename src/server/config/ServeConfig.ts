/**
 * What `llm-serving serve` runs with: built-in defaults, overridden by the
 * YAML file (llm-serving's sections), overridden by command-line flags.
 */
import type { GpuChoice, GpuLayers } from "../../agent/gpu.js";
import type { BackendConfig } from "../../engines/remote/RemoteBackend.js";
import type { RoutingPolicyName } from "../../engines/router/routingPolicy.js";
import type { BatchingPolicy } from "../../master/Scheduler.js";
import type { LogLevel } from "../../timing/Logger.js";

export interface ServeConfig {
  /** A GGUF file; absent = the built-in default (synthetic) model. */
  modelPath: string | undefined;
  /** The name clients use in /models/{model}, OpenAI's `model`, TGI's model_id; absent = the model file's name. */
  modelName: string | undefined;
  host: string;
  port: number;
  threads: number;
  /** Which llama.cpp build runs the model: auto (a GPU build that loads, else the CPU), cuda, vulkan or off. */
  gpu: GpuChoice;
  /** Layers offloaded to the GPU: as many as fit ("auto"), all ("max") or a count. */
  gpuLayers: GpuLayers;
  /** Tokens per request, prompt + output (llm-serving's max_generate_length). */
  contextSize: number;
  /** Requests decoded together (llm-serving's decode_batch_size, the largest tier). */
  rows: number;
  /** Most tokens in one step; longer prompts are prefilled in chunks. */
  batchTokens: number;
  batching: BatchingPolicy;
  blockSize: number;
  /** Most requests waiting for a row; beyond it the server answers 429 with Retry-After. */
  queueLimit: number;
  /** End tokens replacing the model's (llm-serving's end_token). */
  eosTokenIds: number[] | undefined;
  /** On SIGTERM/SIGINT, how long in-flight requests may take to finish. */
  shutdownTimeoutMs: number;
  /** Time points, debug endpoints, response timings, metrics, runtime monitors. Off: none of it runs. */
  timing: boolean;
  /** Recent request timelines kept (GET /debug/requests). */
  timelineCapacity: number;
  /** Recent engine steps kept. */
  stepCapacity: number;
  /** Also append each finished request's timeline to this JSONL file. */
  timelineFile: string | undefined;
  /** Export request spans over OTLP/HTTP to this endpoint (e.g. http://127.0.0.1:4318). */
  otlpEndpoint: string | undefined;
  /** Event-loop stall detection resolution, ms (≤ 5). */
  loopResolutionMs: number;
  /** "debug" also logs a time tree per engine step. */
  logLevel: LogLevel;
  /** One JSON line per request on stdout (fastify's logger, pino). */
  accessLog: boolean;
  /** Clients must send `Authorization: Bearer KEY` (all routes but /health, /metrics and /). */
  apiKey: string | undefined;
  /** Origins browsers may call from (CORS); "*" for any; empty: no CORS headers. */
  corsOrigins: string[];
  /** "on": an unknown model name is a 404; "off": any name means the served model. */
  modelNameCheck: "on" | "off";
  /** Remote engines to serve through (docs/engines.md); empty: the model runs in this process. */
  engines: BackendConfig[];
  /** With remote engines: this process's model is one of the engines too, under this name (an engines entry of kind local). */
  localEngineName: string | undefined;
  /** How requests are spread over the remote engines. */
  routing: RoutingPolicyName;
}

/** The longest drain a shutdown may be given: a day (Node's timers misfire beyond 24.8 days, and would cancel everything at once). */
export const MAX_SHUTDOWN_TIMEOUT_S = 86_400;

export const DEFAULT_CONFIG: Readonly<ServeConfig> = Object.freeze({
  modelPath: undefined,
  modelName: undefined,
  host: "127.0.0.1",
  port: 8080,
  threads: 1,
  gpu: "auto",
  gpuLayers: "auto",
  contextSize: 2048,
  rows: 8,
  batchTokens: 512,
  batching: "continuous",
  blockSize: 16,
  queueLimit: 256,
  eosTokenIds: undefined,
  shutdownTimeoutMs: 30_000,
  timing: true,
  timelineCapacity: 1000,
  stepCapacity: 20000,
  timelineFile: undefined,
  otlpEndpoint: undefined,
  loopResolutionMs: 5,
  logLevel: "info",
  accessLog: true,
  apiKey: undefined,
  corsOrigins: [],
  modelNameCheck: "on",
  engines: [],
  localEngineName: undefined,
  routing: "least-outstanding",
});

/** Later layers win; `undefined` in a layer means "not set there". */
export function mergeConfig(...layers: Array<Partial<ServeConfig>>): ServeConfig {
  const config: ServeConfig = { ...DEFAULT_CONFIG };
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) if (value !== undefined) (config as unknown as Record<string, unknown>)[key] = value;
  }
  return config;
}
