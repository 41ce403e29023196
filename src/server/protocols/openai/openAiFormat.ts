/**
 * OpenAI's response objects and stream chunks for completions and chat
 * completions: `data: {chunk}` events, the finish reason on the last choice
 * chunk, a usage chunk when stream_options.include_usage, then `data: [DONE]`.
 */
import type { EngineTokens } from "../../../engines/Engine.js";
import type { FinishReason, TokenEvent } from "../../../master/GenerationStream.js";
import type { Generation, StreamFormat } from "../../generation/ResponseFormat.js";
import { errorBody, type HttpError } from "../../httpErrors.js";

export interface OpenAiIds {
  id: string;
  created: number;
  model: string;
}

/** The engine's token texts, which logprobs show. */
export type TokenText = Pick<EngineTokens, "text" | "bytes">;

export function openAiFinishReason(reason: FinishReason): "stop" | "length" {
  return reason === "length" ? "length" : "stop";
}

function usage(g: Generation) {
  return { prompt_tokens: g.promptTokens, completion_tokens: g.generatedTokens, total_tokens: g.promptTokens + g.generatedTokens };
}

const sse = (body: unknown): string => `data: ${JSON.stringify(body)}\n\n`;
const DONE = "data: [DONE]\n\n";

type ObjectKind = "text_completion" | "chat.completion" | "chat.completion.chunk";

/**
 * The envelope every OpenAI answer shares, in its field order. `usage` is left
 * out when undefined (stream chunks without stream_options.include_usage).
 */
function envelope(ids: OpenAiIds, object: ObjectKind, choices: object[], usageField: object | null | undefined, timings?: object): object {
  return { ...(timings ? { timings } : {}), id: ids.id, object, created: ids.created, model: ids.model, choices, ...(usageField !== undefined ? { usage: usageField } : {}) };
}

/** One stream chunk around one choice (usage null until the usage chunk, when asked for). */
function streamChunk(ids: OpenAiIds, object: ObjectKind, choice: object, includeUsage: boolean, timings?: object): string {
  return sse(envelope(ids, object, [choice], includeUsage ? null : undefined, timings));
}

/** The last chunk with stream_options.include_usage: no choice, the usage. */
function usageChunk(ids: OpenAiIds, object: ObjectKind, g: Generation): string {
  return sse(envelope(ids, object, [], usage(g)));
}

// ---- completions ----

/** A token's own text; a remote engine has no token table, so the text its event carried. */
function tokenText(t: TokenEvent, texts: TokenText): string {
  return (t.id >= 0 ? texts.text(t.id) : "") || t.text;
}

/**
 * How far `text` moves a text_offset: OpenAI and vLLM count characters
 * (code points, Python's len), so an emoji is one, not its two UTF-16 units.
 */
function characters(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function completionLogprobs(tokens: readonly TokenEvent[], texts: TokenText, offset: number) {
  const textOffset: number[] = [];
  let at = offset;
  for (const t of tokens) {
    textOffset.push(at);
    at += characters(t.text);
  }
  return {
    tokens: tokens.map((t) => tokenText(t, texts)),
    token_logprobs: tokens.map((t) => t.logprob),
    top_logprobs: tokens.map((t) => topLogprobs(t, texts)),
    text_offset: textOffset,
  };
}

/**
 * The most likely tokens at a position, and the chosen one with them: OpenAI's
 * completions "always return the logprob of the sampled token", so up to
 * logprobs + 1 entries (vLLM does the same).
 */
function topLogprobs(t: TokenEvent, texts: TokenText): Record<string, number> {
  const top: Record<string, number> = Object.fromEntries((t.top ?? []).map((a) => [texts.text(a.id), a.logprob]));
  const chosen = tokenText(t, texts);
  if (!(chosen in top) && Number.isFinite(t.logprob)) top[chosen] = t.logprob;
  return top;
}

export function completionResponse(g: Generation, ids: OpenAiIds, echo: string, logprobs: boolean, texts: TokenText, timings?: object): object {
  const choice = { index: 0, text: echo + g.text, logprobs: logprobs ? completionLogprobs(g.tokens, texts, characters(echo)) : null, finish_reason: openAiFinishReason(g.finishReason) };
  return envelope(ids, "text_completion", [choice], usage(g), timings);
}

export function completionStreamFormat(ids: OpenAiIds, echo: string, logprobs: boolean, includeUsage: boolean, texts: TokenText): StreamFormat {
  // Where the next chunk's text starts in the whole text; the echo is a chunk of its own, which moves it past the prompt.
  let offset = 0;
  const chunk = (text: string, tokens: TokenEvent[], finish: string | null, timings?: object) => {
    const choice = { index: 0, text, logprobs: logprobs && tokens.length ? completionLogprobs(tokens, texts, offset) : null, finish_reason: finish };
    offset += characters(text);
    return streamChunk(ids, "text_completion", choice, includeUsage, timings);
  };
  return {
    contentType: "text/event-stream; charset=utf-8",
    head: () => (echo ? chunk(echo, [], null) : ""),
    token: (e) => (e.text || logprobs ? chunk(e.text, [e], null) : ""),
    tail: (g, last, timings) => {
      let out = chunk(last?.text ?? "", last ? [last] : [], openAiFinishReason(g.finishReason), timings);
      if (includeUsage) out += usageChunk(ids, "text_completion", g);
      return out + DONE;
    },
    error: (e: HttpError) => sse(errorBody("openai", e).body) + DONE,
  };
}

// ---- chat completions ----

/** A token's bytes: the engine's (a byte token's own byte), else its text's UTF-8 (a remote engine has no token table). */
function bytesOf(id: number, text: string, texts: TokenText): number[] {
  const own = id >= 0 ? texts.bytes(id) : [];
  return own.length > 0 ? own : [...Buffer.from(text, "utf8")];
}

function chatLogprobs(tokens: readonly TokenEvent[], texts: TokenText) {
  return {
    content: tokens.map((t) => {
      const token = tokenText(t, texts);
      return {
        token,
        logprob: t.logprob,
        bytes: bytesOf(t.id, token, texts),
        top_logprobs: (t.top ?? []).map((a) => {
          const alt = texts.text(a.id);
          return { token: alt, logprob: a.logprob, bytes: bytesOf(a.id, alt, texts) };
        }),
      };
    }),
  };
}

export function chatResponse(g: Generation, ids: OpenAiIds, logprobs: boolean, texts: TokenText, timings?: object): object {
  const choice = { index: 0, message: { role: "assistant", content: g.text }, logprobs: logprobs ? chatLogprobs(g.tokens, texts) : null, finish_reason: openAiFinishReason(g.finishReason) };
  return envelope(ids, "chat.completion", [choice], usage(g), timings);
}

export function chatStreamFormat(ids: OpenAiIds, logprobs: boolean, includeUsage: boolean, texts: TokenText): StreamFormat {
  const chunk = (delta: object, tokens: TokenEvent[], finish: string | null, timings?: object) =>
    streamChunk(ids, "chat.completion.chunk", { index: 0, delta, logprobs: logprobs && tokens.length ? chatLogprobs(tokens, texts) : null, finish_reason: finish }, includeUsage, timings);
  return {
    contentType: "text/event-stream; charset=utf-8",
    head: () => chunk({ role: "assistant", content: "" }, [], null),
    token: (e) => (e.text || logprobs ? chunk({ content: e.text }, [e], null) : ""),
    tail: (g, last, timings) => {
      let out = last && (last.text || logprobs) ? chunk({ content: last.text }, [last], null) : "";
      out += chunk({}, [], openAiFinishReason(g.finishReason), timings);
      if (includeUsage) out += usageChunk(ids, "chat.completion.chunk", g);
      return out + DONE;
    },
    error: (e: HttpError) => sse(errorBody("openai", e).body) + DONE,
  };
}
