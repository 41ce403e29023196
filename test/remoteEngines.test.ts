/**
 * Serving through remote engines, against real ones: llama.cpp's own
 * llama-server (built by .ci/run from the source node-llama-cpp ships; this
 * test fails, never skips, when it is missing) and two of our own servers as
 * OpenAI-compatible backends. The three client families through each, the
 * timeline across the hop, routing, and the faults: a backend that answers
 * 500, one that never answers, one cut mid-stream, and a client that leaves
 * (llama-server's /slots shows its slot freed).
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { analyze } from "../src/analysis/analyze.js";
import { splitOverhead } from "../src/analysis/overhead.js";
import { findLlamaCppBuild } from "../src/bench/llamaCppBuild.js";
import { protocol } from "../src/bench/protocols.js";
import { fetchTimelines } from "../src/bench/serverRecords.js";
import { runSweep } from "../src/bench/sweep.js";
import { startLlamaServer } from "../src/bench/llamaServerProcess.js";
import type { BenchServer } from "../src/bench/benchServer.js";
import { BACKEND_DEFAULTS, type BackendConfig } from "../src/engines/remote/RemoteBackend.js";
import type { RoutingPolicyName } from "../src/engines/router/routingPolicy.js";
import { PassThrough } from "node:stream";
import { Logger } from "../src/timing/Logger.js";
import { startOtlpCollector } from "./helpers/otlpCollector.js";
import { jsonOf, postJson, sseData, startTestServer, waitFor, type TestServer } from "./helpers/serverHarness.js";
import { tinyModelPath } from "./helpers/tinyModel.js";

const MODEL = "tiny-remote";

function backend(name: string, url: string, kind: BackendConfig["kind"], extra: Partial<BackendConfig> = {}): BackendConfig {
  return { ...BACKEND_DEFAULTS, healthIntervalMs: 200, name, url, kind, ...extra };
}

async function gateway(engines: BackendConfig[], routing: RoutingPolicyName = "least-outstanding", logger?: Logger): Promise<TestServer> {
  const s = await startTestServer({ modelName: MODEL, engines, routing }, undefined, logger);
  await s.server.engine.ready;
  return s;
}

/** The request's record on the gateway, once its response has ended. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function record(gw: TestServer, id: string): Promise<any> {
  let r: { complete?: boolean } = {};
  await waitFor(async () => {
    const res = await fetch(`${gw.url}/debug/requests/${id}`);
    if (res.status !== 200) return false;
    r = (await res.json()) as { complete?: boolean };
    return r.complete === true;
  }, `the record of ${id}`);
  return r;
}

describe("remote engines", () => {
  let llama: BenchServer;
  const ours: TestServer[] = [];
  let viaLlama: TestServer;
  let viaOurs: TestServer;

  before(async () => {
    const build = findLlamaCppBuild();
    assert.ok(build, "llama-server is not built: run `npm run build:llama-server` (.ci/run does) — this test needs the real one");
    llama = await startLlamaServer({ binary: build.server, model: await tinyModelPath(), threads: 1, slots: 2, perSlot: 512 });
    for (let i = 0; i < 2; i++) {
      const s = await startTestServer({ modelName: "llama2" });
      await s.server.engine.ready;
      ours.push(s);
    }
    viaLlama = await gateway([backend("llama", llama.url, "llama.cpp")]);
    viaOurs = await gateway([backend("ours-a", ours[0].url, "openai", { model: "llama2" }), backend("ours-b", ours[1].url, "openai", { model: "llama2" })], "round-robin");
  });

  after(async () => {
    for (const s of [viaLlama, viaOurs, ...ours]) await s?.server.close(1000);
    await llama?.stop();
  });

  it("relays llama-server's greedy tokens exactly, with its timings on the hop", async () => {
    const direct = await jsonOf(postJson(`${llama.url}/completion`, { prompt: "the quick brown fox", n_predict: 12, temperature: 0, top_k: 0 }));
    const relayed = await jsonOf(postJson(`${viaLlama.url}/generate`, { inputs: "the quick brown fox", parameters: { max_new_tokens: 12, do_sample: false } }));
    assert.equal(relayed.generated_text, direct.content);
    // The generation ends on its 12th token; llama-server's closing chunk, with its timings, comes just behind, and the response waits for it.
    const r = await record(viaLlama, relayed.timings?.id ?? "");
    assert.notEqual(r.hop.backend_timings, null, "llama-server's timings on the hop");
    // The llama.cpp fields of the response's own timings are the backend's (they said 0: no step of ours ran it).
    assert.deepEqual([relayed.timings.prompt_ms, relayed.timings.predicted_ms, relayed.timings.predicted_n], [r.hop.backend_timings.prompt_ms, r.hop.backend_timings.predicted_ms, 12]);
    assert.ok(relayed.timings.predicted_ms > 0);
    const streamed = await postJson(`${viaLlama.url}/generate_stream`, { inputs: "the quick brown fox", parameters: { max_new_tokens: 12, do_sample: false } });
    const last = (sseData(await streamed.text()) as Array<{ timings?: { prompt_ms: number | null; predicted_ms: number | null } }>).at(-1)!;
    assert.ok(last.timings && last.timings.prompt_ms !== null && last.timings.predicted_ms! > 0, JSON.stringify(last.timings));
    assert.equal(r.hop.engine, "llama");
    assert.equal(r.hop.backend_timings.source, "llama.cpp");
    assert.equal(r.hop.backend_timings.predicted_n, 12);
    assert.ok(r.hop.backend_engine_ms > 0 && r.hop.network_and_front_ms >= 0, JSON.stringify(r.hop));
  });

  for (const [label, get] of [
    ["llama-server", () => viaLlama],
    ["two of our servers", () => viaOurs],
  ] as const) {
    describe(`the three client families through ${label}`, () => {
      const checkTimeline = async (id: string): Promise<void> => {
        const r = await record(get(), id);
        assert.ok(r.hop, "the record has its hop");
        assert.ok(r.durations.coverage >= 0.995, `spans cover ${(r.durations.coverage * 100).toFixed(2)} % of the request: ${JSON.stringify(r.span.children.map((c: { name: string; dur: number }) => [c.name, c.dur]))}`);
        const names = r.span.children.map((c: { name: string }) => c.name);
        for (const n of ["receive", "validate", "enqueue", "send", "wait", "stream", "respond"]) assert.ok(names.includes(n), `span ${n} in ${names.join(",")}`);
      };

      it("OpenAI SDK: completions and chat, whole and streamed", async () => {
        const client = new OpenAI({ baseURL: `${get().url}/v1`, apiKey: "none" });
        const whole = await client.completions.create({ model: MODEL, prompt: "hello there", max_tokens: 8, temperature: 0, ignore_eos: true } as OpenAI.CompletionCreateParamsNonStreaming).withResponse();
        assert.ok(whole.data.choices[0].text.length > 0);
        assert.equal(whole.data.usage?.completion_tokens, 8);
        assert.ok((whole.data.usage?.prompt_tokens ?? 0) > 0, "the backend's prompt count is relayed");
        await checkTimeline(whole.response.headers.get("x-request-id")!);
        const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }], max_tokens: 6, temperature: 0, stream: true, stream_options: { include_usage: true } }).withResponse();
        let text = "";
        let finish: string | null | undefined;
        let promptTokens = 0;
        for await (const chunk of stream.data) {
          text += chunk.choices[0]?.delta?.content ?? "";
          finish ??= chunk.choices[0]?.finish_reason;
          promptTokens = chunk.usage?.prompt_tokens ?? promptTokens;
        }
        assert.ok(text.length > 0);
        // The backend counts the prompt after its finish chunk (llama.cpp's chat, OpenAI's usage chunk): the count is still relayed.
        assert.ok(promptTokens > 0, "the chat's prompt count is relayed");
        assert.ok(finish === "length" || finish === "stop");
        await checkTimeline(stream.response.headers.get("x-request-id")!);
      });

      it("TGI: /generate and /generate_stream", async () => {
        const res = await postJson(`${get().url}/generate`, { inputs: "hello there", parameters: { max_new_tokens: 5, details: true, ignore_eos: true } });
        assert.equal(res.status, 200);
        const body = (await res.json()) as { details: { generated_tokens: number; finish_reason: string } };
        assert.equal(body.details.generated_tokens, 5);
        assert.equal(body.details.finish_reason, "length");
        await checkTimeline(res.headers.get("x-request-id")!);
        const s = await postJson(`${get().url}/generate_stream`, { inputs: "hello there", parameters: { max_new_tokens: 5, ignore_eos: true } });
        const sent = await s.text();
        const events = sseData(sent) as Array<{ token: { text: string }; generated_text: string | null }>;
        assert.equal(events.length, 5, sent);
        assert.equal(events.at(-1)!.generated_text, events.map((e) => e.token.text).join(""));
        await checkTimeline(s.headers.get("x-request-id")!);
      });

      it("llm-serving: generate and generate_stream", async () => {
        const res = await postJson(`${get().url}/models/${MODEL}/generate`, { inputs: "hello there", parameters: { max_new_tokens: 4 } });
        assert.equal(res.status, 200, await res.clone().text());
        assert.ok(((await res.json()) as { generated_text: string }).generated_text.length > 0);
        await checkTimeline(res.headers.get("x-request-id")!);
        const s = await postJson(`${get().url}/models/${MODEL}/generate_stream`, { inputs: "hello there", parameters: { max_new_tokens: 4 } });
        assert.equal(s.status, 200);
        assert.ok((await s.text()).length > 0);
        await checkTimeline(s.headers.get("x-request-id")!);
      });
    });
  }

  it("/info in front of remote engines: remote, and no context it does not know (it said -1 input tokens)", async () => {
    const info = await jsonOf(fetch(`${viaOurs.url}/info`));
    assert.equal(info.model_device_type, "remote");
    assert.deepEqual([info.max_input_length, info.max_input_tokens, info.max_total_tokens, info.max_batch_total_tokens, info.context_size], [null, null, null, null, null]);
    // What the gateway takes at once: each engine's max_outstanding (it said 0: OpenAI-compatible backends report no slots).
    assert.equal(info.max_concurrent_requests, 2 * BACKEND_DEFAULTS.maxOutstanding);
  });

  it("round-robin spreads requests over both of our servers; /stats shows each engine", async () => {
    const before = (await jsonOf(fetch(`${viaOurs.url}/stats`))).engines as Array<{ name: string; served: number }>;
    for (let i = 0; i < 4; i++) assert.equal((await postJson(`${viaOurs.url}/generate`, { inputs: "x", parameters: { max_new_tokens: 2 } })).status, 200);
    const after_ = (await jsonOf(fetch(`${viaOurs.url}/stats`))).engines as Array<{ name: string; served: number; healthy: boolean }>;
    assert.deepEqual(after_.map((e, i) => e.served - before[i].served), [2, 2]);
    assert.ok(after_.every((e) => e.healthy));
    // /metrics: each engine's health and load, and each relayed request's time by part.
    const metrics = await (await fetch(`${viaOurs.url}/metrics`)).text();
    assert.match(metrics, /# TYPE llm_serving_engine_served_requests_total counter\n/);
    assert.match(metrics, /# TYPE llm_serving_engine_failed_requests_total counter\n/);
    for (const name of ["ours-a", "ours-b"]) {
      assert.match(metrics, new RegExp(`llm_serving_engine_up\\{engine="${name}"\\} 1`));
      const served = after_.find((e) => e.name === name)!.served;
      assert.match(metrics, new RegExp(`llm_serving_engine_served_requests_total\\{engine="${name}"\\} ${served}\n`));
      const count = new RegExp(`llm_serving_hop_seconds_count\\{engine="${name}",part="ours"\\} (\\d+)`).exec(metrics);
      assert.ok(count && Number(count[1]) >= 2, `hop histogram of ${name}`);
    }
  });

  it("analyze splits a relayed request's overhead with the backend's own engine time as native", async () => {
    const result = await runSweep({ url: viaLlama.url, protocol: protocol("tgi"), model: MODEL, lengths: [8, 24], repetitions: 2, stream: false, prompt: "Where did the time go?" });
    assert.ok(result.records.every((r) => !r.error), result.records.map((r) => r.error).join("; "));
    // llama-server's closing chunks (its timings) may come just after the last responses: read the records once they are in.
    const ids = result.records.map((r) => r.id);
    let timelines = result.timelines;
    await waitFor(async () => [...(timelines = await fetchTimelines(viaLlama.url, ids)).values()].every((t) => t.hop?.backend_timings), "every record to have llama-server's timings", 5000);
    result.timelines = timelines;
    const a = analyze(result.records, result.timelines);
    assert.equal(a.joinRate, 1);
    for (const r of result.records) {
      const t = result.timelines.get(r.id)!;
      assert.ok(t.hop?.backend_timings, "the record has llama-server's timings");
      const { perToken, overhead, parts } = splitOverhead(r, t, NaN);
      const b = t.hop.backend_timings as { predicted_ms: number; predicted_n: number };
      assert.ok(Math.abs(perToken - b.predicted_ms / (b.predicted_n - 1)) < 1e-9, "c is llama-server's time per generated token");
      assert.ok(parts.remote >= 0, `remote part ${parts.remote}`);
      const sum = Object.values(parts).reduce((x, y) => x + y, 0);
      assert.ok(Math.abs(sum - overhead) < 1e-9, `parts ${sum} vs overhead ${overhead}`);
      assert.ok(Math.abs(parts.untimed) < 0.05 + 0.005 * overhead, `untimed ${parts.untimed} of ${overhead}`);
    }
  });

  it("a client that leaves frees llama-server's slot", async (t) => {
    const busy = async (): Promise<number> => ((await jsonOf(fetch(`${llama.url}/slots`))) as Array<{ is_processing: boolean }>).filter((s) => s.is_processing).length;
    await waitFor(async () => (await busy()) === 0, "llama-server's slots to be free before the test");
    const res = await postJson(`${viaLlama.url}/generate_stream`, { inputs: "a long one", parameters: { max_new_tokens: 400, ignore_eos: true } }, {});
    const reader = res.body!.getReader();
    await reader.read(); // the first token is here: the slot is working
    assert.equal(await busy(), 1);
    const left = Date.now();
    await reader.cancel();
    await waitFor(async () => (await busy()) === 0, "llama-server's slot to be freed", 5000);
    const freedMs = Date.now() - left;
    t.diagnostic(`llama-server's slot was free ${freedMs} ms after the client left (polled)`);
  });
});

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

describe("one trace across the hop", () => {
  it("the backend's OTLP span hangs from the gateway's relay span, in the caller's trace", async () => {
    const collector = await startOtlpCollector();
    const otlpEndpoint = collector.endpoint;
    const backendServer = await startTestServer({ modelName: "llama2", otlpEndpoint });
    await backendServer.server.engine.ready;
    const gw = await startTestServer({ modelName: MODEL, engines: [backend("ours", backendServer.url, "openai", { model: "llama2" })], otlpEndpoint });
    await gw.server.engine.ready;
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    try {
      assert.equal((await postJson(`${gw.url}/v1/completions`, { prompt: "trace me", max_tokens: 3 }, { traceparent: `00-${traceId}-00f067aa0ba902b7-01` })).status, 200);
      // No caller trace: the gateway's own trace id goes to the backend, and both export it.
      assert.equal((await postJson(`${gw.url}/v1/completions`, { prompt: "trace me too", max_tokens: 3 })).status, 200);
    } finally {
      await gw.server.close(1000); // flushes its exporter
      await backendServer.server.close(1000);
      collector.close();
    }
    const spans = collector.spans();
    const relays = spans.filter((sp) => sp.kind === 3); // CLIENT
    assert.equal(relays.length, 2, spans.map((sp) => `${sp.name}:${sp.kind}`).join(", "));
    for (const relay of relays) {
      const backendSide = spans.find((sp) => sp.kind === 2 && sp.parentSpanId === relay.spanId);
      assert.ok(backendSide, `the backend's SERVER span has the relay span ${relay.spanId} as its parent`);
      assert.equal(backendSide.traceId, relay.traceId);
      const gatewayRoot = spans.find((sp) => sp.kind === 2 && sp.spanId === relay.parentSpanId);
      assert.ok(gatewayRoot, "the relay span is a child of the gateway's SERVER span");
      assert.equal(gatewayRoot.traceId, relay.traceId);
    }
    assert.ok(relays.some((r) => r.traceId === traceId), "the caller's trace is continued");
  });
});

describe("this process's model as one of the engines", () => {
  it("round-robin between the local model and a remote one: local requests keep their steps, remote ones their hop", async () => {
    const remote = await startTestServer({ modelName: "llama2" });
    await remote.server.engine.ready;
    const gw = await startTestServer({ modelName: "llama2", engines: [backend("remote", remote.url, "openai", { model: "llama2" })], localEngineName: "here", routing: "round-robin" });
    try {
      await gw.server.engine.ready;
      const records = [];
      for (let i = 0; i < 4; i++) {
        const res = await postJson(`${gw.url}/v1/completions`, { prompt: `request ${i}`, max_tokens: 3 });
        assert.equal(res.status, 200, await res.clone().text());
        records.push(await record(gw, res.headers.get("x-request-id")!));
      }
      const relayed = records.filter((r) => r.hop);
      assert.equal(relayed.length, 2);
      assert.ok(relayed.every((r) => r.hop.engine === "remote"));
      const here = records.filter((r) => !r.hop);
      assert.equal(here.length, 2);
      assert.ok(here.every((r) => r.steps.length > 0 && r.durations.coverage >= 0.995), "local requests have their steps");
      const stats = (await jsonOf(fetch(`${gw.url}/stats`))).engines as Array<{ name: string; kind: string; served: number; healthy: boolean }>;
      assert.deepEqual(stats.map((e) => [e.name, e.kind, e.served, e.healthy]), [["here", "local", 2, true], ["remote", "openai", 2, true]]);
      const info = await jsonOf(fetch(`${gw.url}/info`));
      assert.equal(info.model_device_type, "cpu", "/info describes the local model");
      // Taken at once: the local model's rows and queue (those of the backend, a server made alike) and the remote engine's max_outstanding (it left them out).
      const alone = await jsonOf(fetch(`${remote.url}/info`));
      assert.equal(info.max_concurrent_requests, alone.max_concurrent_requests + BACKEND_DEFAULTS.maxOutstanding);
    } finally {
      await gw.server.close(1000);
      await remote.server.close(1000);
    }
  });
});

