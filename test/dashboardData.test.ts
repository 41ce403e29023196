/**
 * The data behind the dashboard's charts, without a browser: each step says
 * where in their contexts its rows were (the "decode time by context" chart),
 * the distributions split the requests relayed to remote engines by
 * engine, with each engine's time across the hop, and the feeds count
 * their own cost.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { EngineRow } from "../src/dashboard/engineRow.js";
import type { RequestRecord } from "../src/dashboard/requestRecord.js";
import type { RemoteEngineStats } from "../src/engines/Engine.js";
import { BACKEND_DEFAULTS } from "../src/engines/remote/RemoteBackend.js";
import type { DistributionsJson } from "../src/timing/distributions.js";
import type { RequestRecordJson } from "../src/timing/recordJson.js";
import type { StepWindowJson } from "../src/timing/stepWindow.js";
import { jsonOf, postJson, requestRecord, sseData, startTestServer, waitFor, type TestServer } from "./helpers/serverHarness.js";

/** The page restates the server's record shapes (it compiles on its own, without src/timing): this stops compiling when the two part. */
export const pageReadsServerRecords = (r: RequestRecordJson): RequestRecord => r;
/** The same for the engines table: what /stats and the feed say of an engine is what the page reads. */
export const pageReadsEngineStats = (e: RemoteEngineStats): EngineRow => e;

describe("the dashboard's data", () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ rows: 4, contextSize: 512 });
    await s.server.engine.ready;
  });
  after(async () => {
    await s?.server.close(1000);
  });

  it("every step records where its rows were in their contexts: the prompt from 0, then one cell further per decode", async () => {
    const tokens = 9;
    assert.equal((await postJson(`${s.url}/generate`, { inputs: "where am I in my context", parameters: { max_new_tokens: tokens, ignore_eos: true } }, { "x-request-id": "ctx" })).status, 200);
    const record = await requestRecord(s.url, "ctx");
    const prompt = record.prompt_tokens;
    const rows = record.steps.map((st) => st.requests.find((r) => r.id === "ctx")!);
    const prefill = rows.filter((r) => r.kind === "prefill");
    assert.equal(prefill[0].position, 0);
    assert.equal(prefill.reduce((n, r) => n + r.tokens, 0), prompt, "the prompt's chunks fill its first cells");
    const decodes = rows.filter((r) => r.kind === "decode").map((r) => r.position);
    // The first token comes from the prompt's step; each decode feeds the token before it.
    assert.deepEqual(decodes, Array.from({ length: tokens - 1 }, (_, i) => prompt + i));

    const window = (await jsonOf(fetch(`${s.url}/debug/steps?seconds=30`))) as StepWindowJson;
    const carried = new Set(record.steps.map((st) => st.id));
    const mine = window.steps.filter((st) => carried.has(st.id));
    assert.equal(mine.length, carried.size);
    // Alone in the engine, a step's context is this request's: its cells before the step and the tokens it fed.
    const last = mine[mine.length - 1];
    assert.equal(last.context, prompt + tokens - 1);
    assert.ok(mine.every((st) => st.context > 0 && st.context <= prompt + tokens - 1));
    // Each step names its requests by index into the window's table, where each id is once.
    assert.ok(mine.every((st) => st.requests.map((i) => window.requests[i]).includes("ctx")));
    assert.equal(new Set(window.requests).size, window.requests.length);
    // A watcher that has the steps up to one asks for those after it only, on the same clock.
    const later = (await jsonOf(fetch(`${s.url}/debug/steps?seconds=30&after=${last.id - 3}`))) as StepWindowJson;
    assert.deepEqual(later.steps.map((st) => st.id), [last.id - 2, last.id - 1, last.id]);
    const atOf = (w: StepWindowJson, id: number): number => w.now - w.window_ms + w.steps.find((st) => st.id === id)!.start;
    assert.ok(Math.abs(atOf(later, last.id) - atOf(window, last.id)) < 0.01, "the same step at the same server time");
    for (const bad of ["-1", "1.5", "x", "", "%20", "1e3", "0x10", "99999999999999999999"]) assert.equal((await fetch(`${s.url}/debug/steps?after=${bad}`)).status, 400, `after=${bad}`);
    for (const bad of ["0", "", "0x10", "1e1", "61", "-5", "x"]) assert.equal((await fetch(`${s.url}/debug/steps?seconds=${bad}`)).status, 400, `seconds=${bad}`);
    const misspelt = await fetch(`${s.url}/debug/steps?window=1000`);
    assert.equal(misspelt.status, 400);
    assert.match((await jsonOf(misspelt)).error.message, /^window: not a parameter of this route \(it takes seconds and after\)$/);
    assert.equal((await fetch(`${s.url}/debug/steps?seconds=2.5&after=0`)).status, 200);
    // A cache buster is no mistake.
    assert.equal((await fetch(`${s.url}/debug/steps?_=1733215412345`)).status, 200);
  });

  it("the live view lists generation requests only, and /dashboard/ is the page", async () => {
    assert.equal((await fetch(`${s.url}/v1/models`, { headers: { "x-request-id": "models-get" } })).status, 200);
    assert.equal((await postJson(`${s.url}/generate`, { inputs: "list me", parameters: { max_new_tokens: 2 } }, { "x-request-id": "listed" })).status, 200);
    const feed = await fetch(`${s.url}/debug/stream`);
    const reader = feed.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    const recent = (JSON.parse(first.slice("data: ".length)) as { recent: Array<{ id: string }> }).recent.map((r) => r.id);
    assert.ok(recent.includes("listed") && !recent.includes("models-get"), JSON.stringify(recent));
    const slash = await fetch(`${s.url}/dashboard/?request=listed`, { redirect: "manual" });
    assert.equal(slash.status, 301);
    assert.equal(slash.headers.get("location"), "/dashboard?request=listed");
  });

  it("the stream carries the engine steps: the whole window first, then the steps since the snapshot before, none missed, for a watcher that joins later too", async () => {
    /** A watcher's snapshots as they come, each with its steps' ids. */
    const watch = async (): Promise<{ ids: number[][]; stop: () => Promise<void> }> => {
      const ids: number[][] = [];
      const reader = (await fetch(`${s.url}/debug/stream`)).body!.pipeThrough(new TextDecoderStream()).getReader();
      const reading = (async () => {
        let pending = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          pending += value;
          const end = pending.lastIndexOf("\n\n") + 2; // the events come whole up to here
          for (const snapshot of sseData(pending.slice(0, end)) as Array<{ steps: StepWindowJson }>) ids.push(snapshot.steps.steps.map((st) => st.id));
          pending = pending.slice(end);
        }
      })();
      return { ids, stop: () => reader.cancel().then(() => reading) };
    };
    const first = await watch();
    await waitFor(async () => first.ids.length >= 2, "a tick after the first snapshot");
    const generating = postJson(`${s.url}/generate`, { inputs: "ride the stream", parameters: { max_new_tokens: 480, ignore_eos: true } }, { "x-request-id": "streamed-steps" });
    // Joined while the request runs, between two ticks: steps the first watcher has not had yet are in the window the later one gets.
    await waitFor(async () => {
      const res = await fetch(`${s.url}/debug/requests/streamed-steps`);
      return res.ok && ((await res.json()) as { steps: unknown[] }).steps.length > 0;
    }, "the request in the engine", 5000);
    const later = await watch();
    assert.equal((await generating).status, 200);
    const carried = (await requestRecord(s.url, "streamed-steps")).steps.map((st) => st.id);
    // The snapshot after the request's last step: half a second apart.
    await waitFor(async () => [first, later].every((w) => w.ids.flat().includes(carried[carried.length - 1])), "the request's last step sent to both");
    await Promise.all([first.stop(), later.stop()]);
    for (const w of [first, later]) {
      const got = new Set(w.ids.flat());
      assert.deepEqual(carried.filter((id) => !got.has(id)), [], "every step the request rode reached every watcher");
    }
    // The first watcher had each step once: every snapshot's steps come after the one before's.
    for (let i = 1; i < first.ids.length; i++) if (first.ids[i].length > 0) assert.ok(first.ids[i][0] > Math.max(0, ...first.ids.slice(0, i).flat()), `snapshot ${i}: ${first.ids[i][0]}`);
    assert.ok(later.ids[0].length > 0, "a watcher that joins gets the window so far");
  });

  it("a window that holds more steps than the step ring keeps says it is cut short", async () => {
    const small = await startTestServer({ stepCapacity: 8 });
    try {
      await small.server.engine.ready;
      assert.equal((await postJson(`${small.url}/generate`, { inputs: "outgrow the ring", parameters: { max_new_tokens: 20, ignore_eos: true } })).status, 200);
      const window = (await jsonOf(fetch(`${small.url}/debug/steps?seconds=30`))) as StepWindowJson;
      assert.equal(window.steps.length, 8, "the ring's steps");
      assert.equal(window.truncated, true, "the older steps of the window are gone: a gap, not idle time");
      const newest = window.steps[window.steps.length - 1].id;
      const later = (await jsonOf(fetch(`${small.url}/debug/steps?seconds=30&after=${newest - 3}`))) as StepWindowJson;
      assert.equal(later.steps.length, 3);
      assert.equal(later.truncated, false, "a watcher that has the older ones misses nothing");
    } finally {
      await small.server.close(1000);
    }
  });

  it("the feeds count their own time in /metrics, and nothing while nobody watches", async () => {
    const views = async (): Promise<Record<string, number>> => {
      const text = await (await fetch(`${s.url}/metrics`)).text();
      return Object.fromEntries([...text.matchAll(/^llm_serving_debug_view_seconds_total\{view="(\w+)"\} (\S+)$/gm)].map((m) => [m[1], Number(m[2])]));
    };
    const idle = await views();
    await new Promise((r) => setTimeout(r, 600));
    assert.deepEqual(await views(), idle, "no watcher, no time spent");
    assert.equal((await fetch(`${s.url}/debug/steps?seconds=5`)).status, 200);
    assert.equal((await fetch(`${s.url}/debug/distributions`)).status, 200);
    const feed = await fetch(`${s.url}/debug/stream`);
    const reader = feed.body!.getReader();
    for (let i = 0; i < 3; i++) await reader.read(); // the first snapshot and two ticks
    await reader.cancel();
    const after = await views();
    for (const view of ["steps", "distributions", "stream"]) assert.ok((after[view] ?? 0) > (idle[view] ?? 0), `${view}: ${idle[view]} → ${after[view]}`);
    // A few ms of work, not seconds: the counter counts the feeds' own time, not the watch's length.
    assert.ok(after.stream - (idle.stream ?? 0) < 0.25, `stream: ${after.stream} s`);
  });

  it("the distributions split relayed requests by engine, each with its time across the hop", async () => {
    const gw = await startTestServer({ modelName: "llama2", engines: [{ ...BACKEND_DEFAULTS, name: "upstream", url: s.url, kind: "openai", model: "llama2", healthIntervalMs: 200 }] });
    try {
      const before = (await jsonOf(fetch(`${gw.url}/debug/distributions`))) as DistributionsJson;
      assert.deepEqual(before.engines, {}, "nothing relayed yet");
      await waitFor(async () => (await fetch(`${gw.url}/health`)).status === 200, "the gateway's engine is healthy");
      for (let i = 0; i < 3; i++) assert.equal((await postJson(`${gw.url}/generate`, { inputs: `relay ${i}`, parameters: { max_new_tokens: 6, ignore_eos: true } }, { "x-request-id": `relay-${i}` })).status, 200);
      const d = (await jsonOf(fetch(`${gw.url}/debug/distributions`))) as DistributionsJson;
      assert.deepEqual(Object.keys(d.engines), ["upstream"]);
      const up = d.engines.upstream;
      assert.equal(up.e2e_ms.n, 3);
      assert.equal(up.ttft_ms.n, 3);
      assert.equal(up.itl_ms.n, 3 * 5, "five gaps between six tokens, per request");
      assert.equal(up.ours_ms.n, 3);
      // Our server as the backend reports its engine time: all three parts are known for every request.
      assert.equal(up.backend_engine_ms.n, 3);
      assert.equal(up.network_and_front_ms.n, 3);
      assert.ok(up.ours_ms.p50! >= 0 && up.backend_engine_ms.p50! > 0);
      // The parts are each request's own: the three add up to its e2e, and the chart's p50s are taken from them.
      const parts: Record<"ours" | "front" | "engine", number[]> = { ours: [], front: [], engine: [] };
      for (let i = 0; i < 3; i++) {
        const r = await requestRecord(gw.url, `relay-${i}`);
        const hop = r.hop!;
        assert.ok(Math.abs(hop.ours_ms + hop.network_and_front_ms! + hop.backend_engine_ms! - r.durations.e2e) < 0.01, JSON.stringify({ hop, e2e: r.durations.e2e }));
        parts.ours.push(hop.ours_ms);
        parts.front.push(hop.network_and_front_ms!);
        parts.engine.push(hop.backend_engine_ms!);
      }
      const median = (v: number[]): number => [...v].sort((a, b) => a - b)[1];
      assert.ok(Math.abs(up.ours_ms.p50! - median(parts.ours)) < 0.01 && Math.abs(up.backend_engine_ms.p50! - median(parts.engine)) < 0.01 && Math.abs(up.network_and_front_ms.p50! - median(parts.front)) < 0.01);
      assert.equal(d.e2e_ms.n, 3, "and all of them in the whole");
    } finally {
      await gw.server.close(1000);
    }
  });
});
