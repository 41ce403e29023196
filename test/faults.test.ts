/**
 * Faults at the HTTP edge (the engine's own — a row whose decode fails, a
 * step that throws — are in batching.test.ts): a client that vanishes at
 * every stage of its request frees what it held within one step and leaves
 * the server serving; SIGTERM under load lets every accepted request finish.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Step } from "../src/master/Step.js";
import type { RequestRecordJson } from "../src/timing/recordJson.js";
import { spawnCli } from "./helpers/cli.js";
import { startCliServer } from "./helpers/cliServer.js";
import { sendRaw } from "./helpers/rawHttp.js";
import { jsonOf, postJson, requestRecord, sseData, type TestServer, waitFor, withTestServer } from "./helpers/serverHarness.js";

/** No step that started after the client left carried its request: the row was freed at the next step. */
function assertFreedWithinOneStep(t: RequestRecordJson, id: string): void {
  assert.equal(t.status, 499, id);
  assert.equal(t.aborted, true);
  const gone = t.points.disconnected;
  assert.ok(gone !== null, "the disconnect is recorded");
  const after = t.steps.filter((s) => s.start > gone);
  assert.deepEqual(after.map((s) => s.id), [], `${id}: steps after the disconnect still carried it`);
  assert.ok(t.durations.time_to_free! >= 0, `${id}: time to free ${t.durations.time_to_free}`);
}

async function stillServes(s: TestServer): Promise<void> {
  await waitFor(async () => {
    const stats = await jsonOf(fetch(`${s.url}/stats`));
    return stats.running === 0 && stats.waiting === 0;
  }, "the engine to go idle");
  const res = await postJson(`${s.url}/generate`, { inputs: "still here", parameters: { max_new_tokens: 3 } });
  assert.equal(res.status, 200);
  assert.equal((await jsonOf(res)).generated_text.length > 0, true);
}

describe("a client that vanishes frees what it held within one step, at every stage", () => {
  test("before its body is complete: nothing reaches the engine, the server serves on", () =>
    withTestServer({ rows: 1 }, async (s) => {
      // Half a body, the connection held 20 ms, then dropped.
      await sendRaw(s.url, 'POST /generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nX-Request-Id: half-a-body\r\n\r\n{"inputs": "ha', { holdMs: 20 });
      const t = await requestRecord(s.url, "half-a-body", () => true);
      assert.equal(t.status, 499);
      assert.equal(t.points.tokenized, null, "it never reached the engine");
      await stillServes(s);
    }));

  test("while its prompt is tokenized on the worker thread: never admitted, recorded as cancelled", () =>
    // The tokenizer thread starts at the first long prompt here (~0.5 s): the client leaves meanwhile.
    withTestServer({ rows: 1, contextSize: 8192 }, async (s) => {
      const abort = new AbortController();
      const body = JSON.stringify({ inputs: "word ".repeat(4000), parameters: { max_new_tokens: 4 } });
      const sent = fetch(`${s.url}/generate`, { method: "POST", signal: abort.signal, headers: { "content-type": "application/json", "x-request-id": "tokenizing" }, body }).catch(() => undefined);
      await sleep(100);
      abort.abort();
      await sent;
      const t = await requestRecord(s.url, "tokenizing");
      assert.equal(t.status, 499);
      assert.equal(t.points.admitted, null, "never admitted");
      assert.ok(t.points.tokenized! > t.points.disconnected!, "it left while its prompt was tokenized");
      assert.deepEqual(t.steps, []);
      const metrics = await (await fetch(`${s.url}/metrics`)).text();
      assert.match(metrics, /^llm_serving_requests_total\{finish_reason="cancelled"\} 1$/m);
      await stillServes(s);
    }));

  test("while queued, during a chunked prefill, and mid-stream", () =>
    withTestServer({ rows: 1, batchTokens: 16 }, async (s) => {
      const master = s.server.localEngine!.master!;
      const leave = new Map<string, AbortController>();
      const send = (id: string, body: object, path = "/generate") => {
        const abort = new AbortController();
        leave.set(id, abort);
        return fetch(`${s.url}${path}`, { method: "POST", signal: abort.signal, headers: { "content-type": "application/json", "x-request-id": id }, body: JSON.stringify(body) }).catch(() => undefined);
      };
      // The first takes the only row; the second waits; it leaves while queued.
      const running = send("runs", { inputs: "runs", parameters: { max_new_tokens: 300, ignore_eos: true } });
      const queued = send("queued", { inputs: "waits", parameters: { max_new_tokens: 4 } });
      await waitFor(() => master.stats.waiting === 1, "the second to wait");
      leave.get("queued")!.abort();
      await waitFor(() => master.stats.waiting === 0, "the queue to empty");
      const queuedRecord = await requestRecord(s.url, "queued");
      assertFreedWithinOneStep(queuedRecord, "queued");
      assert.equal(queuedRecord.points.admitted, null, "never admitted");
      leave.get("runs")!.abort();
      await Promise.all([running, queued]);

      // A 400-token prompt in 16-token chunks: it leaves after its first prefill step.
      const seen = (step: Step) => {
        if (step.rows.some((r) => r.request.id === "prefilling" && r.kind === "prefill")) leave.get("prefilling")!.abort();
      };
      const unsubscribe = master.onStep(seen);
      const prefilling = send("prefilling", { inputs: "word ".repeat(200), parameters: { max_new_tokens: 4 } });
      const t = await requestRecord(s.url, "prefilling");
      unsubscribe();
      await prefilling;
      assert.equal(t.points.prefill_end, null, "it left before its prompt was in");
      assertFreedWithinOneStep(t, "prefilling");

      const stream = await postJson(`${s.url}/generate_stream`, { inputs: "streams", parameters: { max_new_tokens: 300, ignore_eos: true } }, { "x-request-id": "streaming" });
      const reader = stream.body!.getReader();
      for (let i = 0; i < 5; i++) await reader.read();
      await reader.cancel();
      assertFreedWithinOneStep(await requestRecord(s.url, "streaming"), "streaming");
      await stillServes(s);
    }));
});

describe("SIGTERM under load", () => {
  test("16 requests in flight (streamed and whole, every family) all finish; new ones get 503; exit 0 within the timeout", async () => {
    const server = await startCliServer(["--rows", "4", "--shutdown-timeout", "60"]);
    try {
      const url = server.url;
      const tokens = 120;
      const requests = Array.from({ length: 16 }, (_, i) => {
        const id = { "x-request-id": `load-${i}` };
        switch (i % 4) {
          case 0:
            return postJson(`${url}/generate`, { inputs: "load", parameters: { max_new_tokens: tokens, ignore_eos: true, details: true } }, id).then(async (r) => [r.status, (await jsonOf(r)).details.generated_tokens]);
          case 1:
            return postJson(`${url}/generate_stream`, { inputs: "load", parameters: { max_new_tokens: tokens, ignore_eos: true } }, id).then(async (r) => [r.status, sseData(await r.text()).length]);
          case 2:
            return postJson(`${url}/v1/completions`, { prompt: "load", max_tokens: tokens, ignore_eos: true }, id).then(async (r) => [r.status, (await jsonOf(r)).usage.completion_tokens]);
          default:
            return postJson(`${url}/v1/chat/completions`, { messages: [{ role: "user", content: "load" }], max_tokens: tokens, ignore_eos: true, stream: true, stream_options: { include_usage: true } }, id).then(async (r) => [
              r.status,
              (sseData(await r.text()).at(-1) as { usage: { completion_tokens: number } }).usage.completion_tokens,
            ]);
        }
      });
      await waitFor(async () => {
        const stats = await jsonOf(fetch(`${url}/stats`));
        return stats.running + stats.waiting === 16;
      }, "all 16 to be accepted");
      const signalled = Date.now();
      server.child.kill("SIGTERM");
      await waitFor(() => /SIGTERM: finishing in-flight requests/.test(server.stderr()), "the server to take the signal");
      const late = await postJson(`${url}/generate`, { inputs: "late" }).then((r) => r.status, () => "refused");
      assert.ok(late === 503 || late === "refused", `a request after SIGTERM got ${late}`);
      const outcomes = await Promise.all(requests);
      assert.deepEqual(outcomes, Array.from({ length: 16 }, () => [200, tokens]), "every accepted request got its whole answer");
      assert.equal(await server.exited, 0);
      assert.ok(Date.now() - signalled < 60_000);
      assert.match(server.stderr(), /all requests finished/);
    } finally {
      server.stop();
    }
  });

  test("SIGHUP (the terminal that started it closed) drains as SIGTERM does: a stream in flight gets its whole answer, exit 0", async () => {
    // Found by a new user: SIGHUP killed the server at once (exit 129), cutting streams without their last event.
    const server = await startCliServer(["--rows", "2"]);
    try {
      const tokens = 96;
      const stream = postJson(`${server.url}/generate_stream`, { inputs: "hang up", parameters: { max_new_tokens: tokens, ignore_eos: true } }).then(async (r) => sseData(await r.text()));
      await waitFor(async () => (await jsonOf(fetch(`${server.url}/stats`))).running === 1, "the stream to run");
      server.child.kill("SIGHUP");
      await waitFor(() => /SIGHUP: finishing in-flight requests/.test(server.stderr()), "the server to take the signal");
      const events = (await stream) as Array<{ generated_text: string | null }>;
      assert.equal(events.length, tokens);
      assert.equal(typeof events.at(-1)!.generated_text, "string", "the last event, with the whole text");
      assert.equal(await server.exited, 0, server.stderr());
    } finally {
      server.stop();
    }
  });

  test("a request whose body is still arriving at SIGTERM gets its answer; one sent after it gets our 503 with Retry-After", async () => {
    const server = await startCliServer(["--rows", "2"]);
    try {
      const { hostname, port } = new URL(server.url);
      const socket = connect(Number(port), hostname);
      await once(socket, "connect");
      const body = JSON.stringify({ inputs: "arriving", parameters: { max_new_tokens: 8 } });
      let answer = "";
      socket.on("data", (d) => (answer += d));
      socket.write(`POST /generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
      await waitFor(async () => (await jsonOf(fetch(`${server.url}/debug/requests`))).requests.length === 1, "the request to be received");
      server.child.kill("SIGTERM");
      await waitFor(() => /SIGTERM: finishing in-flight requests/.test(server.stderr()), "the server to take the signal");
      socket.write(`${body.slice(10)}`);
      await waitFor(() => /\r\n\r\n\{.*\}$/s.test(answer), "the answer");
      assert.match(answer, /^HTTP\/1\.1 200 /);
      assert.match(answer, /"generated_text"/);
      // The same connection, after the signal: answered by our routes, in TGI's shape.
      answer = "";
      socket.write(`POST /generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      await waitFor(() => /\r\n\r\n\{.*\}$/s.test(answer), "the second answer");
      assert.match(answer, /^HTTP\/1\.1 503 /);
      assert.match(answer, /retry-after: 1/i);
      assert.match(answer, /"error_type":"overloaded"/);
      socket.destroy();
      assert.equal(await server.exited, 0, server.stderr());
    } finally {
      server.stop();
    }
  });

  test("npm start hands SIGTERM on to the server (a supervisor signals npm, not the server)", { timeout: 60_000 }, async () => {
    // npm runs a script through sh -c; without exec the shell took the signal and died, leaving the server running, orphaned, on its port.
    const root = join(import.meta.dirname, "..", "..");
    // A fresh cache: the signal may come while the default model is still being made; either way the server must take it.
    const cache = await mkdtemp(join(tmpdir(), "llm-serving-npm-start-"));
    // Its own process group, so that whatever is left can be killed whole at the end: npm, a shell, the server.
    const npm = spawn("npm", ["start", "--", "--port", "0", "--no-access-log"], { cwd: root, stdio: ["ignore", "ignore", "pipe"], detached: true, env: { ...process.env, LLM_SERVING_CACHE: cache } });
    let stderr = "";
    npm.stderr.on("data", (d) => (stderr += d));
    const exited = once(npm, "exit");
    const patience = new AbortController();
    try {
      await waitFor(() => /listening on/.test(stderr), "the server to listen", 30_000);
      npm.kill("SIGTERM");
      await waitFor(() => /SIGTERM: finishing in-flight requests|still loading; exiting/.test(stderr), "the server to take the signal", 10_000);
      await Promise.race([exited, sleep(10_000, undefined, { signal: patience.signal }).then(() => assert.fail(`npm did not exit after the server took the signal:\n${stderr}`))]);
    } finally {
      patience.abort();
      try {
        process.kill(-npm.pid!, "SIGKILL");
      } catch {
        // The group is gone already: nothing was left behind.
      }
      npm.stderr.destroy();
      await rm(cache, { recursive: true, force: true });
    }
  });

  test("while the model is still loading, SIGTERM exits at once with 0", async () => {
    // A fresh cache: the default model is made first, then loaded; the signal comes meanwhile.
    const cache = await mkdtemp(join(tmpdir(), "llm-serving-loading-"));
    const server = spawnCli(["serve", "--port", "0", "--no-access-log"], { ...process.env, LLM_SERVING_CACHE: cache });
    try {
      await server.until(/listening on/);
      const signalled = Date.now();
      server.child.kill("SIGTERM");
      assert.equal(await server.exited, 0, server.stderr());
      assert.ok(Date.now() - signalled < 5000, `took ${Date.now() - signalled} ms`);
      assert.match(server.stderr(), /still loading; exiting/);
    } finally {
      server.stop();
      await rm(cache, { recursive: true, force: true });
    }
  });
});
