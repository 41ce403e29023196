/**
 * The invalid requests the soak sends among the good ones. Each must be
 * refused with a 4xx and must not disturb anything else: they cover the
 * three API families, streamed routes (where a refusal has to come before
 * the stream's headers), fastify's own refusals (malformed JSON, content
 * type, body size) and the engine's (a length past the context).
 */
import { protocol } from "./protocols.js";

export interface BadInput {
  name: string;
  path(model: string): string;
  contentType: string;
  body(model: string): string;
  /** The status we expect; any 4xx passes, a different one is only reported. */
  expect: number;
}

/** Just over fastify's 1 MiB body limit. */
const TOO_LARGE_CHARS = (1 << 20) + 1024;

const JSON_TYPE = "application/json";

type Path = string | ((model: string) => string);

const pathOf = (path: Path): ((model: string) => string) => (typeof path === "string" ? () => path : path);

/** A body sent as it is written. */
function raw(name: string, path: Path, contentType: string, body: string, expect: number): BadInput {
  return { name, path: pathOf(path), contentType, body: () => body, expect };
}

/** Well-formed JSON that the server must refuse all the same (made when sent: one is over 1 MiB). */
function json(name: string, path: Path, expect: number, body: (model: string) => unknown): BadInput {
  return { name, path: pathOf(path), contentType: JSON_TYPE, body: (m) => JSON.stringify(body(m)), expect };
}

/** Our own routes, as the load client asks them. */
const ours = (stream: boolean) => (model: string) => protocol("llm-serving").path(model, stream);
const HELLO = [{ role: "user", content: "Hello" }];

export const BAD_INPUTS: readonly BadInput[] = [
  raw("malformed JSON (TGI)", "/generate", JSON_TYPE, '{"inputs": "Hello", "parameters": {', 422),
  raw("body not an object (OpenAI completions)", "/v1/completions", JSON_TYPE, "[1, 2, 3]", 400),
  json("empty inputs (llm-serving)", ours(false), 400, () => ({ inputs: "", parameters: { max_new_tokens: 4 } })),
  json("max_new_tokens of the wrong type (TGI stream)", "/generate_stream", 422, () => ({ inputs: "Hello", parameters: { max_new_tokens: "ten" } })),
  json("max_tokens 0 (OpenAI completions)", "/v1/completions", 400, (m) => ({ model: m, prompt: "Hello", max_tokens: 0 })),
  json("length past the context (llm-serving stream)", ours(true), 400, () => ({ inputs: "Hello", parameters: { max_new_tokens: 100_000 } })),
  json("unknown model (llm-serving stream)", ours(true)("no-such-model"), 404, () => ({ inputs: "Hello", parameters: { max_new_tokens: 4 } })),
  json("unknown model (OpenAI chat)", "/v1/chat/completions", 404, () => ({ model: "no-such-model", messages: HELLO, max_tokens: 4 })),
  json("no messages (OpenAI chat)", "/v1/chat/completions", 400, (m) => ({ model: m, max_tokens: 4 })),
  json("n = 3, streamed (OpenAI chat)", "/v1/chat/completions", 400, (m) => ({ model: m, messages: HELLO, max_tokens: 4, n: 3, stream: true })),
  json("temperature 0 (TGI)", "/generate", 422, () => ({ inputs: "Hello", parameters: { max_new_tokens: 4, temperature: 0 } })),
  raw("text that is not JSON (TGI, text/plain)", "/generate", "text/plain", "Hello, server", 422),
  raw("unsupported content type (OpenAI completions)", "/v1/completions", "application/xml", "<prompt>Hello</prompt>", 415),
  json("body over 1 MiB (TGI)", "/generate", 413, () => ({ inputs: "a".repeat(TOO_LARGE_CHARS), parameters: { max_new_tokens: 4 } })),
];
