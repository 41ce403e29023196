/**
 * What a fuzz case may get back: a 4xx JSON error in the shape of the route's
 * API family, or a 2xx whose body is a well-formed answer of that route.
 * Anything else (5xx, an error in another shape, a stream that reports an
 * error, bytes that are not UTF-8, text with lone surrogates) fails the case.
 */
import assert from "node:assert/strict";
import type { Reply } from "../helpers/rawHttp.js";
import { streams, type Family, type Json, type Route } from "./fuzzRoutes.js";

/** Lone surrogates: the engine detokenizes UTF-8 bytes, so generated text can never hold one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function assertWellFormedText(text: unknown, where: string): void {
  assert.equal(typeof text, "string", `${where} is a string`);
  assert.ok(!LONE_SURROGATE.test(text as string), `${where} holds a lone surrogate: ${JSON.stringify(text)}`);
}

function assertUtf8(reply: Reply): void {
  assert.doesNotThrow(() => new TextDecoder("utf-8", { fatal: true }).decode(reply.bytes), "the response body is valid UTF-8");
}

function parseJson(text: string, what: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    assert.fail(`${what} is not JSON: ${text.slice(0, 300)}`);
  }
}

function describeReply(reply: Reply): string {
  return `${reply.status} ${reply.headers["content-type"] ?? "(no content-type)"} ${reply.text.slice(0, 400)}`;
}

export interface Refusal {
  /** Allowed statuses (default: any 4xx). */
  statuses?: readonly number[];
  /** The parameter the error must name: OpenAI-shape `param`, or the TGI message. */
  param?: string | RegExp;
  /** What the error message must say (TGI's "error", or error.message). */
  message?: RegExp;
  /** "any" when no route was reached (broken HTTP framing): either family shape is fine. */
  family?: Family | "any";
}

/** A 4xx with a JSON body in the family's error shape. */
export function assertRefused(route: Route, reply: Reply, r: Refusal = {}): void {
  assert.ok(reply.status >= 400 && reply.status < 500, `expected a 4xx, got ${describeReply(reply)}`);
  if (r.statuses) assert.ok(r.statuses.includes(reply.status), `expected status ${r.statuses.join(" or ")}, got ${describeReply(reply)}`);
  assertUtf8(reply);
  assert.match(reply.headers["content-type"] ?? "", /^application\/json/, `error content-type: ${describeReply(reply)}`);
  const body = parseJson(reply.text, "the error body");
  const family = r.family ?? route.family;
  if (family === "any") {
    const tgiLike = Object.keys(body).sort().join() === "error,error_type";
    const openAiLike = Object.keys(body).join() === "error" && typeof body.error === "object";
    assert.ok(tgiLike || openAiLike, `not in either family's error shape: ${reply.text.slice(0, 300)}`);
  }
  const tgiShape = family === "tgi" || (family === "any" && typeof body.error === "string");
  if (tgiShape) {
    assert.deepEqual(Object.keys(body).sort(), ["error", "error_type"], `TGI error shape {"error", "error_type"}: ${reply.text.slice(0, 300)}`);
    assert.ok(typeof body.error === "string" && body.error.length > 0, "error is a non-empty string");
    assert.equal(typeof body.error_type, "string");
    if (reply.status === 422) assert.equal(body.error_type, "validation");
    if (r.param !== undefined) assert.match(body.error, typeof r.param === "string" ? new RegExp(escape(r.param)) : r.param, "the error names the parameter");
    if (r.message) assert.match(body.error, r.message);
    return;
  }
  assert.deepEqual(Object.keys(body), ["error"], `error shape {"error": {...}}: ${reply.text.slice(0, 300)}`);
  const e = body.error as Json;
  assert.ok(e !== null && typeof e === "object", `"error" is an object: ${reply.text.slice(0, 300)}`);
  assert.ok(typeof e.message === "string" && e.message.length > 0, "error.message is a non-empty string");
  assert.equal(typeof e.type, "string", "error.type");
  assert.ok("param" in e && (e.param === null || typeof e.param === "string"), "error.param is a string or null");
  assert.ok("code" in e && (e.code === null || typeof e.code === "string"), "error.code is a string or null");
  if (r.message) assert.match(e.message as string, r.message);
  if (r.param !== undefined) assert.match(String(e.param), typeof r.param === "string" ? new RegExp(`^${escape(r.param)}$`) : r.param, `error.param in ${reply.text.slice(0, 300)}`);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A 2xx whose body is a well-formed answer of the route, for the request that was sent. */
export function assertAnswered(route: Route, reply: Reply, request: unknown): void {
  assert.ok(reply.status >= 200 && reply.status < 300, `expected a 2xx, got ${describeReply(reply)}`);
  assertUtf8(reply);
  const req = (request ?? {}) as Json;
  const type = reply.headers["content-type"] ?? "";
  const streamed = streams(route, req);
  if (route.method === "POST") assert.match(type, streamed ? /^text\/event-stream/ : /^application\/json/, `content-type of ${route.path}`);
  switch (route.shape) {
    case "tgi":
      return checkTgi(parseJson(reply.text, "the response"), req);
    case "tgi-by-flag": {
      if (streamed) return checkTgiStream(reply.text, req);
      // TGI's POST / wraps the /generate response in a list of one (as the HF Inference API does).
      const list = parseJson(reply.text, "the response") as unknown;
      assert.ok(Array.isArray(list) && list.length === 1, `POST / answers a list of one response: ${reply.text.slice(0, 200)}`);
      return checkTgi(list[0] as Json, req);
    }
    case "tgi-stream":
      return checkTgiStream(reply.text, req);
    case "llm-serving":
    case "llm-serving-by-flag":
      return streamed ? checkLlmServingStream(reply.text) : checkLlmServing(parseJson(reply.text, "the response"));
    case "llm-serving-stream":
      return checkLlmServingStream(reply.text);
    case "completion":
      return streamed ? checkOpenAiStream(reply.text, "text_completion") : checkCompletion(parseJson(reply.text, "the response"), req);
    case "chat":
      return streamed ? checkOpenAiStream(reply.text, "chat.completion.chunk") : checkChat(parseJson(reply.text, "the response"));
    case "json":
      assert.match(type, /^application\/json/);
      parseJson(reply.text, route.path);
      return;
    case "serving-event": {
      assert.match(reply.text, /^data: /);
      const event = parseJson(reply.text.slice("data: ".length), "the serving event");
      assert.equal(event.event, "message");
      return;
    }
    case "metrics":
      assert.match(reply.text, /^# (HELP|TYPE) /m);
      return;
  }
}

const TGI_FINISH = ["length", "eos_token", "stop_sequence"];

function checkToken(t: unknown, where: string): void {
  const token = t as Json;
  assert.ok(Number.isInteger(token?.id) && (token.id as number) >= 0, `${where}.id`);
  assert.equal(typeof token.text, "string", `${where}.text`);
  assert.ok(token.logprob === null || typeof token.logprob === "number", `${where}.logprob`);
  assert.equal(typeof token.special, "boolean", `${where}.special`);
}

function params(req: Json): Json {
  return (req.parameters && typeof req.parameters === "object" ? req.parameters : {}) as Json;
}

function checkTgi(b: Json, req: Json): void {
  // return_full_text echoes the inputs, which may hold whatever the client sent.
  if (params(req).return_full_text === true) assert.equal(typeof b.generated_text, "string");
  else assertWellFormedText(b.generated_text, "generated_text");
  if (b.details === undefined) return;
  const d = b.details as Json;
  assert.ok(TGI_FINISH.includes(d.finish_reason as string), `details.finish_reason ${String(d.finish_reason)}`);
  assert.ok(Number.isInteger(d.generated_tokens), "details.generated_tokens");
  assert.ok(Array.isArray(d.tokens) && Array.isArray(d.prefill), "details.tokens and details.prefill");
  (d.tokens as unknown[]).forEach((t, i) => checkToken(t, `details.tokens[${i}]`));
}

/** SSE `data:` payloads; every event must be one. */
function sseEvents(text: string): string[] {
  const events = text.split("\n\n").map((e) => e.trim()).filter((e) => e !== "");
  for (const e of events) assert.match(e, /^data:/, `an SSE event: ${e.slice(0, 200)}`);
  return events.map((e) => e.slice("data:".length).trim());
}

function checkTgiStream(text: string, req: Json): void {
  const events = sseEvents(text).map((e) => parseJson(e, "a TGI stream event"));
  assert.ok(events.length > 0, "the stream has at least one event");
  for (const [i, e] of events.entries()) {
    assert.equal(e.error, undefined, `the stream reports an error: ${JSON.stringify(e)}`);
    checkToken(e.token, `event ${i}.token`);
    if (i < events.length - 1) assert.equal(e.generated_text, null);
  }
  const last = events.at(-1)!;
  if (params(req).return_full_text === true) assert.equal(typeof last.generated_text, "string");
  else assertWellFormedText(last.generated_text, "the last event's generated_text");
  // As TGI: the last event carries details only when they were asked for.
  if (params(req).details === true) assert.ok(TGI_FINISH.includes((last.details as Json)?.finish_reason as string), "the last event's details.finish_reason");
  else assert.equal(last.details, null, "no details unless asked for");
}

function checkLlmServing(b: Json): void {
  assertWellFormedText(b.generated_text, "generated_text");
  assert.ok(TGI_FINISH.includes(b.finish_reason as string), `finish_reason ${String(b.finish_reason)}`);
  assert.ok(Number.isInteger(b.generated_tokens), "generated_tokens");
  assert.ok(Array.isArray(b.tokens), "tokens");
  (b.tokens as unknown[]).forEach((t, i) => checkToken(t, `tokens[${i}]`));
}

function checkLlmServingStream(text: string): void {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  assert.ok(lines.length > 0, "the stream has at least one line");
  for (const line of lines) {
    // return_protocol "sse" (the default) writes raw envelopes, any other value `data:` lines.
    const inner = line.startsWith("data:") ? parseJson(line.slice(5), "a stream line") : ((parseJson(line, "a stream line").data as Json[]) ?? [])[0];
    assert.ok(inner && typeof inner === "object", `a stream line carries an object: ${line.slice(0, 200)}`);
    assert.equal(inner.error, undefined, `the stream reports an error: ${line.slice(0, 300)}`);
    assertWellFormedText(inner.generated_text, "a stream line's generated_text");
  }
}

function checkUsage(u: unknown): void {
  const usage = u as Json;
  assert.ok(Number.isInteger(usage?.prompt_tokens) && Number.isInteger(usage.completion_tokens), "usage counts");
  assert.equal(usage.total_tokens, (usage.prompt_tokens as number) + (usage.completion_tokens as number));
}

function checkCompletion(b: Json, req: Json): void {
  assert.equal(b.object, "text_completion");
  const choices = b.choices as Json[];
  assert.equal(choices.length, 1);
  const c = choices[0];
  // echo puts the prompt, as sent, in front of the generated text.
  if (req.echo === true) assert.equal(typeof c.text, "string");
  else assertWellFormedText(c.text, "choices[0].text");
  assert.ok(c.finish_reason === "stop" || c.finish_reason === "length", "finish_reason");
  if (c.logprobs !== null) {
    const l = c.logprobs as Json;
    const n = (l.tokens as unknown[]).length;
    for (const k of ["token_logprobs", "top_logprobs", "text_offset"]) assert.equal((l[k] as unknown[]).length, n, `logprobs.${k} has one entry per token`);
    const offsets = l.text_offset as number[];
    for (let i = 1; i < n; i++) assert.ok(offsets[i] >= offsets[i - 1], "text_offset never goes back");
    if (n > 0) assert.ok(offsets[n - 1] <= (c.text as string).length, "text_offset stays inside the text");
  }
  checkUsage(b.usage);
}

function checkChat(b: Json): void {
  assert.equal(b.object, "chat.completion");
  const c = (b.choices as Json[])[0];
  const message = c.message as Json;
  assert.equal(message.role, "assistant");
  assertWellFormedText(message.content, "choices[0].message.content");
  assert.ok(c.finish_reason === "stop" || c.finish_reason === "length", "finish_reason");
  checkUsage(b.usage);
}

function checkOpenAiStream(text: string, object: string): void {
  const events = sseEvents(text);
  assert.equal(events.at(-1), "[DONE]", "the stream ends with [DONE]");
  const chunks = events.slice(0, -1).map((e) => parseJson(e, "a stream chunk"));
  assert.ok(chunks.length > 0, "the stream has chunks");
  let finishes = 0;
  for (const chunk of chunks) {
    assert.equal(chunk.error, undefined, `the stream reports an error: ${JSON.stringify(chunk).slice(0, 300)}`);
    assert.equal(chunk.object, object);
    for (const choice of chunk.choices as Json[]) if (choice.finish_reason !== null) finishes++;
  }
  assert.equal(finishes, 1, "exactly one chunk carries the finish reason");
}
