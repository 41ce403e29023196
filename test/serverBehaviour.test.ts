import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { frameworkRefusal } from "../src/server/httpErrors.js";
import { sendHttp } from "./helpers/rawHttp.js";
import { jsonOf, postJson, sharedTestServer, startTestServer, waitFor } from "./helpers/serverHarness.js";
import { tinyModelPath } from "./helpers/tinyModel.js";

const shared = sharedTestServer();
const url = (path: string) => shared.get().url + path;


const idle = async (): Promise<boolean> => {
  const s = await jsonOf(fetch(url("/stats")));
  return s.running === 0 && s.waiting === 0 && s.kv.usedBlocks === 0;
};

describe("request ids", () => {
  test("an incoming x-request-id is honoured and echoed; otherwise one is made", async () => {
    const mine = await postJson(url("/generate"), { inputs: "id", parameters: { max_new_tokens: 2 } }, { "x-request-id": "trace-42" });
    assert.equal(mine.headers.get("x-request-id"), "trace-42");
    const made = await postJson(url("/generate"), { inputs: "id", parameters: { max_new_tokens: 2 } });
    assert.match(made.headers.get("x-request-id")!, /^[0-9a-f-]{36}$/);
    const bad = await postJson(url("/generate"), { inputs: "id", parameters: { max_new_tokens: 2 } }, { "x-request-id": "has spaces in it" });
    assert.notEqual(bad.headers.get("x-request-id"), "has spaces in it");
    const timeline = await jsonOf(fetch(url("/debug/requests/trace-42")));
    assert.equal(timeline.id, "trace-42");
    assert.equal(timeline.tokens.length, 2);
    assert.ok(timeline.durations.e2e > 0);
  });
});

describe("client disconnect cancels the request", () => {
  test("mid-stream: the row leaves the batch and its blocks are freed", async () => {
    const res = await postJson(url("/generate_stream"), { inputs: "long", parameters: { max_new_tokens: 480, ignore_eos: true } }, { "x-request-id": "gone-mid-stream" });
    const reader = res.body!.getReader();
    await reader.read();
    const during = await jsonOf(fetch(url("/stats")));
    assert.equal(during.running, 1);
    assert.ok(during.kv.usedBlocks > 0);
    await reader.cancel();
    await waitFor(idle, "the cancelled row to leave");
    const t = await jsonOf(fetch(url("/debug/requests/gone-mid-stream")));
    assert.ok(t.tokens.length < 480, `stopped after ${t.tokens.length} tokens`);
  });

  test("before a non-streaming response: the generation stops", async () => {
    const abort = new AbortController();
    const pending = fetch(url("/generate"), {
      method: "POST",
      signal: abort.signal,
      headers: { "content-type": "application/json", "x-request-id": "gone-early" },
      body: JSON.stringify({ inputs: "long", parameters: { max_new_tokens: 480, ignore_eos: true } }),
    });
    await waitFor(async () => (await jsonOf(fetch(url("/stats")))).running === 1, "the request to start");
    abort.abort();
    await assert.rejects(pending);
    await waitFor(idle, "the engine to go idle");
    const t = await jsonOf(fetch(url("/debug/requests/gone-early")));
    assert.ok(t.tokens.length < 480, `stopped after ${t.tokens.length} tokens`);
  });
});

describe("bad input", () => {
  // Each family's refusals name a parameter as its body spells it (llm-serving's as TGI's: inputs, parameters.max_new_tokens).
  const long = "the model serves a request ".repeat(150);
  const cases: Array<[string, string, unknown, number, string?]> = [
    ["llm-serving: malformed JSON", "/models/llama2/generate", "{not json", 400],
    ["llm-serving: inputs missing", "/models/llama2/generate", { parameters: {} }, 400, "inputs"],
    ["llm-serving: inputs of the wrong type", "/models/llama2/generate", { inputs: ["a"] }, 400, "inputs"],
    ["llm-serving: negative max_new_tokens", "/models/llama2/generate", { inputs: "x", parameters: { max_new_tokens: -3 } }, 400, "parameters.max_new_tokens"],
    ["llm-serving: huge max_new_tokens", "/models/llama2/generate", { inputs: "x", parameters: { max_new_tokens: 10_000_000 } }, 400, "parameters.max_new_tokens"],
    ["llm-serving: a prompt longer than the context", "/models/llama2/generate", { inputs: long }, 400, "inputs"],
    ["llm-serving: a parameter that is not a number", "/models/llama2/generate", { inputs: "x", parameters: { temperature: "hot" } }, 400, "parameters.temperature"],
    ["llm-serving: unknown model", "/models/other/generate", { inputs: "x" }, 404, "model"],
    ["TGI: malformed JSON", "/generate", "{", 422],
    ["TGI: inputs missing", "/generate", {}, 422],
    ["TGI: prompt too long", "/generate", { inputs: long, parameters: { max_new_tokens: 5 } }, 422],
    ["OpenAI: prompt missing", "/v1/completions", { model: "llama2" }, 400, "prompt"],
    ["OpenAI: messages missing", "/v1/chat/completions", { model: "llama2" }, 400, "messages"],
    ["OpenAI: max_tokens of the wrong type", "/v1/completions", { model: "llama2", prompt: "x", max_tokens: "many" }, 400, "max_tokens"],
    ["OpenAI: prompt too long", "/v1/completions", { model: "llama2", prompt: long }, 400, "prompt"],
    ["OpenAI: unknown model", "/v1/completions", { model: "other", prompt: "x" }, 404, "model"],
    ["a body that is not an object", "/v1/completions", "[1, 2]", 400],
  ];
  for (const [name, path, body, status, param] of cases) {
    test(`${name} → ${status} with a JSON error`, async () => {
      const res = await postJson(url(path), body);
      assert.equal(res.status, status);
      assert.match(res.headers.get("content-type")!, /application\/json/);
      const err = await jsonOf(res);
      const message = typeof err.error === "string" ? err.error : err.error.message;
      assert.ok(message.length > 0);
      if (param && typeof err.error === "object") assert.equal(err.error.param, param);
    });
  }

  test("a body the framework refuses is said in our words and codes, not fastify's (fst_err_…)", async () => {
    const refusal = async (path: string, init: RequestInit): Promise<{ status: number; code: string; message: string }> => {
      const res = await fetch(url(path), { method: "POST", ...init });
      const { error } = (await jsonOf(res)) as { error: { code: string; message: string } };
      return { status: res.status, code: error.code, message: error.message };
    };
    const json = { "content-type": "application/json" };
    assert.deepEqual(await refusal("/v1/completions", { headers: json, body: "{not json" }), { status: 400, code: "invalid_json", message: "the body is not valid JSON" });
    assert.deepEqual(await refusal("/v1/completions", { headers: json, body: "" }), { status: 400, code: "invalid_json", message: "the body is empty: send a JSON object" });
    // A body read as JSON though sent as text is refused in the same words.
    assert.deepEqual(await refusal("/v1/completions", { headers: { "content-type": "text/plain" }, body: " " }), { status: 400, code: "invalid_json", message: "the body is empty: send a JSON object" });
    assert.deepEqual(await refusal("/v1/completions", { headers: { "content-type": "application/x-www-form-urlencoded" }, body: "a=b" }), { status: 400, code: "invalid_json", message: "the body is not valid JSON" });
    assert.deepEqual(await refusal("/v1/completions", { headers: { "content-type": "application/xml" }, body: "<a/>" }), {
      status: 415,
      code: "unsupported_media_type",
      message: "the body's content type is not JSON: send Content-Type: application/json",
    });
    const badUrl = await fetch(url("/models/%zz/generate"), { method: "POST", headers: json, body: "{}" });
    assert.equal(badUrl.status, 400);
    assert.equal(((await jsonOf(badUrl)) as { error: { code: string } }).error.code, "bad_url");
  });

  test("a body without Content-Type is read as JSON (Python's requests.post(data=...)); another explicit type stays a 415; an encoded body is a 415 that says so", async () => {
    const send = (path: string, headers: Record<string, string>, body: string | Buffer) => sendHttp(shared.get().url, { method: "POST", path, headers, body });
    const body = JSON.stringify({ prompt: "no type", max_tokens: 2 });
    const untyped = await send("/v1/completions", {}, body);
    assert.equal(untyped.status, 200, untyped.text);
    assert.equal(JSON.parse(untyped.text).usage.completion_tokens, 2);
    const tgi = await send("/generate", {}, JSON.stringify({ inputs: "no type", parameters: { max_new_tokens: 2 } }));
    assert.equal(tgi.status, 200, tgi.text);
    const broken = await send("/v1/completions", {}, "{not json");
    assert.deepEqual([broken.status, JSON.parse(broken.text).error.code], [400, "invalid_json"]);
    const xml = await send("/v1/completions", { "content-type": "text/xml" }, body);
    assert.deepEqual([xml.status, JSON.parse(xml.text).error.code], [415, "unsupported_media_type"]);
    const message = "the body has a Content-Encoding: this server reads only unencoded (identity) bodies; send it uncompressed";
    const gzipped = await send("/v1/completions", { "content-type": "application/json", "content-encoding": "gzip" }, gzipSync(body));
    assert.deepEqual([gzipped.status, gzipped.headers["accept-encoding"], JSON.parse(gzipped.text).error], [415, "identity", { message, type: "invalid_request_error", param: null, code: "unsupported_content_encoding" }]);
    const tgiGzipped = await send("/generate", { "content-type": "application/json", "content-encoding": "GZIP" }, gzipSync(body));
    assert.deepEqual([tgiGzipped.status, JSON.parse(tgiGzipped.text)], [415, { error: message, error_type: "invalid_request" }]);
    const identity = await send("/v1/completions", { "content-type": "application/json", "content-encoding": "identity" }, body);
    assert.equal(identity.status, 200, identity.text);
  });

  test("every framework refusal we name has our code; one we do not keeps its status and loses only fastify's prefix", () => {
    const codes = Object.fromEntries(
      ["FST_ERR_CTP_INVALID_JSON_BODY", "FST_ERR_CTP_EMPTY_JSON_BODY", "FST_ERR_CTP_INVALID_MEDIA_TYPE", "FST_ERR_CTP_INVALID_CONTENT_LENGTH", "FST_ERR_CTP_BODY_TOO_LARGE", "FST_ERR_BAD_URL", "FST_ERR_MAX_PARAM_LENGTH"].map((c) => [c, frameworkRefusal(400, c, "fastify's words").code]),
    );
    assert.deepEqual(Object.values(codes), ["invalid_json", "invalid_json", "unsupported_media_type", "invalid_content_length", "body_too_large", "bad_url", "param_too_long"]);
    assert.match(frameworkRefusal(413, "FST_ERR_CTP_BODY_TOO_LARGE", "").message, /\(1 MiB\)$/);
    const other = frameworkRefusal(405, "FST_ERR_SOMETHING_NEW", "fastify's words");
    assert.deepEqual([other.status, other.code, other.message], [405, "something_new", "fastify's words"]);
  });

  test("a path that exists asked with the wrong method is a 405 with Allow, in the shape of the path's family; an unknown path stays a 404", async () => {
    const wrong = async (method: string, path: string): Promise<{ status: number; allow: string | null; body: unknown }> => {
      const res = await fetch(url(path), { method });
      assert.match(res.headers.get("content-type")!, /application\/json/);
      return { status: res.status, allow: res.headers.get("allow"), body: await jsonOf(res) };
    };
    const openAi = (message: string) => ({ error: { message, type: "invalid_request_error", param: null, code: "method_not_allowed" } });
    assert.deepEqual(await wrong("GET", "/generate"), { status: 405, allow: "POST", body: { error: "GET /generate: this path takes POST", error_type: "invalid_request" } });
    assert.deepEqual(await wrong("GET", "/v1/completions?x=1"), { status: 405, allow: "POST", body: openAi("GET /v1/completions: this path takes POST") });
    assert.deepEqual(await wrong("GET", "/models/llama2/generate"), { status: 405, allow: "POST", body: openAi("GET /models/llama2/generate: this path takes POST") });
    assert.deepEqual(await wrong("POST", "/serving/get_bs"), { status: 405, allow: "GET, HEAD", body: openAi("POST /serving/get_bs: this path takes GET") });
    assert.deepEqual(await wrong("DELETE", "/health"), { status: 405, allow: "GET, HEAD", body: openAi("DELETE /health: this path takes GET") });
    // A route that takes the rest of the path (GET /v1/models/*) is one path family, not a method on every path.
    assert.deepEqual(await wrong("POST", "/v1/models/org/name"), { status: 405, allow: "GET, HEAD", body: openAi("POST /v1/models/org/name: this path takes GET") });
    // GET / is our index and POST / is TGI's: the path has no one family, so the operations shape.
    assert.deepEqual(await wrong("PUT", "/"), { status: 405, allow: "GET, HEAD, POST", body: openAi("PUT /: this path takes GET or POST") });
    const unknown = await wrong("GET", "/nope");
    assert.deepEqual([unknown.status, unknown.allow, (unknown.body as { error: { code: string } }).error.code], [404, null, "not_found"]);
    // What was sent is shown up to a line's length, not the whole 8 KB of it.
    const long = "x".repeat(8000);
    for (const [method, path, code] of [["GET", `/nope/${long}`, 404], ["GET", `/models/${long}/generate`, 405]] as const) {
      const r = await wrong(method, path);
      assert.equal(r.status, code);
      const message = JSON.stringify(r.body);
      assert.ok(message.length < 400, `${code}: ${message.length} characters`);
      assert.match(message, /… \(80\d\d characters\)/);
    }
  });

  test("after all that, the server still serves", async () => {
    const res = await postJson(url("/models/llama2/generate"), { inputs: "still here", parameters: { max_new_tokens: 3 } });
    assert.equal(res.status, 200);
    assert.ok(await idle());
  });
});

describe("overload and readiness", () => {
  test("beyond the waiting-queue limit: 429 with Retry-After, in each family's shape; every accepted request completes", async () => {
    const s = await startTestServer({ rows: 1, queueLimit: 1 });
    try {
      await s.server.engine.ready;
      const body = { inputs: "busy", parameters: { max_new_tokens: 300, ignore_eos: true } };
      const first = postJson(`${s.url}/generate`, body);
      await waitFor(async () => (await jsonOf(fetch(`${s.url}/stats`))).running === 1, "the first request to run");
      const second = postJson(`${s.url}/generate`, body);
      await waitFor(async () => (await jsonOf(fetch(`${s.url}/stats`))).waiting === 1, "the second request to wait");
      // 429 as TGI answers it: @huggingface/inference resends a 503 at once, without end.
      const third = await postJson(`${s.url}/generate`, body);
      assert.equal(third.status, 429);
      assert.equal(third.headers.get("retry-after"), "1");
      assert.equal((await jsonOf(third)).error_type, "overloaded");
      const openAi = await postJson(`${s.url}/v1/completions`, { prompt: "busy", max_tokens: 3 });
      assert.equal(openAi.status, 429);
      assert.equal(openAi.headers.get("retry-after"), "1");
      assert.deepEqual(((await jsonOf(openAi)) as { error: { type: string; code: string } }).error.type, "rate_limit_error");
      for (const r of [await first, await second]) {
        assert.equal(r.status, 200);
        assert.equal((await jsonOf(r)).generated_text.length > 0, true);
      }
    } finally {
      await s.server.close(1000);
    }
  });

  test("/health is 503 until the model is loaded and warmed up; generation routes say why", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const s = await startTestServer({}, async () => {
      await gate;
      return tinyModelPath();
    });
    try {
      const early = await fetch(`${s.url}/health`);
      assert.equal(early.status, 503);
      assert.equal((await jsonOf(early)).status, "loading");
      const gen = await postJson(`${s.url}/v1/completions`, { model: "llama2", prompt: "x" });
      assert.equal(gen.status, 503);
      assert.equal((await jsonOf(gen)).error.code, "loading");
      release();
      await s.server.engine.ready;
      assert.equal((await fetch(`${s.url}/health`)).status, 200);
    } finally {
      release();
      await s.server.close(1000);
    }
  });
});

describe("shutdown timeout", () => {
  test("requests still running after the timeout are cancelled and told so in their stream", async () => {
    const s = await startTestServer();
    await s.server.engine.ready;
    const res = await postJson(`${s.url}/generate_stream`, { inputs: "too long", parameters: { max_new_tokens: 500, ignore_eos: true } });
    const reader = res.body!.getReader();
    await reader.read();
    const closed = s.server.close(30);
    let text = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += new TextDecoder().decode(chunk.value);
    assert.equal(await closed, false, "not everything finished in time");
    const last = text.trim().split("\n\n").at(-1)!;
    assert.match(last, /^data:\{"error":".*shutting down.*","error_type":"overloaded"\}$/);
  });
});
