/**
 * What a backend says about its own time for one request, read from the
 * response the load client got, so that the analysis can split the client's
 * time into the engine's and everything outside it. Every server reports
 * something different, in its own units (ms, s, ns); the readers below turn
 * each into one shape, in ms, keeping only what the server actually sent.
 *
 * Checked against the servers' own sources and docs:
 * - llama.cpp server: `timings` (tools/server/server-task.cpp,
 *   result_timings::to_json; README "POST /completion"). prompt_ms runs from
 *   the start of prompt processing to the first token; predicted_ms from the
 *   first token to the last (server-context.cpp sets t_start_generation when
 *   n_decoded becomes 1). No queue time.
 * - TGI: x-* headers on non-streamed /generate only (router/src/server.rs):
 *   x-compute-time in seconds (as_secs_f64), the others in whole ms
 *   (as_millis, truncated). Validation = request start → queued; inference =
 *   batch start → response (prefill and decode together).
 * - vLLM: a `metrics` object with --enable-per-request-metrics (some versions
 *   also want `include_metrics: true` in the request;
 *   docs/features/per_request_metrics.md). TTFT counts from scheduling, so it
 *   excludes the queue; generation_time_ms is first → last token.
 * - Ollama: the final object of /api/generate or /api/chat (docs/api.md),
 *   durations in ns. In its runner, prompt_eval_duration runs from the
 *   sequence's creation (so it includes waiting for a runner slot) to the
 *   prompt's forward pass; eval_duration from there to the end, and
 *   eval_count counts every generated token, the first included.
 * - llm-serving (ours): llama.cpp's `timings` fields plus ours
 *   (src/timing/responseTimings.ts): prompt_ms = prefill, predicted_ms =
 *   decode (first → last token), queue, e2e, points.
 */

/** The backends whose timings are read (the client record's schema lists them too). */
export const BACKEND_SOURCES = ["llama.cpp", "tgi", "vllm", "ollama", "llm-serving"] as const;

export type BackendSource = (typeof BACKEND_SOURCES)[number];

/** Figures a backend reported for one request, in ms; a figure it did not report is absent, never guessed. */
export interface BackendTimings {
  source: BackendSource;
  /** Request received → put in the queue (TGI's validation; ours: received → queued). */
  validationMs?: number;
  /** Waiting to be scheduled (TGI, vLLM, ours). */
  queueMs?: number;
  /** Loading the model before the request could run (Ollama's load_duration). */
  loadMs?: number;
  /** Prompt processing up to the first token (llama.cpp prompt_ms, ours, vLLM's TTFT from scheduling, Ollama's prompt_eval_duration). */
  prefillMs?: number;
  /**
   * Generation. llama.cpp, llm-serving and vLLM: after the first token (first
   * → last token). Ollama: eval_duration, all generated tokens from the end of
   * the prompt's forward pass (the first token's sampling included).
   */
  decodeMs?: number;
  /** Prefill and decode as one figure, when that is all the backend gives (TGI's x-inference-time). */
  inferenceMs?: number;
  /** The backend's own end-to-end time for the request (TGI x-compute-time, Ollama total_duration, our e2e). */
  totalMs?: number;
  /** The backend's time per output token, as it defines it (llama.cpp predicted_per_token_ms, TGI x-time-per-token, vLLM mean_itl_ms). */
  perTokenMs?: number;
  promptTokens?: number;
  generatedTokens?: number;
  /** The fields as the backend sent them, in its own units. */
  raw: Record<string, unknown>;
}

type Fields = Omit<BackendTimings, "source" | "raw">;

/** Header values as Node's http module or a fetch Headers object turned into a record gives them. */
export type ResponseHeaders = Record<string, string | string[] | undefined>;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A non-negative finite number, from a number or a numeric string; anything else is "not reported". */
function num(value: unknown): number | undefined {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof n === "number" && Number.isFinite(n) && n >= 0 ? n : undefined;
}

const scaled = (value: unknown, factor: number): number | undefined => {
  const n = num(value);
  return n === undefined ? undefined : n * factor;
};

const NS_TO_MS = 1e-6;
const S_TO_MS = 1e3;

/** The record with only the figures that were reported: absent rather than undefined keys, so records stay small and compare cleanly. */
function timings(source: BackendSource, fields: Fields, raw: Json): BackendTimings | undefined {
  const kept = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Fields;
  return Object.keys(kept).length === 0 ? undefined : { source, ...kept, raw };
}

/** Our timings object carries these beside llama.cpp's fields; llama.cpp's never does. */
function isOurs(t: Json): boolean {
  return typeof t.complete === "boolean" && typeof t.e2e === "number" && isObject(t.points);
}

/** received → queued, from our time points (both ms from `received`). */
function ourValidation(points: Json): number | undefined {
  const received = num(points.received);
  const queued = num(points.queued);
  return received !== undefined && queued !== undefined && queued >= received ? queued - received : undefined;
}

/**
 * A llama.cpp-style `timings` object: llama.cpp's server, or ours ("llm-serving")
 * when our own fields are in it. llama.cpp sends prompt_n = -1 in chunks that
 * have no timings yet: those read as nothing.
 */
export function fromTimingsObject(value: unknown): BackendTimings | undefined {
  if (!isObject(value) || num(value.prompt_n) === undefined) return undefined;
  const common: Fields = {
    prefillMs: num(value.prompt_ms),
    decodeMs: num(value.predicted_ms),
    perTokenMs: num(value.predicted_per_token_ms),
    promptTokens: num(value.prompt_n),
    generatedTokens: num(value.predicted_n),
  };
  if (!isOurs(value)) return timings("llama.cpp", common, value);
  const points = value.points as Json;
  return timings("llm-serving", { ...common, validationMs: ourValidation(points), queueMs: num(value.queue), totalMs: num(value.e2e) }, value);
}

function header(headers: ResponseHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

const TGI_HEADERS = ["x-compute-type", "x-compute-time", "x-compute-characters", "x-total-time", "x-validation-time", "x-queue-time", "x-inference-time", "x-time-per-token", "x-prompt-tokens", "x-generated-tokens"];

/** TGI's response headers (non-streamed /generate). x-compute-time is in seconds and more precise than x-total-time's whole ms, so it wins. */
export function fromTgiHeaders(headers: ResponseHeaders): BackendTimings | undefined {
  const raw: Json = {};
  for (const name of TGI_HEADERS) {
    const v = header(headers, name);
    if (v !== undefined) raw[name] = v;
  }
  return timings(
    "tgi",
    {
      validationMs: num(raw["x-validation-time"]),
      queueMs: num(raw["x-queue-time"]),
      inferenceMs: num(raw["x-inference-time"]),
      totalMs: scaled(raw["x-compute-time"], S_TO_MS) ?? num(raw["x-total-time"]),
      perTokenMs: num(raw["x-time-per-token"]),
      promptTokens: num(raw["x-prompt-tokens"]),
      generatedTokens: num(raw["x-generated-tokens"]),
    },
    raw,
  );
}

/** vLLM's per-request `metrics` object; the token counts come from the `usage` beside it. */
export function fromVllmMetrics(metrics: unknown, usage?: unknown): BackendTimings | undefined {
  if (!isObject(metrics)) return undefined;
  const u = isObject(usage) ? usage : {};
  const t = timings(
    "vllm",
    {
      queueMs: num(metrics.queue_time_ms),
      prefillMs: num(metrics.time_to_first_token_ms),
      decodeMs: num(metrics.generation_time_ms),
      perTokenMs: num(metrics.mean_itl_ms),
    },
    metrics,
  );
  // Counts alone (every timing null) say nothing about time.
  if (!t) return undefined;
  const promptTokens = num(u.prompt_tokens);
  const generatedTokens = num(u.completion_tokens);
  return { ...t, ...(promptTokens !== undefined ? { promptTokens } : {}), ...(generatedTokens !== undefined ? { generatedTokens } : {}) };
}

const OLLAMA_FIELDS = ["total_duration", "load_duration", "prompt_eval_count", "prompt_eval_cached_count", "prompt_eval_duration", "eval_count", "eval_duration"];

/** Ollama's final object (done: true) of /api/generate or /api/chat; durations in ns. */
export function fromOllama(value: unknown): BackendTimings | undefined {
  if (!isObject(value) || value.done !== true) return undefined;
  const raw = Object.fromEntries(OLLAMA_FIELDS.filter((k) => value[k] !== undefined).map((k) => [k, value[k]]));
  return timings(
    "ollama",
    {
      loadMs: scaled(raw.load_duration, NS_TO_MS),
      prefillMs: scaled(raw.prompt_eval_duration, NS_TO_MS),
      decodeMs: scaled(raw.eval_duration, NS_TO_MS),
      totalMs: scaled(raw.total_duration, NS_TO_MS),
      promptTokens: num(raw.prompt_eval_count),
      generatedTokens: num(raw.eval_count),
    },
    raw,
  );
}

/**
 * An OpenAI-compatible body or stream chunk: llama.cpp's (and our) `timings`,
 * else vLLM's `metrics`.
 */
export function fromOpenAiBody(body: unknown): BackendTimings | undefined {
  if (!isObject(body)) return undefined;
  return fromTimingsObject(body.timings) ?? fromVllmMetrics(body.metrics, body.usage);
}

/** What the backend says the engine itself took: prefill + decode, or its one inference figure. */
export function backendEngineMs(b: BackendTimings): number | undefined {
  if (b.prefillMs !== undefined && b.decodeMs !== undefined) return b.prefillMs + b.decodeMs;
  return b.inferenceMs;
}
