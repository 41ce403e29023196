/**
 * Fuzz corpus, hostile HTTP below the body. On a bare TCP connection: a
 * Content-Length that lies (too long, too short, not a number), bodies cut
 * off, bad chunked encoding, request lines and headers Node's parser refuses,
 * URLs that do not decode, pipelining. Where no route was reached the family
 * is unknown, so either family's error shape is accepted; a client that
 * stops sending may also just be disconnected. Then hostile clients: going
 * away mid-stream, mid-generation or mid-body, trickling bodies, bursts of
 * valid and malformed requests beyond the 4 rows. Never a 5xx, never a hang.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { rawRequest, sendRaw, type Reply } from "../helpers/rawHttp.js";
import { answered, either, fuzzer, judge, refused, send, type FuzzCase } from "./fuzzRunner.js";
import { CHAT, COMPLETIONS, DEBUG_REQUEST, GEN_ROUTES, invalidStatus, LS_GENERATE, LS_STREAM, TGI_GENERATE, TGI_STREAM, unrouted, type Route } from "./fuzzRoutes.js";

const fuzz = fuzzer();

const body = JSON.stringify({ inputs: "framing", parameters: { max_new_tokens: 2 } });
const json = { "content-type": "application/json" };
/** No route was reached, or the request never completed: either family shape, or a silent close. */
const brokenRequest = (route: Route, bytes: string | Buffer, options = {}): Omit<FuzzCase, "name"> => ({
  route,
  raw: { bytes, options, mayCloseSilently: true },
  expect: refused({ family: "any" }),
});
const chunked = (...chunks: string[]): string => chunks.map((c) => `${Buffer.byteLength(c).toString(16)}\r\n${c}\r\n`).join("") + "0\r\n\r\n";
const LONG_RUN = { inputs: "go on", parameters: { max_new_tokens: 480, ignore_eos: true } };

describe("bodies that do not match their framing", () => {
  const cases: FuzzCase[] = [
    { name: "Content-Length larger than the body, then the client half-closes", ...brokenRequest(TGI_GENERATE, rawRequest("POST", "/generate", { ...json, "content-length": "500" }, body), { halfClose: true }) },
    { name: "Content-Length larger than the body, the connection held 300 ms, then dropped", ...brokenRequest(TGI_GENERATE, rawRequest("POST", "/generate", { ...json, "content-length": "500" }, body), { holdMs: 300 }) },
    { name: "Content-Length 2 MiB with a short body, held 300 ms", ...brokenRequest(TGI_GENERATE, rawRequest("POST", "/generate", { ...json, "content-length": String(2 << 20) }, body), { holdMs: 300 }) },
    { name: "Content-Length shorter than the body (the rest looks like a next request)", ...brokenRequest(TGI_GENERATE, rawRequest("POST", "/generate", { ...json, "content-length": "10" }, body)) },
    { name: "Content-Length not a number", ...brokenRequest(TGI_GENERATE, rawRequest("POST", "/generate", { ...json, "content-length": "abc" }, body)) },
    { name: "Content-Length negative", ...brokenRequest(TGI_GENERATE, rawRequest("POST", "/generate", { ...json, "content-length": "-5" }, body)) },
    { name: "two different Content-Length headers", ...brokenRequest(TGI_GENERATE, Buffer.concat([rawRequest("POST", "/generate", { ...json, "content-length": "5" }).subarray(0, -2), Buffer.from(`content-length: ${body.length}\r\n\r\n${body}`)])) },
    { name: "Content-Length and Transfer-Encoding: chunked together", ...brokenRequest(TGI_GENERATE, rawRequest("POST", "/generate", { ...json, "content-length": "5", "transfer-encoding": "chunked" }, chunked(body))) },
    { name: "a chunk size that is not hexadecimal", ...brokenRequest(TGI_GENERATE, rawRequest("POST", "/generate", { ...json, "transfer-encoding": "chunked" }, `zz\r\n${body}\r\n0\r\n\r\n`)) },
    { name: "a chunked body cut off, then the client half-closes", ...brokenRequest(TGI_GENERATE, rawRequest("POST", "/generate", { ...json, "transfer-encoding": "chunked" }, `40\r\n{"inputs":`), { halfClose: true }) },
    { name: "a chunk larger than announced", ...brokenRequest(TGI_GENERATE, rawRequest("POST", "/generate", { ...json, "transfer-encoding": "chunked" }, `2\r\n${body}\r\n0\r\n\r\n`)) },
    { name: "a chunked body of 3 MiB of whitespace (over the limit)", ...brokenRequest(TGI_GENERATE, rawRequest("POST", "/generate", { ...json, "transfer-encoding": "chunked" }, chunked(...Array.from({ length: 3 }, () => " ".repeat(1 << 20)), body))) },
    // HTTP/1.1 chunked bodies and 100-continue are ordinary requests: answered.
    { name: "a valid chunked body", route: TGI_GENERATE, raw: { bytes: rawRequest("POST", "/generate", { ...json, "transfer-encoding": "chunked" }, chunked(body)) }, expect: answered() },
    { name: "a valid chunked body in one-byte chunks", route: TGI_GENERATE, raw: { bytes: rawRequest("POST", "/generate", { ...json, "transfer-encoding": "chunked" }, chunked(...body.split(""))) }, expect: answered() },
    { name: "Expect: 100-continue", route: TGI_GENERATE, raw: { bytes: rawRequest("POST", "/generate", { ...json, expect: "100-continue" }, body) }, expect: answered() },
    { name: "an HTTP/1.0 request without Connection", route: TGI_GENERATE, raw: { bytes: `POST /generate HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}` }, expect: answered() },
  ];
  fuzz.cases(cases);
});

describe("request lines and headers Node refuses", () => {
  const health = unrouted("GET", "/health");
  const cases: FuzzCase[] = [
    { name: "binary garbage instead of a request line", ...brokenRequest(health, Buffer.from([0, 1, 2, 0xff, 0x0d, 0x0a, 0x0d, 0x0a])) },
    { name: "an unknown method BREW", ...brokenRequest(health, "BREW /generate HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") },
    { name: "a header name with a space", ...brokenRequest(health, "GET /health HTTP/1.1\r\nHost: x\r\nX A: b\r\nConnection: close\r\n\r\n") },
    { name: "a header line without a colon", ...brokenRequest(health, "GET /health HTTP/1.1\r\nHost: x\r\nnonsense\r\nConnection: close\r\n\r\n") },
    { name: "a 20 KB header value", ...brokenRequest(health, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\nConnection: close\r\n\r\n`) },
    { name: "a 60 KB URL", ...brokenRequest(health, `GET /models/${"a".repeat(60_000)}/generate HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`) },
    // Node's parser takes any HTTP/d.d version: answering is as fine as refusing.
    { name: "HTTP/2.0 in an HTTP/1 request line", route: health, raw: { bytes: "GET /health HTTP/2.0\r\nHost: x\r\nConnection: close\r\n\r\n", mayCloseSilently: true }, expect: either({ family: "any" }) },
    { name: "bare LF line endings and a NUL in the path", ...brokenRequest(health, "GET /hea\0lth HTTP/1.1\nHost: x\n\n") },
    // Absolute-form targets must be accepted (RFC 9112 §3.2.2); the answer is /health's.
    { name: "an absolute-form URI", route: health, raw: { bytes: "GET http://elsewhere.example/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" }, expect: answered() },
    { name: "a non-ASCII x-request-id", route: health, raw: { bytes: Buffer.from("GET /health HTTP/1.1\r\nHost: x\r\nX-Request-Id: caf\xe9\xff\r\nConnection: close\r\n\r\n", "latin1") }, expect: answered() },
  ];
  fuzz.cases(cases);
});

describe("URLs that do not decode or route", () => {
  const get = (path: string): Buffer => rawRequest("GET", path, {});
  const cases: FuzzCase[] = [
    // The route is known (its family too): the error must still be in a family shape, not fastify's.
    { name: "POST /models/%ZZ/generate (bad percent-encoding)", route: LS_GENERATE, raw: { bytes: rawRequest("POST", "/models/%ZZ/generate", json, body) }, expect: refused({ statuses: [400, 404] }) },
    { name: "GET /debug/requests/%00%ff (bad UTF-8 in the id)", route: DEBUG_REQUEST, raw: { bytes: get("/debug/requests/%00%ff") }, expect: refused({ statuses: [400, 404] }) },
    { name: "POST /models/<5000 characters>/generate", route: LS_GENERATE, raw: { bytes: rawRequest("POST", `/models/${"m".repeat(5000)}/generate`, json, body) }, expect: refused({ statuses: [400, 404, 414] }) },
    { name: "GET /debug/requests/<3000 characters>", route: DEBUG_REQUEST, raw: { bytes: get(`/debug/requests/${"x".repeat(3000)}`) }, expect: refused({ statuses: [400, 404, 414] }) },
    { name: "GET /debug/requests/..%2F..%2Fetc%2Fpasswd", route: DEBUG_REQUEST, raw: { bytes: get("/debug/requests/..%2F..%2Fetc%2Fpasswd") }, expect: refused({ statuses: [404] }) },
    { name: "POST /models/llama2%00/generate", route: LS_GENERATE, raw: { bytes: rawRequest("POST", "/models/llama2%00/generate", json, body) }, expect: refused({ statuses: [400, 404] }) },
    { name: "POST /models//generate (an empty model name)", route: LS_GENERATE, raw: { bytes: rawRequest("POST", "/models//generate", json, body) }, expect: refused({ statuses: [400, 404] }) },
    { name: "OPTIONS *", route: unrouted("GET", "*"), raw: { bytes: "OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" }, expect: refused({ family: "any" }) },
    { name: "GET /generate (a POST route)", route: TGI_GENERATE, raw: { bytes: get("/generate") }, expect: refused({ statuses: [405] }) },
    { name: "a query string of 8 000 parameters", route: unrouted("GET", "/health"), raw: { bytes: get(`/health?${Array.from({ length: 8000 }, (_, i) => `p${i}=${i}`).join("&")}`) }, expect: either({ family: "any" }) },
  ];
  fuzz.cases(cases);
});

describe("pipelining", () => {
  test("a malformed request then a valid one on the same connection: both answered, or the first says Connection: close", async () => {
    const bad = rawRequest("POST", "/generate", { ...json, connection: "keep-alive" }, "{not json");
    const good = rawRequest("POST", "/generate", json, body);
    const reply = await sendRaw(fuzz.url(), Buffer.concat([bad, good]));
    judge({ name: "bad", route: TGI_GENERATE, expect: refused({ statuses: [422] }) }, reply.all[0]);
    // Closing after an error is allowed when announced (RFC 9112 §9.6): the client retries the rest elsewhere.
    if (reply.all.length === 1) assert.match(reply.all[0].headers.connection ?? "", /close/i, "a connection closed with a request unanswered must say so");
    else judge({ name: "good", route: TGI_GENERATE, body, expect: answered() }, reply.all[1]);
    await fuzz.afterwards(true);
  });

  test("ten valid requests pipelined: ten answers", async () => {
    const one = rawRequest("POST", "/generate", { ...json, connection: "keep-alive" }, body);
    const reply = await sendRaw(fuzz.url(), Buffer.concat([...Array.from({ length: 9 }, () => one), rawRequest("POST", "/generate", json, body)]));
    assert.equal(reply.all.length, 10);
    for (const r of reply.all) judge({ name: "pipelined", route: TGI_GENERATE, body, expect: answered() }, r);
    await fuzz.afterwards(true);
  });
});

/** Sends a JSON POST and destroys the connection after the response's first bytes, or after `ms` milliseconds. */
function dropAfter(path: string, body: unknown, when: "first bytes" | { ms: number }): Promise<void> {
  const url = new URL(fuzz.url());
  return new Promise((resolve) => {
    const req = http.request({ host: url.hostname, port: url.port, method: "POST", path, headers: { "content-type": "application/json" }, agent: false });
    const drop = (): void => {
      req.destroy();
      resolve();
    };
    req.on("error", () => resolve());
    if (when === "first bytes") req.on("response", (res) => res.once("data", drop));
    else setTimeout(drop, when.ms);
    req.end(JSON.stringify(body));
  });
}

/** Raw bytes on a socket, then the socket destroyed after `waitMs` (the answer, if any, is not looked at). */
async function writeAndDrop(bytes: Buffer, waitMs: number): Promise<void> {
  await sendRaw(fuzz.url(), bytes, { holdMs: waitMs });
}

describe("hostile headers", () => {
  const valid = TGI_GENERATE.body();
  const withHeaders = (what: string, headers: Record<string, string>, check?: (reply: Reply) => void): FuzzCase => ({
    name: what,
    route: TGI_GENERATE,
    body: valid,
    headers,
    // Headers the server does not need are ignored: the request is answered as without them.
    expect: answered(check ? (_b, reply) => check(reply) : undefined),
  });
  fuzz.cases([
    withHeaders("a traceparent that is not one", { traceparent: "garbage" }),
    withHeaders("a traceparent of non-hex ids", { traceparent: `00-${"z".repeat(32)}-${"0".repeat(16)}-01` }),
    withHeaders("an 8 KB traceparent", { traceparent: "x".repeat(8000) }),
    withHeaders("a 129-character x-request-id (replaced)", { "x-request-id": "r".repeat(129) }, (reply) => assert.notEqual(reply.headers["x-request-id"], "r".repeat(129))),
    withHeaders("an x-request-id with spaces and quotes (replaced)", { "x-request-id": 'a "b" c' }, (reply) => assert.notEqual(reply.headers["x-request-id"], 'a "b" c')),
    withHeaders("a 5 KB Authorization header", { authorization: `Bearer ${"k".repeat(5000)}` }),
    withHeaders("Accept: application/xml", { accept: "application/xml" }),
    { ...withHeaders("a Content-Type with 100 parameters", {}), contentType: `application/json; ${Array.from({ length: 100 }, (_, i) => `p${i}=${i}`).join("; ")}` },
  ]);

  test("four requests at once with the same x-request-id: each gets its own generation", async () => {
    const prompts = ["one", "two", "three", "four"];
    const one = (prompt: string, id?: string): FuzzCase => ({ name: prompt, route: TGI_GENERATE, body: TGI_GENERATE.body({ prompt, maxTokens: 20 }), headers: id ? { "x-request-id": id } : {}, expect: answered() });
    const alone: string[] = [];
    for (const p of prompts) alone.push(JSON.parse((await send(fuzz.url(), one(p))).text).generated_text);
    const together = await Promise.all(prompts.map((p) => send(fuzz.url(), one(p, "same-id"))));
    together.forEach((r, i) => judge(one(prompts[i]), r));
    // Greedy: the same text as each got alone, so no row took another's tokens.
    assert.deepEqual(together.map((r) => JSON.parse(r.text).generated_text), alone);
    await fuzz.afterwards();
  });
});

describe("clients that go away", () => {
  test("a TGI stream dropped after its first event", async () => {
    await dropAfter("/generate_stream", LONG_RUN, "first bytes");
    await fuzz.afterwards(true);
  });

  test("an llm-serving stream dropped after its first line", async () => {
    await dropAfter(LS_STREAM.path, LS_STREAM.body({ maxTokens: 480, params: { ignore_eos: true } }), "first bytes");
    await fuzz.afterwards(true);
  });

  test("an OpenAI chat stream dropped after its first chunk", async () => {
    await dropAfter(CHAT.path, CHAT.body({ maxTokens: 480, params: { stream: true, ignore_eos: true } }), "first bytes");
    await fuzz.afterwards(true);
  });

  test("a non-streamed generation dropped while it runs", async () => {
    await dropAfter("/generate", LONG_RUN, { ms: 60 });
    await fuzz.afterwards(true);
  });

  test("a body cut off half-way, the connection dropped", async () => {
    const body = Buffer.from(JSON.stringify(LONG_RUN));
    await writeAndDrop(rawRequest("POST", "/generate", { "content-type": "application/json", "content-length": String(body.length) }, body.subarray(0, body.length >> 1)), 30);
    await fuzz.afterwards();
  });

  test("headers only, the connection dropped before any body", async () => {
    await writeAndDrop(rawRequest("POST", "/v1/completions", { "content-type": "application/json", "content-length": "1000" }), 30);
    await fuzz.afterwards();
  });

  test("half of a request line, the connection dropped", async () => {
    await writeAndDrop(Buffer.from("POST /v1/chat/comp"), 30);
    await fuzz.afterwards();
  });
});

describe("bodies that trickle in", () => {
  test("a valid body sent one byte every 5 ms is answered", async () => {
    const url = new URL(fuzz.url());
    const body = JSON.stringify(TGI_GENERATE.body());
    const reply = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request({ host: url.hostname, port: url.port, method: "POST", path: "/generate", headers: { "content-type": "application/json", "content-length": String(body.length) }, agent: false, signal: AbortSignal.timeout(10_000) }, (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on("error", reject);
      void (async () => {
        for (const ch of body) {
          req.write(ch);
          await sleep(5);
        }
        req.end();
      })();
    });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(typeof JSON.parse(reply.text).generated_text, "string");
    await fuzz.afterwards();
  });
});

describe("bursts", () => {
  test("24 requests at once (valid and malformed, every route, 4 rows): each answered correctly", async () => {
    // The valid ones must be answered whatever arrives beside them.
    const cases: FuzzCase[] = GEN_ROUTES.flatMap((route, i) => [
      { name: "valid", route, body: route.body({ maxTokens: 8 + i }), expect: answered() },
      { name: "malformed", route, body: '{"inputs": [', expect: refused({ statuses: [invalidStatus(route)] }) },
      { name: "too long", route, body: route.body({ maxTokens: 100_000 }), expect: refused({ statuses: [invalidStatus(route)] }) },
    ]);
    cases.push(
      { name: "stream", route: TGI_STREAM, body: TGI_STREAM.body({ maxTokens: 40 }), expect: answered() },
      { name: "echo logprobs", route: COMPLETIONS, body: COMPLETIONS.body({ top: { echo: true, logprobs: 5 } }), expect: answered() },
      { name: "nan", route: COMPLETIONS, body: '{"model":"llama2","prompt":"x","max_tokens":NaN}', expect: refused({ statuses: [400] }) },
    );
    const replies = await Promise.all(cases.map((c) => send(fuzz.url(), c)));
    replies.forEach((r, i) => judge(cases[i], r));
    await fuzz.afterwards(true);
  });

  test("12 streams at once, every other one dropped after its first event: the rest complete", async () => {
    const body = TGI_STREAM.body({ maxTokens: 60, params: { ignore_eos: true } });
    const kept: FuzzCase = { name: "kept", route: TGI_STREAM, body, expect: answered() };
    const runs = Array.from({ length: 12 }, (_, i) =>
      i % 2 === 0 ? send(fuzz.url(), kept).then((r) => judge(kept, r)) : dropAfter(TGI_STREAM.path, body, "first bytes"),
    );
    await Promise.all(runs);
    await fuzz.afterwards(true);
  });
});

fuzz.finalCheck();
