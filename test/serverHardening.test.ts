/**
 * What real clients and operators expect of the server (issue: production
 * hardening): TGI's root route, lenient model names, client disconnects
 * recorded as cancellations, the context size said, huge prompts refused or
 * tokenized without stalling others, finished work delivered on shutdown,
 * the access log, the API key, CORS, the index page, process metrics.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { Agent, get } from "node:http";
import { connect, type Socket } from "node:net";
import { PassThrough, Writable } from "node:stream";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Logger } from "../src/timing/Logger.js";
import { startCliServer } from "./helpers/cliServer.js";
import { jsonOf, lines, postJson, requestRecord, sharedTestServer, sseData, startTestServer, waitFor, withTestServer } from "./helpers/serverHarness.js";

const shared = sharedTestServer();
const url = (path: string) => shared.get().url + path;

const chat = (model?: unknown) => ({ ...(model === undefined ? {} : { model }), messages: [{ role: "user", content: "hi" }], max_tokens: 2 });

describe("TGI's POST /", () => {
  test("answers a list of one generation, or streams when stream is true", async () => {
    const whole = await postJson(url("/"), { inputs: "root", parameters: { max_new_tokens: 3, details: true } });
    assert.equal(whole.status, 200);
    const body = await jsonOf(whole);
    assert.ok(Array.isArray(body) && body.length === 1, "a list, as TGI's compat route answers");
    assert.equal(body[0].details.generated_tokens, 3);
    const streamed = await postJson(url("/"), { inputs: "root", parameters: { max_new_tokens: 3 }, stream: true });
    assert.match(streamed.headers.get("content-type")!, /text\/event-stream/);
    const events = sseData(await streamed.text()) as Array<{ generated_text: string | null }>;
    assert.equal(events.length, 3);
    assert.equal(events.at(-1)!.generated_text, body[0].generated_text);
    const bad = await postJson(url("/"), { inputs: "root", stream: "yes" });
    assert.equal(bad.status, 422);
  });
});

describe("model names real clients send", () => {
  test("no model, \"tgi\" and an http(s) URL mean the served model; other names are a 404 that lists it", async () => {
    for (const model of [undefined, "tgi", "llama2", "http://127.0.0.1:8080", "https://example.org/v1"]) {
      const res = await postJson(url("/v1/chat/completions"), chat(model));
      assert.equal(res.status, 200, `model ${JSON.stringify(model)}`);
      assert.equal((await jsonOf(res)).model, "llama2");
    }
    assert.equal((await postJson(url("/v1/completions"), { prompt: "x", max_tokens: 1 })).status, 200);
    const unknown = await postJson(url("/v1/chat/completions"), chat("gpt-4"));
    assert.equal(unknown.status, 404);
    assert.match((await jsonOf(unknown)).error.message, /serves "llama2"/);
    assert.equal((await postJson(url("/v1/chat/completions"), chat(42))).status, 400);
    assert.equal((await postJson(url("/models/tgi/generate"), { inputs: "x", parameters: { max_new_tokens: 1 } })).status, 200);
  });

  test("--model-name-check off: any name is the served model", () =>
    withTestServer({ modelNameCheck: "off" }, async (s) => {
      assert.equal((await postJson(`${s.url}/v1/chat/completions`, chat("gpt-4"))).status, 200);
    }));
});

describe("a client that goes away cancels its request; it is recorded as cancelled (499), not as an error", () => {
  const cancelledCount = async (reason: string): Promise<number> => {
    const text = await (await fetch(url("/metrics"))).text();
    const line = text.split("\n").find((l) => l.startsWith(`llm_serving_requests_total{finish_reason="${reason}"}`));
    return line ? Number(line.split(" ").at(-1)) : 0;
  };

  test("mid-stream and before a whole response: status 499, aborted, finish cancelled, time to free measured", async () => {
    const errorsBefore = await cancelledCount("error");
    const cancelledBefore = await cancelledCount("cancelled");
    const stream = await postJson(url("/generate_stream"), { inputs: "leave", parameters: { max_new_tokens: 400, ignore_eos: true } }, { "x-request-id": "left-mid-stream" });
    const reader = stream.body!.getReader();
    await reader.read();
    await reader.cancel();

    const abort = new AbortController();
    const whole = fetch(url("/v1/completions"), {
      method: "POST",
      signal: abort.signal,
      headers: { "content-type": "application/json", "x-request-id": "left-early" },
      body: JSON.stringify({ prompt: "leave", max_tokens: 400, ignore_eos: true }),
    });
    await waitFor(async () => (await jsonOf(fetch(url("/stats")))).running >= 1, "the request to start");
    await sleep(5);
    abort.abort();
    await assert.rejects(whole);

    for (const id of ["left-mid-stream", "left-early"]) {
      const t = await requestRecord(url(""), id);
      assert.equal(t.status, 499, id);
      assert.equal(t.aborted, true);
      assert.equal(t.finish_reason, "cancelled");
      assert.ok(typeof t.points.disconnected === "number", "the disconnect is a time point");
      const ttf = t.durations.time_to_free as number;
      assert.ok(ttf >= 0 && ttf < 1000, `time to free ${ttf} ms`);
    }
    await waitFor(async () => (await cancelledCount("cancelled")) === cancelledBefore + 2, "both cancellations in the metrics");
    assert.equal(await cancelledCount("error"), errorsBefore, "no error counted");
  });
});

describe("the context size as llama.cpp gives it", () => {
  test("a rounded context size is said in /info", () =>
    withTestServer({ contextSize: 16 }, async (s) => {
      const info = await jsonOf(fetch(`${s.url}/info`));
      assert.equal(info.requested_context_size, 16);
      assert.equal(info.context_size, 256);
      assert.match(info.context_size_note, /asked for \(16 tokens\) is 256 tokens per request/);
      assert.equal(info.max_total_tokens, 256);
    }));
});

/**
 * How long a stream waited on anything but the engine's native work while
 * the requests `others` were handled: for each token whose gap since the
 * previous one overlaps one of them, that gap less the native decode and
 * sampling of the step that made the token. (A tiny model's step alone
 * jitters by a few ms on a shared machine; gaps away from the other requests
 * are not theirs.)
 */
async function longestWaitBeside(base: string, streamId: string, others: string[]): Promise<{ ms: number; where: string }> {
  const record = async (id: string) => jsonOf(fetch(`${base}/debug/requests/${id}`));
  const stream = await record(streamId);
  const windows = await Promise.all(others.map(async (id) => ((r) => [r.origin, r.origin + r.durations.e2e])(await record(id))));
  const steps = new Map<number, { gap: number; spans: Record<string, number> }>((stream.steps as Array<{ id: number; gap: number; spans: Record<string, number> }>).map((s) => [s.id, s]));
  const native = (id: number): number => (steps.get(id) ? steps.get(id)!.spans.decode + steps.get(id)!.spans.sample : 0);
  const tokens = (stream.tokens as Array<{ written: number; step: number }>).map((t) => ({ written: stream.origin + t.written, step: t.step }));
  let max = { ms: 0, where: "" };
  for (let i = 1; i < tokens.length; i++) {
    const [from, to] = [tokens[i - 1].written, tokens[i].written];
    if (!windows.some(([start, end]) => start < to && end > from)) continue;
    const ms = to - from - native(tokens[i].step);
    if (ms > max.ms) max = { ms, where: `token ${i}, step ${tokens[i].step} ${JSON.stringify(steps.get(tokens[i].step))}` };
  }
  return max;
}

/** The most a stream may wait outside the engine beside the other requests: parsing a 1 MB body alone holds the event loop ~10 ms. */
const MAX_WAIT_MS = 5;
/** Measured rounds: a stall the server causes shows in every one; the shared host's own pauses (5–6 ms, now and then) rarely in all. */
const MEASURED_ROUNDS = 3;

/**
 * A stream runs while `send` sends other requests (named by the ids it
 * returns); the stream's longest wait outside the engine while those were
 * handled must stay within MAX_WAIT_MS in at least one measured round. A first
 * round warms the server up (a fresh process compiles each path on first use).
 */
async function besideAStream(base: string, send: (round: number) => Promise<string[]>): Promise<void> {
  const waits: string[] = [];
  for (let round = 0; round <= MEASURED_ROUNDS; round++) {
    const id = `stream-${round}`;
    const stream = await postJson(`${base}/generate_stream`, { inputs: "steady", parameters: { max_new_tokens: 200, ignore_eos: true } }, { "x-request-id": id });
    const reader = stream.body!.getReader();
    await reader.read();
    const others = await send(round);
    while (!(await reader.read()).done);
    if (round === 0) continue;
    const wait = await longestWaitBeside(base, id, others);
    if (wait.ms <= MAX_WAIT_MS) return;
    waits.push(`round ${round}: ${wait.ms.toFixed(2)} ms while ${others.join(", ")} were handled (${wait.where})`);
  }
  assert.fail(`in every round the concurrent stream waited more than ${MAX_WAIT_MS} ms outside the engine:\n${waits.join("\n")}`);
}

describe("a huge prompt stalls nobody (the server in its own process, so that only its own stalls count)", () => {
  test("~1 MB that cannot fit is refused by its length before it is read; a prompt refused after tokenizing shows that time as tokenize", async () => {
    const server = await startCliServer(["--context-size", "512", "--rows", "2"]);
    try {
      await besideAStream(server.url, async (round) => {
        const ids: string[] = [];
        for (const path of ["/generate", "/v1/completions", "/models/llama2/generate"]) {
          const id = `huge-${round}-${ids.length}`;
          const huge = await postJson(`${server.url}${path}`, { inputs: "word ".repeat(190_000), prompt: "word ".repeat(190_000), parameters: { max_new_tokens: 4 } }, { "x-request-id": id });
          assert.equal(huge.status, 413, path);
          assert.match(JSON.stringify(await jsonOf(huge)), /larger than any request whose prompt fits the context/);
          ids.push(id);
        }
        // Within the byte bound (at most 10 bytes per token here) but 2000 tokens: refused once tokenized.
        const id = `long-${round}`;
        const long = await postJson(`${server.url}/generate`, { inputs: "word ".repeat(1000), parameters: { max_new_tokens: 4 } }, { "x-request-id": id });
        assert.equal(long.status, 422);
        assert.match((await jsonOf(long)).error, /\d+ tokens do not fit the context of 512 tokens/);
        const refused = await jsonOf(fetch(`${server.url}/debug/requests/${id}`));
        assert.deepEqual(refused.span.children.map((c: { name: string }) => c.name), ["receive", "validate", "tokenize", "respond"], "the refusal's tokenizing is labelled tokenize");
        return [...ids, id];
      });
    } finally {
      server.stop();
    }
  });

  test("a prompt within the byte bound is tokenized off the event loop, then refused: the stream beside it keeps going", async () => {
    const server = await startCliServer(["--context-size", "8192", "--rows", "2"]);
    try {
      await besideAStream(server.url, async (round) => {
        // 80 KB: ~25 ms of tokenizing on the event loop; within 8192 tokens × 10 bytes, but 32 000 tokens.
        const id = `long-${round}`;
        const long = await postJson(`${server.url}/v1/completions`, { prompt: "word ".repeat(16_000), max_tokens: 1 }, { "x-request-id": id });
        assert.equal(long.status, 400);
        assert.match((await jsonOf(long)).error.message, /\d+ tokens do not fit the context of 8192 tokens/);
        return [id];
      });
    } finally {
      server.stop();
    }
  });
});

describe("a graceful shutdown delivers every accepted request", () => {
  test("whole responses in flight when the drain begins get their full text, beside streams", async () => {
    const s = await startTestServer({ rows: 4 });
    await s.server.engine.ready;
    const body = (family: string) =>
      family === "tgi" ? { inputs: "finish me", parameters: { max_new_tokens: 200, ignore_eos: true } } : { prompt: "finish me", max_tokens: 200, ignore_eos: true };
    const whole = [postJson(`${s.url}/generate`, body("tgi")), postJson(`${s.url}/v1/completions`, body("openai")), postJson(`${s.url}/models/llama2/generate`, { inputs: "finish me", parameters: { max_new_tokens: 200, ignore_eos: true } })];
    const streamed = postJson(`${s.url}/generate_stream`, body("tgi"));
    await waitFor(() => s.server.localEngine!.master!.stats.running === 4, "all four to run");
    const closed = s.server.close(30_000);
    const [tgi, openai, llmServing] = await Promise.all(whole);
    assert.equal(tgi.status, 200);
    assert.equal((await jsonOf(tgi)).generated_text.length > 0, true);
    assert.equal(openai.status, 200);
    assert.equal((await jsonOf(openai)).usage.completion_tokens, 200);
    assert.equal(llmServing.status, 200);
    const events = sseData(await (await streamed).text());
    assert.equal(events.length, 200);
    assert.equal(await closed, true);
  });

  test("connections that carry no request (never used, idle keep-alive, headers still arriving) do not hold the close once the last response is out", async () => {
    const s = await startTestServer({ rows: 2 });
    await s.server.engine.ready;
    const { hostname, port } = new URL(s.url);
    const opened = async (bytes?: string): Promise<Socket> => {
      const socket = connect(Number(port), hostname);
      socket.on("error", () => {});
      await once(socket, "connect");
      if (bytes !== undefined) socket.write(bytes);
      return socket;
    };
    const keepAlive = new Agent({ keepAlive: true });
    await new Promise<void>((resolve) => get(`${s.url}/health`, { agent: keepAlive }, (res) => res.resume().on("end", resolve)));
    const sockets = [await opened(), await opened("GET /health HTTP/1.1\r\nHost: x\r\n")];
    const inFlight = postJson(`${s.url}/generate`, { inputs: "finish me", parameters: { max_new_tokens: 100, ignore_eos: true } }).then((r) => r.json());
    await waitFor(() => s.server.localEngine!.master!.stats.running === 1, "the generation to run");
    const closed = s.server.close(30_000).then(() => performance.now());
    assert.equal(((await inFlight) as { generated_text: string }).generated_text.length > 0, true, "the request in flight got its answer");
    const answered = performance.now();
    const ms = (await closed) - answered;
    // The grace for responses still writing is 2 s: the close must not have waited for it (it ends within ~0.1 s;
    // the bound leaves room for a loaded machine, and is still well short of the grace).
    assert.ok(ms < 1500, `the close ended ${Math.round(ms)} ms after the last response`);
    keepAlive.destroy();
    for (const socket of sockets) socket.destroy();
  });
});

describe("what operators expect", () => {
  test("one access-log line per request (pino JSON): time, method, route, status, id, tokens, ms; 404s too", async () => {
    const sink = new PassThrough();
    let out = "";
    sink.on("data", (d) => (out += d));
    await withTestServer({ accessLog: true }, async (s) => {
      await (await postJson(`${s.url}/v1/completions`, { prompt: "log me", max_tokens: 2 }, { "x-request-id": "logged" })).text();
      await (await fetch(`${s.url}/nope`)).text();
      const left = await postJson(`${s.url}/generate_stream`, { inputs: "leave", parameters: { max_new_tokens: 300, ignore_eos: true } }, { "x-request-id": "logged-left" });
      const reader = left.body!.getReader();
      for (let i = 0; i < 5; i++) await reader.read();
      await reader.cancel();
      await waitFor(() => out.includes('"/nope"') && out.includes('"logged-left"'), "the 404's line and the cancelled stream's");
      const entries = lines(out).map((l) => JSON.parse(l)).filter((e) => e.msg === "request");
      const gen = entries.find((e) => e.request_id === "logged");
      assert.ok(gen, out);
      assert.match(gen.time, /^\d{4}-\d\d-\d\dT/);
      assert.deepEqual([gen.method, gen.route, gen.status, gen.prompt_tokens, gen.generated_tokens, gen.finish_reason], ["POST", "/v1/completions", 200, gen.prompt_tokens, 2, "length"]);
      assert.ok(gen.prompt_tokens > 0 && gen.ms > 0);
      assert.equal(entries.find((e) => e.route === "/nope")?.status, 404);
      const cancelled = entries.find((e) => e.request_id === "logged-left");
      assert.equal(cancelled.status, 499);
      assert.equal(cancelled.finish_reason, "cancelled");
      assert.ok(cancelled.generated_tokens >= 5, `the tokens it got before it left are counted: ${cancelled.generated_tokens}`);
    }, { accessLogStream: sink });
  });

  test("the access log's stream (stdout) carries only request lines: fastify's own \"Server listening at …\" stays off it", async () => {
    const sink = new PassThrough();
    let out = "";
    sink.on("data", (d) => (out += d));
    await withTestServer({ accessLog: true }, async (s) => {
      await (await fetch(`${s.url}/health`, { headers: { "x-request-id": "only-me" } })).text();
      await waitFor(() => out.includes('"only-me"'), "the request's line");
    }, { accessLogStream: sink });
    assert.deepEqual(lines(out).map((l) => JSON.parse(l).msg), ["request"], out);
  });

  test("an access log whose reader went away (EPIPE) stops, with one warning; the server serves on", async () => {
    const broken = new Writable({
      write(_chunk, _encoding, done) {
        done(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
      },
    });
    const warnings: string[] = [];
    const logger = new Logger("info", (line) => warnings.push(line));
    await withTestServer({ accessLog: true }, async (s) => {
      for (let i = 0; i < 3; i++) assert.equal((await fetch(`${s.url}/health`)).status, 200);
      assert.equal((await postJson(`${s.url}/v1/completions`, { prompt: "still", max_tokens: 2 })).status, 200);
      assert.equal(warnings.filter((w) => /access log cannot be written/.test(w)).length, 1, warnings.join("\n"));
    }, { logger, accessLogStream: broken });
  });

  test("--api-key: generation and debug routes want the bearer token; /health does not", () =>
    withTestServer({ apiKey: "sk-test" }, async (s) => {
      const auth = { authorization: "Bearer sk-test" };
      const without = await postJson(`${s.url}/v1/chat/completions`, chat());
      assert.equal(without.status, 401);
      assert.equal((await jsonOf(without)).error.code, "invalid_api_key");
      assert.equal((await postJson(`${s.url}/v1/chat/completions`, chat(), { authorization: "Bearer wrong" })).status, 401);
      assert.equal((await postJson(`${s.url}/generate`, { inputs: "x" })).status, 401);
      assert.equal((await fetch(`${s.url}/debug/requests`)).status, 401);
      assert.equal((await postJson(`${s.url}/v1/chat/completions`, chat(), auth)).status, 200);
      assert.equal((await fetch(`${s.url}/debug/requests`, { headers: auth })).status, 200);
      assert.equal((await fetch(`${s.url}/health`)).status, 200);
      // The page and its files hold no data (it asks for the key); browsers ask for a favicon with every page.
      for (const path of ["/dashboard", "/dashboard/app.js", "/dashboard/dashboard.css"]) assert.equal((await fetch(`${s.url}${path}`)).status, 200, path);
      assert.equal((await fetch(`${s.url}/favicon.ico`)).status, 204);
    }));

  test("--cors-origin: preflight and responses carry the CORS headers for that origin", () =>
    withTestServer({ corsOrigins: ["http://app.example"] }, async (s) => {
      const pre = await fetch(`${s.url}/v1/chat/completions`, { method: "OPTIONS", headers: { origin: "http://app.example", "access-control-request-method": "POST" } });
      assert.equal(pre.status, 204);
      assert.equal(pre.headers.get("access-control-allow-origin"), "http://app.example");
      const res = await postJson(`${s.url}/v1/chat/completions`, chat(), { origin: "http://app.example" });
      assert.equal(res.headers.get("access-control-allow-origin"), "http://app.example");
      const other = await postJson(`${s.url}/v1/chat/completions`, chat(), { origin: "http://evil.example" });
      assert.equal(other.headers.get("access-control-allow-origin"), null);
    }));

  test("--cors-origin: an OPTIONS request that is not a preflight is refused in JSON, in the shape of the path's family", () =>
    withTestServer({ corsOrigins: ["http://app.example"] }, async (s) => {
      const message = "a CORS preflight needs Origin and Access-Control-Request-Method headers";
      const options = async (path: string, headers: Record<string, string> = {}): Promise<[number, string | null, unknown]> => {
        const res = await fetch(`${s.url}${path}`, { method: "OPTIONS", headers });
        return [res.status, res.headers.get("content-type"), await jsonOf(res)];
      };
      const openAi = [400, "application/json; charset=utf-8", { error: { message, type: "invalid_request_error", param: null, code: "invalid_preflight" } }];
      assert.deepEqual(await options("/v1/completions"), openAi);
      assert.deepEqual(await options("/v1/completions", { origin: "http://app.example" }), openAi);
      assert.deepEqual(await options("/v1/completions", { "access-control-request-method": "POST" }), openAi);
      // TGI answers a client's mistake with 422.
      assert.deepEqual(await options("/generate"), [422, "application/json; charset=utf-8", { error: message, error_type: "validation" }]);
    }));

  test("--cors-origin with --api-key: preflights, answered or refused, get an id and an access-log line; a 401 carries the CORS headers", async () => {
    const sink = new PassThrough();
    let out = "";
    sink.on("data", (d) => (out += d));
    await withTestServer({ corsOrigins: ["http://app.example"], apiKey: "sk-test", accessLog: true }, async (s) => {
      const origin = "http://app.example";
      const preflight = await fetch(`${s.url}/v1/completions`, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "x-request-id": "preflight" } });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get("x-request-id"), "preflight");
      const refused = await fetch(`${s.url}/v1/completions`, { method: "OPTIONS", headers: { "x-request-id": "not-a-preflight" } });
      assert.equal(refused.status, 400);
      assert.equal(refused.headers.get("x-request-id"), "not-a-preflight");
      const unauthorized = await postJson(`${s.url}/v1/completions`, { prompt: "x", max_tokens: 1 }, { origin });
      assert.equal(unauthorized.status, 401);
      assert.equal(unauthorized.headers.get("access-control-allow-origin"), origin);
      await waitFor(() => out.includes('"not-a-preflight"'), "the refusal's line");
    }, { accessLogStream: sink });
    const logged = lines(out).map((l) => JSON.parse(l)).filter((e) => e.method === "OPTIONS").map((e) => [e.request_id, e.route, e.status]);
    assert.deepEqual(logged, [["preflight", "/v1/completions", 204], ["not-a-preflight", "/v1/completions", 400]]);
  });

  test("/metrics counts every answered request by route pattern and status, refusals and unknown paths too, with no label per URL", () =>
    // Found by a new user: 503s for a full queue, 401s and 422s were counted nowhere an operator could alert on.
    withTestServer({ apiKey: "sk-test" }, async (s) => {
      const auth = { authorization: "Bearer sk-test" };
      await postJson(`${s.url}/generate`, { inputs: "x", parameters: { max_new_tokens: 1 } });
      await postJson(`${s.url}/generate`, { inputs: "x", parameters: { max_new_tokens: 0 } }, auth);
      await postJson(`${s.url}/generate`, { inputs: "x", parameters: { max_new_tokens: 1 } }, auth);
      for (const path of ["/no/such/path-1", "/no/such/path-2"]) await fetch(`${s.url}${path}`, { headers: auth });
      const text = await (await fetch(`${s.url}/metrics`)).text();
      const count = (route: string, status: number): number => Number(new RegExp(`^llm_serving_http_requests_total\\{route="${route.replace(/[/.]/g, "\\$&")}",status="${status}"\\} (\\d+)$`, "m").exec(text)?.[1] ?? 0);
      assert.equal(count("/generate", 401), 1, text.split("\n").filter((l) => l.startsWith("llm_serving_http")).join("\n"));
      assert.equal(count("/generate", 422), 1);
      assert.equal(count("/generate", 200), 1);
      assert.equal(count("unmatched", 404), 2);
      assert.doesNotMatch(text, /path-1/, "no label per URL: they would grow without bound");
    }));

  test("GET / is an index (JSON, or a page of links for a browser); /metrics has process metrics", async () => {
    const index = await jsonOf(fetch(url("/")));
    assert.equal(index.name, "llm-serving");
    assert.match(index.version, /^\d+\.\d+\.\d+/);
    assert.equal(index.model, "llama2");
    assert.ok(index.routes["GET /debug/requests"]);
    const page = await fetch(url("/"), { headers: { accept: "text/html" } });
    assert.match(page.headers.get("content-type")!, /text\/html/);
    assert.match(await page.text(), /<a href="\/debug\/requests">/);
    const metrics = await (await fetch(url("/metrics"))).text();
    for (const name of ["process_resident_memory_bytes", "process_cpu_seconds_total", "nodejs_heap_size_used_bytes", "nodejs_eventloop_lag_seconds"]) {
      assert.match(metrics, new RegExp(`^${name} `, "m"), name);
    }
  });
});
