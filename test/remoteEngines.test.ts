/**
 * Serving through remote engines, against real ones: llama.cpp's own
 * llama-server (built by .ci/run from the source node-llama-cpp ships; this
 * test fails, never skips, when it is missing) and two of our own servers as
 * OpenAI-compatible backends. The three client families through each, the
 * timeline across the hop, routing, a client that leaves (llama-server's
 * /slots shows its slot freed), one OTLP trace across the hop, and this
 * process's model as one of the engines. The faults are in remoteFaults.test.ts.
 */
import assert from "node:assert/strict";
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
import { BACKEND_DEFAULTS } from "../src/engines/remote/RemoteBackend.js";
import { backend, gateway, MODEL, record } from "./helpers/gateway.js";
import { startOtlpCollector } from "./helpers/otlpCollector.js";
import { jsonOf, postJson, sseData, startTestServer, waitFor, type TestServer } from "./helpers/serverHarness.js";
import { tinyModelPath } from "./helpers/tinyModel.js";

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

describe("one request id across the hop", () => {
  it("the gateway sends the request's id on as x-request-id: the backend (ours) keeps its record under the same id", async () => {
    // Found by a new user: the two hops' records had different ids and could not be joined.
    const backendServer = await startTestServer({ modelName: "llama2" });
    await backendServer.server.engine.ready;
    const gw = await startTestServer({ modelName: MODEL, engines: [backend("ours", backendServer.url, "openai", { model: "llama2" })] });
    await gw.server.engine.ready;
    try {
      assert.equal((await postJson(`${gw.url}/v1/completions`, { prompt: "join me", max_tokens: 3 }, { "x-request-id": "hop-join-1" })).status, 200);
      const [front, back] = await Promise.all([gw, backendServer].map((s) => fetch(`${s.url}/debug/requests/hop-join-1`)));
      assert.equal(front.status, 200);
      assert.equal(back.status, 200, "the backend has the request under the gateway's id");
      const backendRecord = (await back.json()) as { generated_tokens: number; durations: { queue: number } };
      assert.equal(backendRecord.generated_tokens, 3);
      // The gateway's own timings give the backend's queue, as its prefill and decode (its own queue it skips: it was 0.000).
      const relayed = await jsonOf(postJson(`${gw.url}/generate`, { inputs: "queue me", parameters: { max_new_tokens: 2 } }, { "x-request-id": "hop-join-2" }));
      const backendQueue = ((await (await fetch(`${backendServer.url}/debug/requests/hop-join-2`)).json()) as { durations: { queue: number } }).durations.queue;
      assert.equal(relayed.timings.queue, backendQueue);
    } finally {
      await gw.server.close(1000);
      await backendServer.server.close(1000);
    }
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
