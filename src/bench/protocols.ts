/**
 * The wire protocols the load client speaks: how to ask for a generation and
 * how to count the tokens of the answer, streamed or whole. They work against
 * any server of that protocol, ours or not.
 */

export type ProtocolName = "llm-serving" | "tgi" | "openai" | "openai-chat";

export const PROTOCOLS: readonly ProtocolName[] = ["llm-serving", "tgi", "openai", "openai-chat"];

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
}

export interface Protocol {
  name: ProtocolName;
  path(model: string, stream: boolean): string;
  body(model: string, ask: GenerationAsk): object;
  streamParser(): StreamParser;
  /** Output tokens of a whole (non-streamed) response, if it says. */
  countTokens(body: unknown): number | undefined;
}

/** What one line or event of a stream is: a token, and/or the server's final token count. */
interface Unit {
  token: boolean;
  total?: number;
}

/** Splits a byte stream into complete lines (or SSE events) and reads each once with `read`. */
function splitter(separator: string, read: (unit: string) => Unit): StreamParser {
  let buffer = "";
  const parser: StreamParser = {
    total: undefined,
    push(text) {
      buffer += text;
      let n = 0;
      let at: number;
      while ((at = buffer.indexOf(separator)) !== -1) {
        const unit = buffer.slice(0, at);
        buffer = buffer.slice(at + separator.length);
        if (!unit.trim()) continue;
        const u = read(unit);
        if (u.token) n++;
        if (u.total !== undefined) parser.total = u.total;
      }
      return n;
    },
  };
  return parser;
}

function json(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

const sseData = (event: string): string | undefined => {
  const line = event.split("\n").find((l) => l.startsWith("data:"));
  return line?.slice(5).trim();
};

const llmServing: Protocol = {
  name: "llm-serving",
  path: (model, stream) => `/models/${encodeURIComponent(model)}/${stream ? "generate_stream" : "generate"}`,
  body: (_model, a) => ({
    inputs: a.prompt,
    parameters: { max_new_tokens: a.maxTokens, do_sample: a.greedy ? "False" : "True", return_full_text: "True", ignore_eos: a.ignoreEos },
  }),
  // Raw JSON lines ("sse") or data: lines; a token line has a token object, the summary line has generated_tokens.
  streamParser: () =>
    splitter("\n", (line) => {
      const body = json(line.startsWith("data:") ? line.slice(5) : line);
      const d = (body?.data as Array<Record<string, unknown>> | undefined)?.[0] ?? body;
      return { token: d !== undefined && typeof d.tokens === "object" && !Array.isArray(d.tokens), total: d?.generated_tokens as number | undefined };
    }),
  countTokens: (body) => (body as { generated_tokens?: number })?.generated_tokens,
};

const tgi: Protocol = {
  name: "tgi",
  path: (_model, stream) => (stream ? "/generate_stream" : "/generate"),
  body: (_model, a) => ({
    inputs: a.prompt,
    parameters: { max_new_tokens: a.maxTokens, details: true, ...(a.greedy ? {} : { do_sample: true }), ...(a.ignoreEos ? { ignore_eos: true } : {}) },
  }),
  streamParser: () =>
    splitter("\n\n", (event) => {
      const body = json(sseData(event) ?? "");
      return { token: body?.token !== undefined, total: (body?.details as { generated_tokens?: number } | null | undefined)?.generated_tokens };
    }),
  countTokens: (body) => (body as { details?: { generated_tokens?: number } })?.details?.generated_tokens,
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
      ...(a.stream ? { stream_options: { include_usage: true } } : {}),
      ...(a.greedy ? { temperature: 0 } : {}),
      ...(a.ignoreEos ? { ignore_eos: true } : {}),
    }),
    // A chunk with text in its choice is a token (servers send one chunk per token; empty deltas are not counted).
    streamParser: () =>
      splitter("\n\n", (event) => {
        const data = sseData(event);
        const body = data && data !== "[DONE]" ? json(data) : undefined;
        const choice = (body?.choices as Array<{ text?: string; delta?: { content?: string } }> | undefined)?.[0];
        return { token: Boolean(choice && (chat ? choice.delta?.content : choice.text)), total: (body?.usage as { completion_tokens?: number } | null | undefined)?.completion_tokens };
      }),
    countTokens: (body) => (body as { usage?: { completion_tokens?: number } })?.usage?.completion_tokens,
  };
}

const ALL: Record<ProtocolName, Protocol> = { "llm-serving": llmServing, tgi, openai: openAi(false), "openai-chat": openAi(true) };

export function protocol(name: string): Protocol {
  if (!(PROTOCOLS as readonly string[]).includes(name)) throw new Error(`unknown protocol "${name}" (expected ${PROTOCOLS.join(", ")})`);
  return ALL[name as ProtocolName];
}
