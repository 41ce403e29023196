/**
 * The backend's own timings, as the load client keeps them per request: the
 * readers on known values (units converted right), the bench against our
 * server over its four protocols, and llama.cpp's and Ollama's native
 * protocols against simulated peers that answer in those servers' documented
 * formats (llama-server is not available to the tests yet).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { fromOllama, fromOpenAiBody, fromTgiHeaders, fromTimingsObject, fromVllmMetrics } from "../src/timing/backendTimings.js";
import { readClientRecords } from "../src/bench/clientRecords.js";
import { LoadClient, type ClientRecord } from "../src/bench/LoadClient.js";
import { protocol, PROTOCOLS, type ProtocolName } from "../src/bench/protocols.js";
import { startTestServer, type TestServer } from "./helpers/serverHarness.js";
import { cli } from "./helpers/cli.js";

const run = promisify(execFile);

const close = (x: number, y: number, what: string): void => assert.ok(Math.abs(x - y) < 1e-9, `${what}: ${x} vs ${y}`);

// A llama.cpp server's timings object (the fields of result_timings::to_json).
const LLAMA_TIMINGS = { cache_n: 0, prompt_n: 26, prompt_ms: 130.079, prompt_per_token_ms: 5.003, prompt_per_second: 199.88, predicted_n: 42, predicted_ms: 845.25, predicted_per_token_ms: 20.125, predicted_per_second: 49.69 };

// Ours: llama.cpp's fields, then id, complete, the durations and the points (ms from received).
const OUR_TIMINGS = {
  ...LLAMA_TIMINGS,
  id: "r-1",
  complete: false,
  e2e: 990.5,
  ttft: 140.2,
  queue: 3.25,
  prefill: 130.079,
  decode: 845.25,
  points: { received: 0, queued: 1.5, first_token: 135.0, last_token: 980.25 },
};

describe("reading what a backend reports", () => {
  test("llama.cpp's timings object", () => {
    const t = fromTimingsObject(LLAMA_TIMINGS)!;
    assert.deepEqual(t, { source: "llama.cpp", prefillMs: 130.079, decodeMs: 845.25, perTokenMs: 20.125, promptTokens: 26, generatedTokens: 42, raw: LLAMA_TIMINGS });
    // llama.cpp's stream chunks before the last carry prompt_n = -1: no timings yet.
    assert.equal(fromTimingsObject({ ...LLAMA_TIMINGS, prompt_n: -1 }), undefined);
    assert.equal(fromTimingsObject(null), undefined);
  });

  test("our timings object reads as llm-serving, with queue, total and validation", () => {
    const t = fromTimingsObject(OUR_TIMINGS)!;
    assert.equal(t.source, "llm-serving");
    assert.equal(t.prefillMs, 130.079);
    assert.equal(t.decodeMs, 845.25);
    assert.equal(t.queueMs, 3.25);
    assert.equal(t.totalMs, 990.5);
    assert.equal(t.validationMs, 1.5, "received → queued");
    assert.equal(t.generatedTokens, 42);
    assert.equal(t.raw, OUR_TIMINGS);
  });

  test("TGI's headers: x-compute-time in seconds, the others in ms", () => {
    const headers = { "x-compute-type": "gpu+optimized", "x-compute-time": "1.234567", "x-compute-characters": "40", "x-total-time": "1234", "x-validation-time": "2", "x-queue-time": "15", "x-inference-time": "1217", "x-time-per-token": "24", "x-prompt-tokens": "9", "x-generated-tokens": "50", "content-type": "application/json" };
    const t = fromTgiHeaders(headers)!;
    assert.equal(t.source, "tgi");
    close(t.totalMs!, 1234.567, "x-compute-time 1.234567 s");
    assert.equal(t.validationMs, 2);
    assert.equal(t.queueMs, 15);
    assert.equal(t.inferenceMs, 1217);
    assert.equal(t.perTokenMs, 24);
    assert.equal(t.promptTokens, 9);
    assert.equal(t.generatedTokens, 50);
    assert.equal(t.prefillMs, undefined, "TGI does not split prefill from decode");
    assert.equal(t.raw["x-compute-time"], "1.234567");
    assert.equal(t.raw["content-type"], undefined, "only TGI's own headers are kept");
    assert.equal(fromTgiHeaders({ "x-total-time": "1234" })!.totalMs, 1234, "x-total-time when x-compute-time is missing");
    assert.equal(fromTgiHeaders({ "content-type": "text/event-stream", "x-compute-type": "gpu+optimized" }), undefined, "a stream's headers carry no timings");
  });

  test("vLLM's metrics object, with the counts from usage", () => {
    const metrics = { time_to_first_token_ms: 85.2, generation_time_ms: 1240.5, queue_time_ms: 12.3, mean_itl_ms: 9.1, tokens_per_second: 103.2 };
    const usage = { prompt_tokens: 42, completion_tokens: 128, total_tokens: 170 };
    assert.deepEqual(fromVllmMetrics(metrics, usage), { source: "vllm", queueMs: 12.3, prefillMs: 85.2, decodeMs: 1240.5, perTokenMs: 9.1, promptTokens: 42, generatedTokens: 128, raw: metrics });
    const body = { id: "cmpl-1", choices: [], usage, metrics };
    assert.equal(fromOpenAiBody(body)?.source, "vllm");
    assert.equal(fromOpenAiBody({ ...body, timings: LLAMA_TIMINGS })?.source, "llama.cpp", "a timings object wins");
    assert.equal(fromVllmMetrics({ time_to_first_token_ms: null, generation_time_ms: null, queue_time_ms: null, mean_itl_ms: null, tokens_per_second: null }, usage), undefined, "all null: nothing reported");
    assert.equal(fromOpenAiBody({ id: "cmpl-1", choices: [], usage }), undefined);
  });

  test("Ollama's final object: nanoseconds to ms", () => {
    const last = { model: "llama3.2", created_at: "2023-08-04T19:22:45.499127Z", response: "", done: true, context: [1, 2, 3], total_duration: 10706818083, load_duration: 6338219291, prompt_eval_count: 26, prompt_eval_duration: 130079000, eval_count: 259, eval_duration: 4232710000 };
    const t = fromOllama(last)!;
    assert.equal(t.source, "ollama");
    close(t.totalMs!, 10706.818083, "total_duration");
    close(t.loadMs!, 6338.219291, "load_duration");
    close(t.prefillMs!, 130.079, "prompt_eval_duration");
    close(t.decodeMs!, 4232.71, "eval_duration");
    assert.equal(t.promptTokens, 26);
    assert.equal(t.generatedTokens, 259);
    assert.deepEqual(t.raw, { total_duration: 10706818083, load_duration: 6338219291, prompt_eval_count: 26, prompt_eval_duration: 130079000, eval_count: 259, eval_duration: 4232710000 });
    assert.equal(fromOllama({ model: "llama3.2", response: "The", done: false }), undefined, "a line before the last");
  });
});

function bench(url: string, name: ProtocolName, stream: boolean, model = "llama2"): Promise<ClientRecord[]> {
  return new LoadClient({ url, protocol: protocol(name), model, prompts: [{ prompt: "where did the time go" }, { prompt: "and here", maxTokens: 5 }], maxTokens: 9, count: 4, stream, ignoreEos: true, greedy: true, concurrency: 2 }).run();
}

describe("the bench keeps our server's timings", () => {
  let on: TestServer | undefined;
  let off: TestServer | undefined;
  before(async () => {
    on = await startTestServer();
    off = await startTestServer({ timing: false });
    await Promise.all([on.server.engine.ready, off.server.engine.ready]);
  });
  after(async () => {
    await Promise.all([on?.server.close(1000), off?.server.close(1000)]);
  });

  for (const name of PROTOCOLS)
    for (const stream of [false, true]) {
      test(`${name}, ${stream ? "streamed" : "whole"}: every record has the server's timings, inside its e2e`, async () => {
        for (const r of await bench(on!.url, name, stream)) {
          assert.equal(r.error, undefined);
          const b = r.backend;
          assert.ok(b, `${r.id}: no backend timings`);
          assert.equal(b.source, "llm-serving");
          assert.ok(b.prefillMs! > 0 && b.decodeMs! >= 0, `${r.id}: prefill ${b.prefillMs}, decode ${b.decodeMs}`);
          assert.ok(b.prefillMs! + b.decodeMs! <= r.end - r.sent, `${r.id}: prefill + decode ${b.prefillMs! + b.decodeMs!} ms beyond the client's e2e ${r.end - r.sent} ms`);
          assert.equal(b.generatedTokens, r.outputTokens);
          assert.equal(r.outputTokens, r.maxTokens);
        }
      });
    }

  test("a server that reports nothing (timing off): no backend field", async () => {
    for (const name of PROTOCOLS)
      for (const stream of [false, true])
        for (const r of await bench(off!.url, name, stream)) {
          assert.equal(r.error, undefined);
          assert.equal(r.outputTokens, r.maxTokens);
          assert.ok(!("backend" in r), `${name} ${stream ? "stream" : "whole"}: ${JSON.stringify(r.backend)}`);
        }
  });
});

/**
 * A simulated peer: answers llama-server's POST /completion and Ollama's POST
 * /api/generate exactly in their documented formats (tools/server/README.md
 * and server-task.cpp; Ollama's docs/api.md), and /v1/models as each does.
 * Each token is written on its own, some split mid-event, as a socket may
 * deliver them.
 */
const PEER_TOKENS = ["Once", " upon", " a", " time", "é"];
const PEER_TIMINGS = { cache_n: 0, prompt_n: 6, prompt_ms: 12.5, prompt_per_token_ms: 2.083, prompt_per_second: 480, predicted_n: 5, predicted_ms: 40.4, predicted_per_token_ms: 8.08, predicted_per_second: 123.76 };
const OLLAMA_FINAL = { total_duration: 75_000_000, load_duration: 2_500_000, prompt_eval_count: 6, prompt_eval_duration: 12_500_000, eval_count: 5, eval_duration: 40_400_000 };

interface Peer {
  url: string;
  server: Server;
  bodies: Array<Record<string, unknown>>;
}

async function writeSlowly(res: ServerResponse, parts: readonly string[]): Promise<void> {
  for (const part of parts) {
    // Half an event, then the rest: the client must wait for the separator.
    const cut = Math.floor(part.length / 2);
    res.write(part.slice(0, cut));
    await new Promise((resolve) => setImmediate(resolve));
    res.write(part.slice(cut));
  }
  res.end();
}

function llamaCpp(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
  const n = Math.min(Number(body.n_predict), PEER_TOKENS.length);
  const base = { index: 0, id_slot: 0, tokens_evaluated: 6 };
  const last = { ...base, tokens: [], stop: true, model: "tiny.gguf", tokens_predicted: n, generation_settings: { n_predict: body.n_predict }, prompt: body.prompt, has_new_line: false, truncated: false, stop_type: "limit", stopping_word: "", tokens_cached: 6 + n, timings: { ...PEER_TIMINGS, predicted_n: n } };
  if (body.stream !== true) {
    res.writeHead(200, { "content-type": "application/json; charset=utf-8" }).end(JSON.stringify({ ...last, content: PEER_TOKENS.slice(0, n).join("") }));
    return Promise.resolve();
  }
  res.writeHead(200, { "content-type": "text/event-stream" });
  const events = PEER_TOKENS.slice(0, n).map((content, i) => `data: ${JSON.stringify({ ...base, content, tokens: [100 + i], stop: false, tokens_predicted: i + 1 })}\n\n`);
  return writeSlowly(res, [...events, `data: ${JSON.stringify({ ...last, content: "" })}\n\n`]);
}

function ollama(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
  const n = Math.min(Number((body.options as { num_predict?: number }).num_predict), PEER_TOKENS.length);
  const head = { model: body.model, created_at: "2024-07-22T20:47:51.147561Z" };
  const final = { ...head, done: true, done_reason: "length", ...OLLAMA_FINAL, eval_count: n };
  if (body.stream === false) {
    res.writeHead(200, { "content-type": "application/json; charset=utf-8" }).end(JSON.stringify({ ...final, response: PEER_TOKENS.slice(0, n).join(""), context: [1, 2, 3] }));
    return Promise.resolve();
  }
  res.writeHead(200, { "content-type": "application/x-ndjson" });
  const lines = PEER_TOKENS.slice(0, n).map((response) => `${JSON.stringify({ ...head, response, done: false })}\n`);
  return writeSlowly(res, [...lines, `${JSON.stringify({ ...final, response: "", context: [1, 2, 3] })}\n`]);
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = "";
  for await (const chunk of req) text += String(chunk);
  return JSON.parse(text) as Record<string, unknown>;
}

async function startPeer(kind: "llama.cpp" | "ollama"): Promise<Peer> {
  const bodies: Array<Record<string, unknown>> = [];
  const models = kind === "llama.cpp" ? { object: "list", data: [{ id: "tiny.gguf", object: "model", created: 1, owned_by: "llamacpp" }] } : { object: "list", data: [{ id: "tiny:latest", object: "model", created: 1, owned_by: "library" }] };
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/v1/models") return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(models));
    const route = kind === "llama.cpp" ? "/completion" : "/api/generate";
    if (req.method !== "POST" || req.url !== route) return void res.writeHead(404).end();
    void readBody(req).then((body) => {
      bodies.push(body);
      return kind === "llama.cpp" ? llamaCpp(body, res) : ollama(body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, bodies };
}

describe("llama.cpp's and Ollama's native protocols, against simulated peers", () => {
  let cpp: Peer | undefined;
  let oll: Peer | undefined;
  let dir = "";
  before(async () => {
    [cpp, oll] = await Promise.all([startPeer("llama.cpp"), startPeer("ollama")]);
    dir = await mkdtemp(join(tmpdir(), "llm-serving-backend-"));
  });
  after(async () => {
    for (const p of [cpp, oll]) await new Promise((resolve) => p?.server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  for (const stream of [false, true]) {
    test(`llama.cpp /completion, ${stream ? "streamed" : "whole"}: the request, the tokens and the timings`, async () => {
      cpp!.bodies.length = 0;
      const records = await bench(cpp!.url, "llama.cpp", stream, "tiny.gguf");
      assert.deepEqual(cpp!.bodies.find((b) => b.prompt === "where did the time go"), { model: "tiny.gguf", prompt: "where did the time go", n_predict: 9, stream, cache_prompt: false, temperature: 0, ignore_eos: true });
      for (const r of records) {
        assert.equal(r.error, undefined);
        const n = Math.min(r.maxTokens, PEER_TOKENS.length);
        assert.equal(r.outputTokens, n);
        assert.equal(r.tokens.length, stream ? n : 0, "one arrival per token event, none for the last (stop: true) event");
        assert.deepEqual(r.backend, { source: "llama.cpp", prefillMs: 12.5, decodeMs: 40.4, perTokenMs: 8.08, promptTokens: 6, generatedTokens: n, raw: { ...PEER_TIMINGS, predicted_n: n } });
      }
    });

    test(`Ollama /api/generate, ${stream ? "streamed" : "whole"}: the request, the tokens and the durations in ms`, async () => {
      oll!.bodies.length = 0;
      const records = await bench(oll!.url, "ollama", stream, "tiny:latest");
      assert.deepEqual(oll!.bodies.find((b) => b.prompt === "where did the time go"), { model: "tiny:latest", prompt: "where did the time go", stream, options: { num_predict: 9, temperature: 0 } });
      for (const r of records) {
        assert.equal(r.error, undefined);
        const n = Math.min(r.maxTokens, PEER_TOKENS.length);
        assert.equal(r.outputTokens, n);
        assert.equal(r.tokens.length, stream ? n : 0);
        const b = r.backend!;
        assert.equal(b.source, "ollama");
        close(b.totalMs!, 75, "total");
        close(b.loadMs!, 2.5, "load");
        close(b.prefillMs!, 12.5, "prompt eval");
        close(b.decodeMs!, 40.4, "eval");
        assert.equal(b.generatedTokens, n);
        assert.equal(b.raw.eval_duration, 40_400_000, "raw keeps Ollama's ns");
      }
    });
  }

  test("bench --protocol ollama and llama.cpp: the model from /v1/models, and records with backend that analyze's reader loads", async () => {
    for (const [name, peer, model] of [["ollama", oll!, "tiny:latest"], ["llama.cpp", cpp!, "tiny.gguf"]] as const) {
      peer.bodies.length = 0;
      const file = join(dir, `${name}.jsonl`);
      await run(process.execPath, [cli, "bench", "--url", peer.url, "--protocol", name, "-n", "2", "--stream", "--max-tokens", "4", "--records", file, "--json", "--no-progress"]);
      assert.equal(peer.bodies[0].model, model);
      const records = await readClientRecords(file);
      assert.equal(records.length, 2);
      for (const r of records) assert.equal(r.backend?.source, name);
    }
  });

  test("records written before the backend field still load", async () => {
    const file = join(dir, "old.jsonl");
    const old = { id: "r-0", index: 0, planned: null, sent: 1, headers: 2, firstByte: 3, chunks: [3], tokens: [3], end: 4, status: 200, outputTokens: 1, maxTokens: 1, promptChars: 5, stream: true, protocol: "tgi" };
    await writeFile(file, `${JSON.stringify(old)}\n`);
    const [r] = await readClientRecords(file);
    assert.equal(r.id, "r-0");
    assert.equal(r.backend, undefined);
  });

  test("an unknown protocol names all six", () => {
    assert.throws(() => protocol("vllm"), /unknown protocol "vllm" \(expected llm-serving, tgi, openai, openai-chat, llama\.cpp, ollama\)/);
  });
});
