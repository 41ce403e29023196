/**
 * The invalid requests the soak sends among the good ones. Each must be
 * refused with a 4xx and must not disturb anything else: they cover the
 * three API families, streamed routes (where a refusal has to come before
 * the stream's headers), fastify's own refusals (malformed JSON, content
 * type, body size) and the engine's (a length past the context).
 */

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

const json = (value: unknown): string => JSON.stringify(value);

export const BAD_INPUTS: readonly BadInput[] = [
  {
    name: "malformed JSON (TGI)",
    path: () => "/generate",
    contentType: "application/json",
    body: () => '{"inputs": "Hello", "parameters": {',
    expect: 422,
  },
  {
    name: "body not an object (OpenAI completions)",
    path: () => "/v1/completions",
    contentType: "application/json",
    body: () => "[1, 2, 3]",
    expect: 400,
  },
  {
    name: "empty inputs (llm-serving)",
    path: (m) => `/models/${encodeURIComponent(m)}/generate`,
    contentType: "application/json",
    body: () => json({ inputs: "", parameters: { max_new_tokens: 4 } }),
    expect: 400,
  },
  {
    name: "max_new_tokens of the wrong type (TGI stream)",
    path: () => "/generate_stream",
    contentType: "application/json",
    body: () => json({ inputs: "Hello", parameters: { max_new_tokens: "ten" } }),
    expect: 422,
  },
  {
    name: "max_tokens 0 (OpenAI completions)",
    path: () => "/v1/completions",
    contentType: "application/json",
    body: (m) => json({ model: m, prompt: "Hello", max_tokens: 0 }),
    expect: 400,
  },
  {
    name: "length past the context (llm-serving stream)",
    path: (m) => `/models/${encodeURIComponent(m)}/generate_stream`,
    contentType: "application/json",
    body: () => json({ inputs: "Hello", parameters: { max_new_tokens: 100_000 } }),
    expect: 400,
  },
  {
    name: "unknown model (llm-serving stream)",
    path: () => "/models/no-such-model/generate_stream",
    contentType: "application/json",
    body: () => json({ inputs: "Hello", parameters: { max_new_tokens: 4 } }),
    expect: 404,
  },
  {
    name: "unknown model (OpenAI chat)",
    path: () => "/v1/chat/completions",
    contentType: "application/json",
    body: () => json({ model: "no-such-model", messages: [{ role: "user", content: "Hello" }], max_tokens: 4 }),
    expect: 404,
  },
  {
    name: "no messages (OpenAI chat)",
    path: () => "/v1/chat/completions",
    contentType: "application/json",
    body: (m) => json({ model: m, max_tokens: 4 }),
    expect: 400,
  },
  {
    name: "n = 3, streamed (OpenAI chat)",
    path: () => "/v1/chat/completions",
    contentType: "application/json",
    body: (m) => json({ model: m, messages: [{ role: "user", content: "Hello" }], max_tokens: 4, n: 3, stream: true }),
    expect: 400,
  },
  {
    name: "temperature 0 (TGI)",
    path: () => "/generate",
    contentType: "application/json",
    body: () => json({ inputs: "Hello", parameters: { max_new_tokens: 4, temperature: 0 } }),
    expect: 422,
  },
  {
    name: "text that is not JSON (TGI, text/plain)",
    path: () => "/generate",
    contentType: "text/plain",
    body: () => "Hello, server",
    expect: 422,
  },
  {
    name: "unsupported content type (OpenAI completions)",
    path: () => "/v1/completions",
    contentType: "application/xml",
    body: () => "<prompt>Hello</prompt>",
    expect: 415,
  },
  {
    name: "body over 1 MiB (TGI)",
    path: () => "/generate",
    contentType: "application/json",
    body: () => json({ inputs: "a".repeat(TOO_LARGE_CHARS), parameters: { max_new_tokens: 4 } }),
    expect: 413,
  },
];
