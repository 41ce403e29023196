/**
 * Remote engines that fail: a backend that answers 500, 429, 401 or 422, one
 * that never answers, one cut mid-stream, one that streams past its count or
 * closes without its closing chunk — clear client errors, no hung requests,
 * the router routing around it, a down engine checked at a capped interval,
 * and the access log's counts of a relayed request (small local servers
 * misbehaving as told, and one of our own servers as the good engine).
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { PassThrough } from "node:stream";
import { Logger } from "../src/timing/Logger.js";
import { backend, gateway, MODEL, record } from "./helpers/gateway.js";
import { jsonOf, postJson, sseData, startTestServer, waitFor, type TestServer } from "./helpers/serverHarness.js";

/** A backend that misbehaves as told, with a healthy /health. */
async function fakeBackend(behaviour: "500" | "silent" | "cut" | "429" | "401" | "422" | "past" | "no-close" | "late-close"): Promise<{ url: string; server: Server; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    if (req.method !== "POST") return res.end(req.url === "/slots" ? "[]" : "ok");
    hits++;
    if (behaviour === "500" || behaviour === "429" || behaviour === "401" || behaviour === "422") {
      res.writeHead(Number(behaviour), { "content-type": "application/json" });
      return res.end(JSON.stringify({ error: { message: behaviour === "500" ? "the backend broke" : `refused with ${behaviour}` } }));
    }
    if (behaviour === "silent") return; // never answers
    if (behaviour === "no-close" || behaviour === "late-close") {
      // llama.cpp-shaped, two tokens, then the connection closed with no closing chunk: at once, or after the gateway's closing wait.
      res.writeHead(200, { "content-type": "text/event-stream" });
      ["one", " two"].forEach((content, i) => res.write(`data: ${JSON.stringify({ content, tokens: [i + 1], stop: false, tokens_evaluated: 3, tokens_predicted: i + 1 })}\n\n`));
      setTimeout(() => res.end(), behaviour === "late-close" ? 400 : 0);
      return;
    }
    if (behaviour === "past") {
      // llama.cpp-shaped, streaming one token past any count, then its closing chunk.
      res.writeHead(200, { "content-type": "text/event-stream" });
      ["one", " two", " three"].forEach((content, i) => res.write(`data: ${JSON.stringify({ content, tokens: [i + 1], stop: false, tokens_evaluated: 3, tokens_predicted: i + 1 })}\n\n`));
      return res.end(`data: ${JSON.stringify({ content: "", stop: true, stop_type: "limit", tokens_evaluated: 3, tokens_predicted: 3, timings: { prompt_n: 3, prompt_ms: 1.5, predicted_n: 3, predicted_ms: 4.5 } })}\n\n`);
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(`data: ${JSON.stringify({ content: "one", tokens: [1], stop: false })}\n\n`);
    res.write(`data: ${JSON.stringify({ content: " two", tokens: [2], stop: false })}\n\n`);
    setTimeout(() => res.socket?.destroy(), 50);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, hits: () => hits };
}

describe("remote engine faults", () => {
  let good: TestServer;
  before(async () => {
    good = await startTestServer({ modelName: "llama2" });
    await good.server.engine.ready;
  });
  after(async () => {
    await good?.server.close(1000);
  });

  it("a backend that answers 500 is routed around; with none left the client gets a 503 with Retry-After, naming why", async () => {
    const bad = await fakeBackend("500");
    const said: string[] = [];
    const gw = await gateway([backend("bad", bad.url, "openai"), backend("good", good.url, "openai", { model: "llama2" })], "least-outstanding", new Logger("info", (line) => said.push(line)));
    try {
      const res = await postJson(`${gw.url}/generate`, { inputs: "x", parameters: { max_new_tokens: 2 } });
      assert.equal(res.status, 200, await res.clone().text());
      const r = await record(gw, res.headers.get("x-request-id")!);
      assert.equal(r.hop.engine, "good");
      assert.match(r.hop.retries[0], /^bad: the backend answered 500: the backend broke/);
      const stats = (await jsonOf(fetch(`${gw.url}/stats`))).engines as Array<{ name: string; healthy: boolean }>;
      assert.equal(stats.find((e) => e.name === "bad")!.healthy, false);
      // The operator hears of it, and of its return (its /health answers: it is back at the next check), once each way.
      await waitFor(() => said.some((l) => /healthy again/.test(l)), "the engine's return in the log", 5000);
      assert.deepEqual(said.filter((l) => /^(warning: )?engine /.test(l)), ["warning: engine bad is taken out: the backend answered 500: the backend broke; it is checked again with backoff", "engine bad is healthy again"]);
    } finally {
      await gw.server.close(1000);
      bad.server.close();
    }
    const alone = await fakeBackend("500");
    const gw2 = await gateway([backend("bad", alone.url, "openai")]);
    try {
      // The only engine failed as a server, on this request: no Retry-After (a request that crashes every backend would take them out again at each retry).
      const res = await postJson(`${gw2.url}/v1/completions`, { prompt: "x", max_tokens: 2 });
      assert.equal(res.status, 500);
      assert.equal(res.headers.get("retry-after"), null);
      const body = (await res.json()) as { error: { message: string } };
      assert.match(body.error.message, /^no engine can take the request \(bad: the backend answered 500: the backend broke\)$/);
    } finally {
      await gw2.server.close(1000);
      alone.server.close();
    }
    // The only engine died after its last check: nothing generated, and it may be back soon — 503 with Retry-After (this was a 500).
    const dying = await fakeBackend("500");
    const gw3 = await gateway([backend("dying", dying.url, "llama.cpp", { healthIntervalMs: 60_000 })]);
    try {
      dying.server.close();
      dying.server.closeAllConnections();
      const res = await postJson(`${gw3.url}/v1/completions`, { prompt: "x", max_tokens: 2 });
      assert.equal(res.status, 503);
      assert.equal(res.headers.get("retry-after"), "1");
      assert.match(((await res.json()) as { error: { message: string } }).error.message, /^no engine can take the request \(dying: the backend could not be reached: ECONNREFUSED\)$/);
    } finally {
      await gw3.server.close(1000);
    }
  });

  it("the access log counts a relayed request's prompt and tokens as the backend did", async () => {
    // It said prompt_tokens 0: the remote stream has no prompt ids here.
    const sink = new PassThrough();
    let out = "";
    sink.on("data", (d) => (out += d));
    const gw = await startTestServer({ modelName: MODEL, engines: [backend("good", good.url, "openai", { model: "llama2" })], accessLog: true }, undefined, undefined, sink);
    await gw.server.engine.ready;
    try {
      const body = await jsonOf(postJson(`${gw.url}/v1/completions`, { prompt: "count me", max_tokens: 3 }, { "x-request-id": "relayed-log" }));
      await waitFor(() => out.includes('"relayed-log"'), "the access-log line");
      const line = JSON.parse(out.split("\n").find((l) => l.includes('"relayed-log"'))!);
      assert.ok(body.usage.prompt_tokens > 0);
      assert.deepEqual([line.prompt_tokens, line.generated_tokens], [body.usage.prompt_tokens, 3]);
    } finally {
      await gw.server.close(1000);
    }
  });

  it("a backend that is down is checked at a capped interval, not an ever longer one: one started after the gateway is found soon", async () => {
    // It backed off to 30 s: a backend started a minute after the gateway waited up to 30 s more for its first request.
    const later = await fakeBackend("500");
    const port = new URL(later.url).port;
    later.server.close(); // nothing listens there yet
    const gw = await gateway([backend("later", later.url, "openai", { healthIntervalMs: 100, downCheckMaxMs: 150 })]);
    let checks = 0;
    const up = createServer((req, res) => {
      if (req.method === "GET") checks++;
      res.writeHead(503).end("loading");
    });
    try {
      await new Promise<void>((resolve) => up.listen(Number(port), "127.0.0.1", resolve));
      // Backing off without a cap (200, 400, 800, 1600 ms) it would ask three times in 2 s; capped at 150 ms, about thirteen times.
      await new Promise((r) => setTimeout(r, 2000));
      assert.ok(checks >= 6, `${checks} health checks in 2 s`);
    } finally {
      up.close();
      up.closeAllConnections();
      await gw.server.close(1000);
    }
  });

  it("no engine healthy: 503 with Retry-After, naming each engine and why", async () => {
    const closed = await fakeBackend("500");
    const url = closed.url;
    closed.server.close(); // nothing listens there now
    const gw = await gateway([backend("gone", url, "llama.cpp")]);
    try {
      const res = await postJson(`${gw.url}/generate`, { inputs: "x", parameters: { max_new_tokens: 2 } });
      assert.equal(res.status, 503);
      assert.ok(res.headers.get("retry-after"));
      assert.match(((await res.json()) as { error: string }).error, /no engine is healthy \(gone: health check failed: ECONNREFUSED\)/);
      const health = await fetch(`${gw.url}/health`);
      assert.equal(health.status, 503);
      assert.equal(((await health.json()) as { status: string }).status, "no_healthy_engine");
    } finally {
      await gw.server.close(1000);
    }
  });

  it("a retry onto an engine that cannot take the request ends it with that engine's reason (the process lives on)", async () => {
    const bad = await fakeBackend("500");
    const tgi = await fakeBackend("silent");
    const gw = await gateway([backend("bad", bad.url, "llama.cpp"), backend("tgi", tgi.url, "tgi")]);
    try {
      const res = await postJson(`${gw.url}/v1/completions`, { prompt: [1, 2, 3], max_tokens: 2 });
      assert.equal(res.status, 400);
      assert.match(((await res.json()) as { error: { message: string } }).error.message, /a TGI backend takes text, not token ids/);
      assert.equal((await fetch(`${gw.url}/health`)).status, 200, "the gateway still serves");
    } finally {
      await gw.server.close(1000);
      bad.server.close();
      tgi.server.close();
      tgi.server.closeAllConnections();
    }
  });

  it("a busy backend (429) is routed around; one that refuses our key (401) is taken out and is not the client's fault", async () => {
    const busy = await fakeBackend("429");
    const gw = await gateway([backend("busy", busy.url, "openai"), backend("good", good.url, "openai", { model: "llama2" })]);
    try {
      const res = await postJson(`${gw.url}/generate`, { inputs: "x", parameters: { max_new_tokens: 2 } });
      assert.equal(res.status, 200, await res.clone().text());
      assert.match((await record(gw, res.headers.get("x-request-id")!)).hop.retries[0], /^busy: the backend answered 429/);
    } finally {
      await gw.server.close(1000);
    }
    // With every engine busy, the client is told so as TGI tells it: 429, not an outage's 503 (which @huggingface/inference resends at once, without end).
    const onlyBusy = await gateway([backend("busy", busy.url, "openai")]);
    try {
      const res = await postJson(`${onlyBusy.url}/generate`, { inputs: "x", parameters: { max_new_tokens: 2 } });
      assert.equal(res.status, 429, await res.clone().text());
      assert.equal(res.headers.get("retry-after"), "1");
      assert.match(((await res.json()) as { error: string }).error, /^no engine can take the request \(busy: the backend answered 429/);
    } finally {
      await onlyBusy.server.close(1000);
      busy.server.close();
    }
    const locked = await fakeBackend("401");
    // Its /health passes: a long interval keeps it out while the test looks.
    const gw2 = await gateway([backend("locked", locked.url, "openai", { healthIntervalMs: 60_000 })]);
    try {
      const res = await postJson(`${gw2.url}/v1/completions`, { prompt: "x", max_tokens: 2 });
      assert.ok(res.status >= 500, `status ${res.status}: a wrong key is the server's to fix, not the client's`);
      const stats = (await jsonOf(fetch(`${gw2.url}/stats`))).engines as Array<{ healthy: boolean; lastError: string }>;
      assert.equal(stats[0].healthy, false);
      // With what to do about it: the key goes in the engine's entry.
      assert.match(stats[0].lastError, /^the backend answered 401: refused with 401 \(the backend wants a key: set api_key in the engine's entry\)$/);
    } finally {
      await gw2.server.close(1000);
      locked.server.close();
    }
    // https where the backend speaks plain HTTP: said as such, not only as a protocol error or a wait.
    const plain = await fakeBackend("500");
    const tls = await gateway([backend("tls", plain.url.replace("http:", "https:"), "llama.cpp")]);
    try {
      const stats = (await jsonOf(fetch(`${tls.url}/stats`))).engines as Array<{ lastError: string }>;
      assert.match(stats[0].lastError, /^health check failed: .*\(the url says https: does the backend serve TLS\?\)$/);
    } finally {
      await tls.server.close(1000);
      plain.server.close();
    }
    // The URL of an OpenAI client (…/v1) where the server's root belongs: its health check says where it asked and what to check.
    const misplaced = await gateway([backend("v1", `${good.url}/v1`, "openai", { model: "llama2" })]);
    try {
      const stats = (await jsonOf(fetch(`${misplaced.url}/stats`))).engines as Array<{ healthy: boolean; lastError: string }>;
      assert.equal(stats[0].healthy, false);
      assert.match(stats[0].lastError, /^health answered 404 \(GET \/v1\/health: check the engine's url — the server's root, no \/v1 — and its kind\)$/);
    } finally {
      await misplaced.server.close(1000);
    }
  });

  it("a request the backend refuses as malformed (422) is the client's 400, with its message; the engine stays in, with no failure to its name", async () => {
    const strict = await fakeBackend("422");
    const gw = await gateway([backend("strict", strict.url, "openai", { healthIntervalMs: 60_000 })]);
    try {
      const res = await postJson(`${gw.url}/v1/completions`, { prompt: "x", max_tokens: 2 });
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { error: { message: string } }).error.message, "engine strict: the backend answered 422: refused with 422");
      assert.equal(strict.hits(), 1, "not retried");
      const stats = (await jsonOf(fetch(`${gw.url}/stats`))).engines as Array<{ healthy: boolean; lastError: string | null; lastFailure: string | null }>;
      assert.deepEqual([stats[0].healthy, stats[0].lastError, stats[0].lastFailure], [true, null, null]);
    } finally {
      await gw.server.close(1000);
      strict.server.close();
    }
  });

  it("a request the chosen engine refuses before sending is not left in flight: a drain ends at once", async () => {
    const tgi = await fakeBackend("silent");
    const gw = await gateway([backend("tgi", tgi.url, "tgi")]);
    try {
      assert.equal((await postJson(`${gw.url}/v1/completions`, { prompt: [1, 2, 3], max_tokens: 2 })).status, 400);
      assert.equal(await gw.server.engine.drain(2000), true);
    } finally {
      await gw.server.close(1000);
      tgi.server.close();
      tgi.server.closeAllConnections();
    }
  });

  it("a backend that never answers: the client gets an error after the timeout, nothing hangs", async () => {
    const silent = await fakeBackend("silent");
    const gw = await gateway([backend("silent", silent.url, "openai", { firstByteTimeoutMs: 300 })]);
    try {
      const t0 = Date.now();
      const res = await postJson(`${gw.url}/v1/completions`, { prompt: "x", max_tokens: 2 });
      assert.ok(res.status >= 500);
      assert.match(((await res.json()) as { error: { message: string } }).error.message, /did not answer within 300 ms/);
      assert.ok(Date.now() - t0 < 5000);
      assert.equal((await jsonOf(fetch(`${gw.url}/stats`))).running, 0);
    } finally {
      await gw.server.close(1000);
      silent.server.close();
      silent.server.closeAllConnections();
    }
  });

  it("a backend that streams past the count loses no token: the one held as the last goes out before the next", async () => {
    const past = await fakeBackend("past");
    const gw = await gateway([backend("past", past.url, "llama.cpp")]);
    try {
      const s = await postJson(`${gw.url}/generate_stream`, { inputs: "x", parameters: { max_new_tokens: 2 } });
      const events = sseData(await s.text()) as Array<{ token: { text: string }; generated_text: string | null; timings?: { prompt_ms: number } }>;
      assert.deepEqual(events.map((e) => e.token.text), ["one", " two", " three"]);
      assert.equal(events.at(-1)!.generated_text, "one two three");
      assert.equal(events.at(-1)!.timings?.prompt_ms, 1.5, "the closing chunk's timings are the response's");
    } finally {
      await gw.server.close(1000);
      past.server.close();
    }
  });

  for (const behaviour of ["no-close", "late-close"] as const) {
    it(`a backend that gives every token and closes without its closing event (${behaviour === "no-close" ? "at once" : "after the closing wait"}): the client gets the whole generation, the engine no failure`, async () => {
      // After the wait, the close crashed the gateway (a finish read that was not there); before it, the request failed with all its tokens.
      const fake = await fakeBackend(behaviour);
      const gw = await gateway([backend("fake", fake.url, "llama.cpp")]);
      try {
        const s = await postJson(`${gw.url}/generate_stream`, { inputs: "x", parameters: { max_new_tokens: 2 } });
        const events = sseData(await s.text()) as Array<{ token: { text: string }; generated_text: string | null; details: { finish_reason: string } | null }>;
        assert.deepEqual(events.map((e) => e.token.text), ["one", " two"]);
        assert.equal(events.at(-1)!.generated_text, "one two");
        await new Promise((r) => setTimeout(r, 600)); // the late close has come
        const stats = (await jsonOf(fetch(`${gw.url}/stats`))).engines as Array<{ failures: number; lastFailure: string | null; healthy: boolean }>;
        assert.deepEqual([stats[0].failures, stats[0].lastFailure, stats[0].healthy], [0, null, true]);
      } finally {
        await gw.server.close(1000);
        fake.server.close();
      }
    });
  }

  it("a backend cut mid-stream: the stream ends with an error event after the tokens it had", async () => {
    const cut = await fakeBackend("cut");
    const gw = await gateway([backend("cut", cut.url, "llama.cpp")]);
    try {
      const res = await postJson(`${gw.url}/generate_stream`, { inputs: "x", parameters: { max_new_tokens: 10 } });
      const events = sseData(await res.text()) as Array<{ token?: { text: string }; error?: string }>;
      assert.deepEqual(events.slice(0, 2).map((e) => e.token?.text), ["one", " two"]);
      assert.match(String(events.at(-1)!.error), /cut|broke off|closed the stream/);
      assert.equal(cut.hits(), 1, "a started request is not sent again");
      // It stays in (its tokens were relayed), and /stats says what went wrong, however many health checks pass since.
      const stats = (await jsonOf(fetch(`${gw.url}/stats`))).engines as Array<{ name: string; healthy: boolean; lastFailure: string | null }>;
      assert.match(String(stats[0].lastFailure), /broke off|closed the stream/);
    } finally {
      await gw.server.close(1000);
      cut.server.close();
    }
  });
});
