/**
 * The wire protocols the load client speaks: how to ask for a generation, how
 * to count the tokens of the answer, streamed or whole, and what the backend
 * reported about its own time (backendTimings.ts). They work against any
 * server of that protocol, ours or not.
 */
import { fromOllama, fromOpenAiBody, fromTgiHeaders, fromTimingsObject, type BackendTimings, type ResponseHeaders } from "../timing/backendTimings.js";

export type ProtocolName = "llm-serving" | "tgi" | "openai" | "openai-chat" | "llama.cpp" | "ollama";

/** The protocols our own server speaks (the soak draws its requests from these). */
export const PROTOCOLS: readonly ProtocolName[] = ["llm-serving", "tgi", "openai", "openai-chat"];

/** Every protocol the load client speaks: ours, and the native ones of llama.cpp's server and Ollama. */
export const BENCH_PROTOCOLS: readonly ProtocolName[] = [...PROTOCOLS, "llama.cpp", "ollama"];

export interface GenerationAsk {
  prompt: string;
  maxTokens: number;
  stream: boolean;
  ignoreEos: boolean;
  /** Sampling off (greedy) for repeatable runs. */
  greedy: boolean;
}

/** Reads a streamed body chunk by chunk; counts the token events as they arrive. */
export interface StreamParser {
  /** Feeds bytes; returns how many token events they completed. */
  push(text: string): number;
  /** The output token count the server reported at the end, if it did. */
  total: number | undefined;
  /** The backend's own timings, from the last event that carried them. */
  backend: BackendTimings | undefined;
}

export interface Protocol {
  name: ProtocolName;
  path(model: string, stream: boolean): string;
  body(model: string, ask: GenerationAsk): object;
  streamParser(): StreamParser;
  /** Output tokens of a whole (non-streamed) response, if it says. */
  countTokens(body: unknown): number | undefined;
  /** The backend's own timings from a response's headers and, for a whole response, its body (undefined for a stream's). */
  backend(headers: ResponseHeaders, body: unknown): BackendTimings | undefined;
}

/** What one line or event of a stream is: a token, the server's final token count, its timings. */
interface Unit {
  token: boolean;
  total?: number;
  backend?: BackendTimings;
}

/** Splits a byte stream into complete lines (or SSE events) and reads each once with `read`. */
function splitter(separator: string, read: (unit: string) => Unit): StreamParser {
  let buffer = "";
  const parser: StreamParser = {
    total: undefined,
    backend: undefined,
    push(text) {
      buffer += text;
      let n = 0;
      // The units are cut from where the last one ended; what is left is kept once, at the end.
      let from = 0;
      for (let at = buffer.indexOf(separator); at !== -1; at = buffer.indexOf(separator, from)) {
        const unit = buffer.slice(from, at);
        from = at + separator.length;
        if (!unit.trim()) continue;
        const u = read(unit);
        if (u.token) n++;
        if (u.total !== undefined) parser.total = u.total;
        if (u.backend !== undefined) parser.backend = u.backend;
      }
      if (from > 0) buffer = buffer.slice(from);
      return n;
    },
  };
  return parser;
}

type Json = Record<string, unknown>;

const asJson = (body: unknown): Json | undefined => (typeof body === "object" && body !== null ? (body as Json) : undefined);

/** A JSON object (or array), or undefined for anything else: no text, OpenAI's "[DONE]", not JSON. */
function json(text: string | undefined): Json | undefined {
  if (!text || text === "[DONE]") return undefined;
  try {
    return asJson(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** The data of an SSE event: its first `data:` line's, trimmed. */
function sseData(event: string): string | undefined {
  let at = 0;
  if (!event.startsWith("data:")) {
    at = event.indexOf("\ndata:") + 1;
    if (at === 0) return undefined;
  }
  const end = event.indexOf("\n", at);
  return event.slice(at + 5, end === -1 ? undefined : end).trim();
}

/** A stream of SSE events, each with one JSON object as its data. */
const sseJson = (read: (body: Json | undefined) => Unit): StreamParser => splitter("\n\n", (event) => read(json(sseData(event))));

/** A stream of JSON objects, one per line (NDJSON). */
const ndJson = (read: (body: Json | undefined) => Unit): StreamParser => splitter("\n", (line) => read(json(line)));

/** A whole (non-streamed) response's body, as countTokens and backend read it: its last line's JSON (llm-serving ends a whole response with a newline). */
export function wholeBody(text: string): unknown {
  const trimmed = text.trim();
  try {
    return JSON.parse(trimmed.slice(trimmed.lastIndexOf("\n") + 1));
  } catch {
    return undefined;
  }
}

const nonEmpty = (text: unknown): boolean => typeof text === "string" && text.length > 0;

const llmServing: Protocol = {
  name: "llm-serving",
  path: (model, stream) => `/models/${encodeURIComponent(model)}/${stream ? "generate_stream" : "generate"}`,
  body: (_model, a) => ({
    inputs: a.prompt,
    parameters: { max_new_tokens: a.maxTokens, do_sample: a.greedy ? "False" : "True", return_full_text: "True", ignore_eos: a.ignoreEos },
  }),
  // Raw JSON lines ("sse") or data: lines; a token line has a token object, the summary line has generated_tokens and the timings.
  streamParser: () =>
    splitter("\n", (line) => {
      const body = json(line.startsWith("data:") ? line.slice(5) : line);
      const d = (body?.data as Json[] | undefined)?.[0] ?? body;
      return { token: d !== undefined && typeof d.tokens === "object" && !Array.isArray(d.tokens), total: d?.generated_tokens as number | undefined, backend: fromTimingsObject(d?.timings) };
    }),
  countTokens: (body) => (body as { generated_tokens?: number })?.generated_tokens,
  backend: (_headers, body) => fromTimingsObject(asJson(body)?.timings),
};

const tgi: Protocol = {
  name: "tgi",
  path: (_model, stream) => (stream ? "/generate_stream" : "/generate"),
  body: (_model, a) => ({
    inputs: a.prompt,
    parameters: { max_new_tokens: a.maxTokens, details: true, ...(a.greedy ? {} : { do_sample: true }), ...(a.ignoreEos ? { ignore_eos: true } : {}) },
  }),
  // TGI's streams carry no timings; ours put a `timings` object in the last event.
  streamParser: () =>
    sseJson((body) => ({ token: body?.token !== undefined, total: (body?.details as { generated_tokens?: number } | null | undefined)?.generated_tokens, backend: fromTimingsObject(body?.timings) })),
  countTokens: (body) => (body as { details?: { generated_tokens?: number } })?.details?.generated_tokens,
  // Our TGI routes send both; the body's timings say more (prefill and decode apart).
  backend: (headers, body) => fromTimingsObject(asJson(body)?.timings) ?? fromTgiHeaders(headers),
};

function openAi(chat: boolean): Protocol {
  return {
    name: chat ? "openai-chat" : "openai",
    path: () => (chat ? "/v1/chat/completions" : "/v1/completions"),
    body: (model, a) => ({
      model,
      ...(chat ? { messages: [{ role: "user", content: a.prompt }] } : { prompt: a.prompt }),
      max_tokens: a.maxTokens,
      stream: a.stream,
      // vLLM puts its per-request metrics in the usage chunk, llama.cpp's server its timings beside it.
      ...(a.stream ? { stream_options: { include_usage: true } } : {}),
      ...(a.greedy ? { temperature: 0 } : {}),
      ...(a.ignoreEos ? { ignore_eos: true } : {}),
    }),
    // A chunk with text in its choice is a token (servers send one chunk per token; empty deltas are not counted).
    streamParser: () =>
      sseJson((body) => {
        const choice = (body?.choices as Array<{ text?: string; delta?: { content?: string } }> | undefined)?.[0];
        return { token: Boolean(choice && (chat ? choice.delta?.content : choice.text)), total: (body?.usage as { completion_tokens?: number } | null | undefined)?.completion_tokens, backend: fromOpenAiBody(body) };
      }),
    countTokens: (body) => (body as { usage?: { completion_tokens?: number } })?.usage?.completion_tokens,
    backend: (_headers, body) => fromOpenAiBody(body),
  };
}

/**
 * llama.cpp server's native POST /completion (tools/server/README.md). The
 * stream is `data: {…}` events; each carries one token's text with stop:
 * false, the last has stop: true, tokens_predicted and the timings (and, in
 * older servers, the whole text again: it is not a token).
 */
const llamaCpp: Protocol = {
  name: "llama.cpp",
  path: () => "/completion",
  body: (model, a) => ({
    // Ignored by a single-model server; a router (--models-dir) picks the model by it.
    model,
    prompt: a.prompt,
    n_predict: a.maxTokens,
    stream: a.stream,
    // Every request processes its whole prompt, so that prompt_ms is comparable between requests.
    cache_prompt: false,
    ...(a.greedy ? { temperature: 0 } : {}),
    ...(a.ignoreEos ? { ignore_eos: true } : {}),
  }),
  streamParser: () =>
    sseJson((body) => {
      const last = body?.stop === true;
      return { token: !last && nonEmpty(body?.content), total: last ? (body?.tokens_predicted as number | undefined) : undefined, backend: fromTimingsObject(body?.timings) };
    }),
  countTokens: (body) => (body as { tokens_predicted?: number })?.tokens_predicted,
  backend: (_headers, body) => fromTimingsObject(asJson(body)?.timings),
};

/**
 * Ollama's POST /api/generate (docs/api.md): NDJSON, one object per line,
 * `response` holding the text (`thinking` for a thinking model's reasoning,
 * output tokens too); the last line has done: true, eval_count and the
 * durations. Ollama has no option to ignore the end token.
 */
const ollama: Protocol = {
  name: "ollama",
  path: () => "/api/generate",
  body: (model, a) => ({
    model,
    prompt: a.prompt,
    stream: a.stream,
    options: { num_predict: a.maxTokens, ...(a.greedy ? { temperature: 0 } : {}) },
  }),
  streamParser: () =>
    ndJson((body) => {
      // Unlike llama.cpp's, Ollama's last line never repeats the text: any text in it is new.
      return { token: nonEmpty(body?.response) || nonEmpty(body?.thinking), total: body?.done === true ? (body.eval_count as number | undefined) : undefined, backend: fromOllama(body) };
    }),
  countTokens: (body) => (body as { eval_count?: number })?.eval_count,
  backend: (_headers, body) => fromOllama(body),
};

const ALL: Record<ProtocolName, Protocol> = { "llm-serving": llmServing, tgi, openai: openAi(false), "openai-chat": openAi(true), "llama.cpp": llamaCpp, ollama };

export function protocol(name: string): Protocol {
  if (!(BENCH_PROTOCOLS as readonly string[]).includes(name)) throw new Error(`unknown protocol "${name}" (expected ${BENCH_PROTOCOLS.join(", ")})`);
  return ALL[name as ProtocolName];
}
