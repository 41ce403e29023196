import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { TraceEvent } from "../src/timing/chromeTrace.js";
import { now } from "../src/timing/clock.js";
import { Instrumentation } from "../src/timing/Instrumentation.js";
import { Logger } from "../src/timing/Logger.js";
import { SHUTDOWN_FLUSH_MS } from "../src/timing/OtelExporter.js";
import { HttpPoint } from "../src/timing/points.js";
import { closedPort } from "./helpers/closedPort.js";
import { startOtlpCollector, type OtlpSpan } from "./helpers/otlpCollector.js";
import { jsonOf, postJson, sharedTestServer, sseData, startTestServer, waitFor } from "./helpers/serverHarness.js";

const shared = sharedTestServer();
const url = (path: string) => shared.get().url + path;

describe("Chrome trace", () => {
  test("is valid Trace Event JSON: every event has ph, ts, pid, tid; async pairs match; ts monotonic per track", async () => {
    await Promise.all([
      postJson(url("/generate"), { inputs: "trace me", parameters: { max_new_tokens: 6 } }),
      postJson(url("/generate_stream"), { inputs: "and me", parameters: { max_new_tokens: 9 } }).then((r) => r.text()),
    ]);
    const res = await fetch(url("/debug/trace"));
    assert.equal(res.status, 200);
    const trace = (await res.json()) as { traceEvents: TraceEvent[] };
    const events = trace.traceEvents;
    assert.ok(events.length > 0);
    for (const e of events) {
      assert.equal(typeof e.ph, "string");
      assert.ok(Number.isFinite(e.ts), `${e.name}: ts`);
      assert.ok(Number.isInteger(e.pid) && Number.isInteger(e.tid), `${e.name}: pid and tid`);
      if (e.ph === "X") assert.ok(Number.isFinite(e.dur) && e.dur! >= 0, `${e.name}: dur`);
    }
    const lastTs = new Map<string, number>();
    for (const e of events.filter((x) => x.ph !== "M")) {
      const track = e.ph === "b" || e.ph === "e" ? `async:${e.cat}:${e.id}` : `${e.pid}:${e.tid}`;
      assert.ok(e.ts >= (lastTs.get(track) ?? -Infinity), `ts goes back on track ${track} at ${e.name}`);
      lastTs.set(track, e.ts);
    }
    const open = new Map<string, number>();
    for (const e of events) {
      if (e.ph === "b") open.set(`${e.cat}:${e.id}`, (open.get(`${e.cat}:${e.id}`) ?? 0) + 1);
      if (e.ph === "e") {
        const key = `${e.cat}:${e.id}`;
        assert.ok((open.get(key) ?? 0) > 0, `an async end without a begin: ${key}`);
        open.set(key, open.get(key)! - 1);
      }
    }
    assert.ok([...open.values()].every((n) => n === 0), "every async begin has its end");
    const flows = events.filter((e) => e.ph === "s" || e.ph === "f");
    assert.ok(flows.length > 0, "flow arrows link requests and steps");
    const byId = new Map<unknown, string[]>();
    for (const f of flows) byId.set(f.id, [...(byId.get(f.id) ?? []), f.ph]);
    for (const phases of byId.values()) assert.deepEqual(phases.sort(), ["f", "s"]);
    assert.ok(events.some((e) => e.ph === "X" && /^step \d+$/.test(e.name)), "steps on the engine track");
    assert.ok(events.some((e) => e.ph === "C" && e.name === "batch size"), "a batch size counter");
    assert.ok(events.some((e) => e.ph === "C" && e.name === "queue depth"), "a queue depth counter");
  });
});

/** Checks the Prometheus text exposition format line by line; returns the samples. */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  const name = "[a-zA-Z_:][a-zA-Z0-9_:]*";
  const label = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\["\\\\n])*"`;
  // Prometheus reads NaN in any case (prom-client writes "Nan" for an empty event-loop histogram).
  const sample = new RegExp(`^(${name})(\\{(?:${label})(?:,${label})*,?\\})? (-?(?:[0-9.]+(?:e[+-]?[0-9]+)?|\\+Inf|-Inf|[Nn]a[Nn]))( -?[0-9]+)?$`);
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("# HELP ")) continue;
    if (line.startsWith("# TYPE ")) {
      const [, , metric, type] = line.split(" ");
      assert.match(type, /^(counter|gauge|histogram|summary|untyped)$/, line);
      types.set(metric, type);
      continue;
    }
    const m = sample.exec(line);
    assert.ok(m, `not a valid sample line: ${line}`);
    const family = m[1].replace(/_(bucket|sum|count)$/, "");
    assert.ok(types.has(m[1]) || types.has(family), `sample without a TYPE: ${line}`);
    samples.set(m[1] + (m[2] ?? ""), Number(m[3]));
  }
  return samples;
}

describe("/metrics", () => {
  test("parses as Prometheus text and has the GenAI, step, GC and engine metrics", async () => {
    await postJson(url("/v1/completions"), { model: "llama2", prompt: "metrics", max_tokens: 5 });
    const res = await fetch(url("/metrics"));
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^text\/plain/);
    const samples = parsePrometheus(await res.text());
    const has = (prefix: string) => [...samples.keys()].some((k) => k.startsWith(prefix));
    for (const metric of [
      "gen_ai_server_time_to_first_token_seconds_bucket",
      "gen_ai_server_time_per_output_token_seconds_count",
      "gen_ai_server_request_duration_seconds_count",
      'llm_serving_request_phase_seconds_count{phase="queue"}',
      'llm_serving_request_phase_seconds_count{phase="prefill"}',
      'llm_serving_request_phase_seconds_count{phase="decode"}',
      'llm_serving_step_stage_seconds_bucket{le="0.00001",stage="decode"}',
      'llm_serving_step_stage_seconds_count{stage="postprocess"}',
      "llm_serving_step_batch_size_count",
      "llm_serving_event_loop_delay_seconds",
      "llm_serving_event_loop_utilization",
      "llm_serving_kv_blocks_used",
      "llm_serving_requests_running",
      "llm_serving_requests_waiting",
    ]) {
      assert.ok(has(metric), `missing ${metric}`);
    }
    assert.ok(has("llm_serving_gc_pause_seconds_count") || has("llm_serving_gc_pause_seconds"), "GC pause histogram");
  });
});

describe("responses carry the timeline", () => {
  const check = (timings: { e2e: number; ttft: number; points: Record<string, number> }, where: string) => {
    assert.ok(timings.e2e > 0, `${where}: e2e`);
    assert.ok(timings.ttft > 0, `${where}: ttft`);
    assert.equal(timings.points.received, 0, `${where}: points`);
  };

  test("non-streaming: Server-Timing and a timings object (plus TGI's x-* headers on TGI routes)", async () => {
    const tgi = await postJson(url("/generate"), { inputs: "timed", parameters: { max_new_tokens: 4 } });
    const st = tgi.headers.get("server-timing")!;
    for (const metric of ["total", "queue", "prefill", "decode", "ttft", "untimed"]) assert.match(st, new RegExp(`(^|, )${metric};dur=[0-9.]+`), metric);
    for (const h of ["x-compute-type", "x-compute-time", "x-total-time", "x-validation-time", "x-queue-time", "x-inference-time", "x-time-per-token", "x-prompt-tokens", "x-generated-tokens"]) assert.ok(tgi.headers.get(h), h);
    const body = await jsonOf(tgi);
    check(body.timings, "TGI");
    assert.equal(body.timings.predicted_n, 4);
    for (const [path, req] of [
      ["/models/llama2/generate", { inputs: "timed", parameters: { max_new_tokens: 4 } }],
      ["/v1/completions", { model: "llama2", prompt: "timed", max_tokens: 4 }],
      ["/v1/chat/completions", { model: "llama2", messages: [{ role: "user", content: "timed" }], max_tokens: 4 }],
    ] as const) {
      const res = await postJson(url(path), req);
      assert.match(res.headers.get("server-timing")!, /total;dur=/, path);
      check((await jsonOf(res)).timings, path);
    }
  });

  test("streaming: the final event of each API family carries the timings", async () => {
    const tgi = sseData(await (await postJson(url("/generate_stream"), { inputs: "s", parameters: { max_new_tokens: 3 } })).text()) as Array<{ timings?: never }>;
    check(tgi.at(-1)!.timings!, "TGI stream");
    assert.ok(tgi.slice(0, -1).every((e) => e.timings === undefined));
    const llm = (await (await postJson(url("/models/llama2/generate_stream"), { inputs: "s", parameters: { max_new_tokens: 3 } })).text()).trim().split("\n");
    check(JSON.parse(llm.at(-1)!).data[0].timings, "llm-serving stream");
    const chat = sseData(await (await postJson(url("/v1/chat/completions"), { model: "llama2", messages: [{ role: "user", content: "s" }], max_tokens: 3, stream: true })).text()) as Array<{ timings?: never; choices: Array<{ finish_reason: string | null }> }>;
    const final = chat.find((c) => c.choices[0]?.finish_reason);
    check(final!.timings!, "OpenAI stream");
  });

  test("with instrumentation off, responses carry none of it and the debug views are off", async () => {
    const s = await startTestServer({ timing: false });
    try {
      await s.server.engine.ready;
      assert.equal(s.server.instrumentation, undefined);
      const tgi = await postJson(`${s.url}/generate`, { inputs: "untimed", parameters: { max_new_tokens: 3 } });
      assert.equal(tgi.headers.get("server-timing"), null);
      assert.equal(tgi.headers.get("x-total-time"), null);
      assert.equal((await jsonOf(tgi)).timings, undefined);
      const chat = await jsonOf(postJson(`${s.url}/v1/chat/completions`, { model: "llama2", messages: [{ role: "user", content: "x" }], max_tokens: 3 }));
      assert.equal(chat.timings, undefined);
      const streamed = await (await postJson(`${s.url}/generate_stream`, { inputs: "untimed", parameters: { max_new_tokens: 3 } })).text();
      assert.doesNotMatch(streamed, /timings/);
      const llm = await (await postJson(`${s.url}/models/llama2/generate_stream`, { inputs: "untimed", parameters: { max_new_tokens: 3, return_full_text: false } })).text();
      assert.equal(llm.trim().split("\n").length, 3, "no timings line");
      for (const path of ["/debug/requests", "/debug/trace", "/metrics"]) assert.equal((await fetch(`${s.url}${path}`)).status, 404, path);
      // The index lists none of what answers 404 here; the dashboard still opens files, and says so.
      const index = (await jsonOf(fetch(`${s.url}/`))) as { timing: boolean; routes: Record<string, string> };
      assert.equal(index.timing, false);
      assert.deepEqual(Object.keys(index.routes).filter((r) => /\/(debug|metrics)/.test(r)), []);
      assert.match(index.routes["GET /dashboard"], /for files only: timing is switched off/);
    } finally {
      await s.server.close(1000);
    }
  });
});

describe("where else timelines go", () => {
  test("OTLP/HTTP export continues the caller's W3C trace, with GenAI attributes", async () => {
    const collector = await startOtlpCollector();
    const s = await startTestServer({ otlpEndpoint: collector.endpoint });
    try {
      await s.server.engine.ready;
      const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
      const parentId = "00f067aa0ba902b7";
      await postJson(`${s.url}/v1/completions`, { model: "llama2", prompt: "export me", max_tokens: 4, temperature: 0.5, seed: 3 }, { traceparent: `00-${traceId}-${parentId}-01` });
      // One token: it reaches the stream after its only step is delivered, inside respond.
      await postJson(`${s.url}/v1/completions`, { model: "llama2", prompt: "one token", max_tokens: 1 });
    } finally {
      await s.server.close(1000); // flushes the exporter
      collector.close();
    }
    const spans = collector.spans();
    const root = spans.find((sp) => sp.kind === 2 && sp.traceId === "4bf92f3577b34da6a3ce929d0e0e4736");
    assert.ok(root, "a SERVER span was exported");
    assert.equal(root.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert.equal(root.parentSpanId, "00f067aa0ba902b7");
    const attr = (key: string) => root.attributes.find((a) => a.key === key)?.value;
    assert.deepEqual(attr("gen_ai.operation.name"), { stringValue: "text_completion" });
    assert.deepEqual(attr("gen_ai.request.model"), { stringValue: "llama2" });
    assert.ok(attr("gen_ai.usage.output_tokens"), "output token count");
    assert.ok(attr("gen_ai.usage.input_tokens"), "input token count");
    assert.ok(spans.some((sp) => sp.name === "decode"), "phase spans");
    // The phases under the root follow one another: none overlaps the next (decode ran into respond by the outbox's hold,
    // and a new user found the children of 329 of 330 traces adding up to more than their root).
    const ns = (x: string): bigint => BigInt(x);
    const childrenOf = (parent: OtlpSpan): OtlpSpan[] => spans.filter((sp) => sp.parentSpanId === parent.spanId && sp.kind === 1).sort((a, b) => (ns(a.startTimeUnixNano) < ns(b.startTimeUnixNano) ? -1 : 1));
    assert.deepEqual(childrenOf(root).map((c) => c.name).slice(-3), ["prefill", "decode", "respond"]);
    const roots = spans.filter((sp) => sp.kind === 2);
    assert.equal(roots.length, 2);
    for (const r of roots) {
      const children = childrenOf(r);
      for (let i = 1; i < children.length; i++) {
        // 1 µs: times go out as whole microseconds of a fractional-ms clock.
        assert.ok(ns(children[i].startTimeUnixNano) >= ns(children[i - 1].endTimeUnixNano) - 1000n, `${children[i - 1].name} overlaps ${children[i].name}`);
      }
      const sum = children.reduce((a, c) => a + (ns(c.endTimeUnixNano) - ns(c.startTimeUnixNano)), 0n);
      assert.ok(sum <= ns(r.endTimeUnixNano) - ns(r.startTimeUnixNano) + 1000n * BigInt(children.length), "the children add up to no more than the root");
    }
  });

  test("an OTLP endpoint that refuses the spans is said once, as a warning, and its recovery once, as news", async () => {
    // Before, spans that could not be sent were dropped without a word.
    let accept = false;
    const collector = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(accept ? 200 : 400, { "content-type": "application/json" });
        res.end("{}");
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
    const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    const said: string[] = [];
    const s = await startTestServer({ otlpEndpoint: endpoint }, undefined, new Logger("info", (line) => said.push(line)));
    try {
      await s.server.engine.ready;
      for (const i of [1, 2]) await postJson(`${s.url}/generate`, { inputs: `refused ${i}`, parameters: { max_new_tokens: 2 } });
      await waitFor(() => said.some((l) => /OTLP export/.test(l)), "the warning", 15_000);
      await postJson(`${s.url}/generate`, { inputs: "refused again", parameters: { max_new_tokens: 2 } });
      await sleep(1500); // past the exporter's batching and the server's settling
      assert.deepEqual(said.filter((l) => /OTLP export/.test(l)).length, 1, said.join("\n"));
      assert.match(said.find((l) => /OTLP export/.test(l))!, new RegExp(`^warning: OTLP export to ${endpoint}/v1/traces failed: .+; request spans are dropped until it works \\(said once\\)$`));
      accept = true;
      await postJson(`${s.url}/generate`, { inputs: "accepted", parameters: { max_new_tokens: 2 } });
      await waitFor(() => said.some((l) => /works again/.test(l)), "the recovery", 15_000);
      assert.match(said.find((l) => /works again/.test(l))!, new RegExp(`^OTLP export to ${endpoint}/v1/traces works again$`));
    } finally {
      await s.server.close(1000);
      // The exporter keeps its connection alive: close() alone would wait for it.
      collector.closeAllConnections();
      collector.close();
    }
  });

  test("a collector that is down or silent at shutdown neither holds the exit nor fails it: a warning says what was not sent", async () => {
    // Found by a new user: with the collector down, a drained server exited 1 after 8–10 s ("connect ECONNREFUSED").
    const silent = createServer(() => undefined); // takes the request, never answers
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      for (const endpoint of [`http://127.0.0.1:${await closedPort()}`, `http://127.0.0.1:${(silent.address() as AddressInfo).port}`]) {
        const said: string[] = [];
        const s = await startTestServer({ otlpEndpoint: endpoint }, undefined, new Logger("info", (line) => said.push(line)));
        await s.server.engine.ready;
        await postJson(`${s.url}/generate`, { inputs: "unsent", parameters: { max_new_tokens: 2 } });
        const started = performance.now();
        await s.server.close(1000); // rejected before
        const took = performance.now() - started;
        assert.ok(took < SHUTDOWN_FLUSH_MS + 3000, `${endpoint}: closed after ${took.toFixed(0)} ms`);
        assert.ok(
          said.some((l) => /^warning: OTLP: the spans still queued at shutdown were not sent: /.test(l)),
          said.join("\n"),
        );
      }
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  test("a timelines file that fails while the server runs is said once, as a warning, and the lines it loses are counted in /metrics", async () => {
    // Before, Node printed its own warning and the lost lines were counted nowhere anyone could see.
    const dir = await mkdtemp(join(tmpdir(), "llm-serving-jsonl-"));
    const said: string[] = [];
    // The folder goes before the file is opened: as a disk that fails under a running server.
    const s = await startTestServer({ timelineFile: join(dir, "gone", "timelines.jsonl") }, undefined, new Logger("info", (line) => said.push(line)));
    try {
      await s.server.engine.ready;
      for (const i of [1, 2]) await postJson(`${s.url}/generate`, { inputs: `lost ${i}`, parameters: { max_new_tokens: 2 } });
      await waitFor(async () => /^llm_serving_timeline_lines_dropped_total 2$/m.test(await (await fetch(`${s.url}/metrics`)).text()), "both lines counted as dropped", 10_000);
      const warnings = said.filter((l) => /timeline file/.test(l));
      assert.equal(warnings.length, 1, said.join("\n"));
      assert.match(warnings[0], /^warning: timeline file .*timelines\.jsonl: ENOENT: .*; request timelines are no longer written to it \(llm_serving_timeline_lines_dropped_total counts them\)$/);
    } finally {
      await s.server.close(1000);
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("finished timelines are appended to a JSONL file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "llm-serving-jsonl-"));
    const file = join(dir, "timelines.jsonl");
    const s = await startTestServer({ timelineFile: file });
    try {
      await s.server.engine.ready;
      await postJson(`${s.url}/generate`, { inputs: "to the file", parameters: { max_new_tokens: 3 } }, { "x-request-id": "jsonl-1" });
      await postJson(`${s.url}/generate`, { inputs: "and again", parameters: { max_new_tokens: 3 } }, { "x-request-id": "jsonl-2" });
    } finally {
      await s.server.close(1000);
    }
    const lines = (await readFile(file, "utf8")).trim().split("\n").map((l) => JSON.parse(l));
    const ids = lines.map((l) => l.id);
    assert.ok(ids.includes("jsonl-1") && ids.includes("jsonl-2"));
    const one = lines.find((l) => l.id === "jsonl-1");
    assert.equal(one.complete, true);
    assert.equal(one.tokens.length, 3);
    await rm(dir, { recursive: true, force: true });
  });

  test("a file record waits for the runtime events seen after its request ended", async () => {
    const dir = await mkdtemp(join(tmpdir(), "llm-serving-jsonl-"));
    const file = join(dir, "timelines.jsonl");
    const instrumentation = new Instrumentation({ timelineFile: file, gauges: () => undefined, model: () => "m" });
    const t = instrumentation.startRequest("late-stall");
    const start = now();
    t.http.set(HttpPoint.received, start - 20);
    t.http.set(HttpPoint.response_ended, start);
    instrumentation.endRequest(t);
    // A stall that overlapped the request's end, found by the monitor's timer only afterwards.
    instrumentation.runtime.stalls.add(start - 6, start + 4);
    await instrumentation.close();
    const record = JSON.parse((await readFile(file, "utf8")).trim());
    assert.equal(record.id, "late-stall");
    assert.ok(Math.abs(record.span.stall_ms - 6) < 0.01, `charged ${record.span.stall_ms} ms of the stall's 6 ms inside the request`);
    await rm(dir, { recursive: true, force: true });
  });

  test("at debug level, a time tree per step with request ids", async () => {
    const lines: string[] = [];
    const s = await startTestServer({}, undefined, new Logger("debug", (l) => lines.push(l)));
    try {
      await s.server.engine.ready;
      await postJson(`${s.url}/generate`, { inputs: "log me", parameters: { max_new_tokens: 2 } }, { "x-request-id": "logged" });
    } finally {
      await s.server.close(1000);
    }
    const tree = lines.find((l) => l.includes("requests=logged"));
    assert.ok(tree, "a step logged with the request's id");
    for (const level of ["master.step", "master.schedule", "worker.run", "agent.predict", "agent.decode", "agent.sample", "master.postprocess", "master.deliver"]) {
      assert.match(tree, new RegExp(`${level.replace(".", "\\.")} [0-9.]+ ms`), level);
    }
    const quiet: string[] = [];
    const q = await startTestServer({}, undefined, new Logger("info", (l) => quiet.push(l)));
    try {
      await q.server.engine.ready;
      await postJson(`${q.url}/generate`, { inputs: "quiet", parameters: { max_new_tokens: 2 } });
    } finally {
      await q.server.close(1000);
    }
    assert.ok(!quiet.some((l) => l.includes("master.step")), "no step trees above debug level");
  });
});

describe("what is not timed", () => {
  test("health checks, scrapes and the debug views do not crowd the timeline ring", async () => {
    await fetch(url("/health"), { headers: { "x-request-id": "a-health-check" } });
    await fetch(url("/metrics"), { headers: { "x-request-id": "a-scrape" } });
    assert.equal((await fetch(url("/debug/requests/a-health-check"))).status, 404);
    assert.equal((await fetch(url("/debug/requests/a-scrape"))).status, 404);
    const { requests } = await jsonOf(fetch(url("/debug/requests?limit=1000")));
    assert.ok(requests.every((r: { route: string }) => !/health|metrics|debug|stats/.test(r.route)));
  });
});
