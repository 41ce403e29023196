/**
 * analyze on any server's measurements: tables with a known answer (in
 * several column namings and units), records from our bench against our own
 * server with timing off (a stand-in for a server that records nothing),
 * with and without the timings the backend reports, and the report's
 * "not measured".
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { explain } from "../src/analysis/explain.js";
import { readStepLogForT } from "../src/analysis/input/stepLog.js";
import { readTable } from "../src/analysis/input/table.js";
import { markdownReport } from "../src/analysis/report.js";
import { markdownTable } from "../src/analysis/reportBlocks.js";
import { LoadClient, type ClientRecord } from "../src/bench/LoadClient.js";
import { protocol } from "../src/bench/protocols.js";
import { fetchTimelines } from "../src/bench/serverRecords.js";
import { startTestServer } from "./helpers/serverHarness.js";

const LENGTHS = [1, 5, 10, 30, 60, 65, 120, 240, 360, 480];
const A = 30;
const B = 42;
const T = 40;

/** e2e = A + B·n, an event of +540 ms at n = 120, in the unit and layout asked for. */
function table(layout: "csv" | "tsv" | "markdown", names: [string, string], unit: "ms" | "s"): string {
  const value = (n: number) => (A + B * n + (n === 120 ? 540 : 0)) / (unit === "s" ? 1000 : 1);
  const rows = LENGTHS.map((n) => [String(n), String(value(n))]);
  if (layout === "markdown") return [`| ${names.join(" | ")} |`, "| :-: | :-: |", ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
  const sep = layout === "csv" ? "," : "\t";
  return [names.join(sep), ...rows.map((r) => r.join(sep))].join("\n");
}

test("a Markdown table's columns of words are left-aligned, its figures right-aligned", () => {
  const [, align] = markdownTable(["n", "cause", "ms", "share"], [["1", "the queue", "1.0", "28.7 (71.4 %)"], ["5", "GC", "–", "n/a"], ["10", "", "2.5", "3.1 (2.0 %)"]]);
  assert.equal(align, "|---|---|---:|---:|");
});

describe("t from our own step log", () => {
  test("is the decode steps' mean: a prompt's step is not a token's (a new user saw t = 0.52 ms over 102 steps, 6 of them prompts, against 0.35 ms per token)", () => {
    const step = (id: number, prompt: boolean, ms: number): string =>
      [`[step ${id}] rows=1 requests=a${prompt ? "(prefill 40)" : ""} gap 0.020 ms`, `  master.step ${ms.toFixed(3)} ms`, "    master.schedule 0.010 ms", `    worker.run ${(ms - 0.01).toFixed(3)} ms`].join("\n");
    const log = [step(1, true, 30), ...Array.from({ length: 8 }, (_, i) => step(i + 2, false, 2)), step(10, true, 30)].join("\n");
    const data = readTable(table("csv", ["output_tokens", "e2e_ms"], "ms"));
    const e = explain({ table: { data, source: "test" }, stepLog: { ...readStepLogForT(log), source: "log" } });
    assert.equal(e.reconciliation.t!.ms, 2);
    assert.equal(e.reconciliation.t!.source, "the step log's master.step, mean over 8 decode steps");
    // The whole log is still the trace the report shows, prompt steps and all.
    assert.deepEqual(e.stepTrace!.kinds, { decode: 8, prefill: 2 });
    // A log of decode steps only (the study's has no prompt steps) reads as before.
    const decodes = readStepLogForT(Array.from({ length: 3 }, (_, i) => step(i + 1, false, 2)).join("\n"));
    assert.equal(decodes.decode, undefined);
  });
});

describe("a table with a known answer", () => {
  for (const [layout, names, unit] of [
    ["csv", ["output_tokens", "e2e_ms"], "ms"],
    ["tsv", ["n", "latency (s)"], "s"],
    ["markdown", ["output length", "get_full_res"], "s"],
    ["csv", ["tokens", "total"], "ms"],
  ] as const) {
    test(`${layout}, columns ${names.join(" / ")}, ${unit}: a, b, b − t and the event within 1 %`, () => {
      const data = readTable(table(layout, [...names], unit));
      const e = explain({ table: { data, source: "test" }, stepMs: T });
      const r = e.reconciliation;
      assert.ok(Math.abs(r.fit!.a - A) / A < 0.01, `a ${r.fit!.a}`);
      assert.ok(Math.abs(r.fit!.b - B) / B < 0.01, `b ${r.fit!.b}`);
      assert.ok(Math.abs(r.perTokenExcess! - (B - T)) / (B - T) < 0.01, `b − t ${r.perTokenExcess}`);
      assert.deepEqual(r.events.map((x) => x.n), [120]);
      assert.ok(Math.abs(r.events[0].residual!.ms - 540) / 540 < 0.01);
      assert.ok(Math.abs(r.firstToken!.excessMs! - (A + B - T)) < 1e-6);
      const md = markdownReport({ explanation: e });
      assert.doesNotMatch(md, /NaN|undefined/);
      assert.match(md, /TTFT and every inter-token gap: not measured \(a table has one time per request/);
    });
  }
});

describe("records from our bench against a server that records nothing (ours, timing off)", () => {
  test("client-only, streamed: the fit, t from --step-ms, TTFT and the pauses from the client's arrivals", async () => {
    const s = await startTestServer({ timing: false, rows: 4 });
    try {
      await s.server.engine.ready;
      const prompts = [8, 16, 32, 48].map((n) => ({ prompt: "client only", maxTokens: n }));
      const list = await new LoadClient({ url: s.url, protocol: protocol("tgi"), model: "llama2", prompts, maxTokens: 8, count: 12, stream: true, ignoreEos: true, greedy: true, concurrency: 1 }).run();
      assert.ok(list.every((r) => r.backend === undefined), "a server with timing off reports nothing");
      const e = explain({ records: { list, source: "test" }, stepMs: 0.5 });
      assert.ok(e.reconciliation.fit && e.reconciliation.fit.b > 0);
      assert.equal(e.reconciliation.t!.source, "given with --step-ms");
      assert.match(e.reconciliation.firstToken!.source, /median TTFT of 12 streamed requests/);
      assert.ok(e.pauses?.measured, "pauses are measured from the arrivals");
      assert.equal(typeof e.reconciliation.pauses, "object");
      assert.equal(e.server, undefined);
      assert.equal(e.backend, undefined);
      const md = markdownReport({ explanation: e });
      assert.match(md, /Overhead parts, GC and event-loop stalls per request: not measured \(no server records/);
      assert.match(md, /The engine's own time per request: not measured/);
      assert.doesNotMatch(md, /NaN/);
    } finally {
      await s.server.close(1000);
    }
  });

  test("whole responses: TTFT and pauses not measured, each with its reason; no time per token without one", async () => {
    const s = await startTestServer({ timing: false, rows: 4 });
    try {
      await s.server.engine.ready;
      const prompts = [4, 12].map((n) => ({ prompt: "whole", maxTokens: n }));
      const list = await new LoadClient({ url: s.url, protocol: protocol("openai"), model: "llama2", prompts, maxTokens: 4, count: 6, stream: false, ignoreEos: true, greedy: true, concurrency: 1 }).run();
      const e = explain({ records: { list, source: "test" } });
      assert.equal(e.reconciliation.t, undefined);
      assert.equal(e.reconciliation.rows[0].nTimesT, null);
      const md = markdownReport({ explanation: e });
      assert.match(md, /TTFT, inter-token gaps and pauses: not measured \(not streamed/);
      assert.match(md, /No time per token is known/);
      assert.match(md, /\| not measured \| not measured \|/);
      assert.doesNotMatch(md, /NaN|\| – \|/);
    } finally {
      await s.server.close(1000);
    }
  });
});

describe("records with the timings the backend reports (ours, timing on, its timelines not read)", () => {
  test("the client's time split into the backend's engine time and what lies outside it; t from the backend", async () => {
    const s = await startTestServer({ rows: 4 });
    try {
      await s.server.engine.ready;
      const prompts = [8, 24, 40].map((n) => ({ prompt: "backend", maxTokens: n }));
      const list: ClientRecord[] = await new LoadClient({ url: s.url, protocol: protocol("openai-chat"), model: "llama2", prompts, maxTokens: 8, count: 9, stream: false, ignoreEos: true, greedy: true, concurrency: 1 }).run();
      const e = explain({ records: { list, source: "test" } });
      assert.deepEqual(e.backend!.sources, ["llm-serving"]);
      for (const row of e.backend!.rows) {
        assert.ok(row.engine > 0 && row.engine < row.e2e, `engine ${row.engine} within e2e ${row.e2e}`);
        assert.ok(Math.abs(row.outside - (row.e2e - row.engine)) < 1e-9);
      }
      assert.match(e.reconciliation.t!.source, /the time per token the backend reported \(llm-serving\)/);
      assert.match(markdownReport({ explanation: e }), /## The backend's own time \(as it reported it\)/);
    } finally {
      await s.server.close(1000);
    }
  });
});

describe("streamed records with a known answer", () => {
  /** Each request: TTFT 60 ms, then one token every B ms; request `slow` pauses 400 ms before token 20. */
  function records(): ClientRecord[] {
    const out: ClientRecord[] = [];
    let clock = 0;
    [16, 32, 64, 128].forEach((n, g) => {
      for (let rep = 0; rep < 4; rep++) {
        const id = `r${g}-${rep}`;
        const sent = clock;
        const tokens: number[] = [];
        let at = sent + 60;
        for (let i = 0; i < n; i++) {
          if (i > 0) at += B + (id === "r2-1" && i === 20 ? 400 : 0);
          tokens.push(at);
        }
        const end = at + 0.5;
        out.push({ id, index: out.length, planned: sent, sent, headers: sent + 1, firstByte: tokens[0], chunks: tokens, tokens, end, status: 200, outputTokens: n, maxTokens: n, promptChars: 10, stream: true, protocol: "openai" });
        clock = end + 5;
      }
    });
    return out;
  }

  test("b, b − t, the first token, the pause and the slow request it explains, within 1 %", () => {
    const e = explain({ records: { list: records(), source: "test" }, stepMs: T });
    const r = e.reconciliation;
    assert.ok(Math.abs(r.fit!.b - B) / B < 0.01, `b ${r.fit!.b}`);
    assert.ok(Math.abs(r.perTokenExcess! - (B - T)) / (B - T) < 0.01, `b − t ${r.perTokenExcess}`);
    assert.equal(r.firstToken!.ms, 60);
    assert.ok(e.pauses?.measured);
    const p = e.pauses as Extract<typeof e.pauses, { measured: true }>;
    assert.equal(p.pauses.length, 1);
    assert.equal(p.pauses[0].position, 20);
    assert.ok(Math.abs(p.pauses[0].size - 400) / 400 < 0.01);
    assert.deepEqual(e.outliers!.map((o) => o.id), ["r2-1"]);
    assert.match(e.outliers![0].cause, /its stream paused 1 time, 400\.0 ms in all \(the largest \+400\.0 ms before token 20\)/);
    assert.match(markdownReport({ explanation: e }), /## Slow requests \(client side\)/);
  });
});

describe("records with only some of their server timelines", () => {
  test("what the missing timelines cannot give is 'not measured', never NaN or a 0", async () => {
    const s = await startTestServer({ rows: 2 });
    try {
      await s.server.engine.ready;
      const prompts = [8, 16, 24].map((n) => ({ prompt: "partial", maxTokens: n }));
      const list = await new LoadClient({ url: s.url, protocol: protocol("tgi"), model: "llama2", prompts, maxTokens: 8, count: 12, stream: true, ignoreEos: true, greedy: true, concurrency: 1 }).run();
      const all = await fetchTimelines(s.url, list.map((r) => r.id));
      // Every request of length 24 loses its timeline, and one of length 8.
      const some = new Map([...all].filter(([id]) => list.find((r) => r.id === id)!.maxTokens !== 24 && id !== list[0].id));
      const e = explain({ records: { list, source: "test", timelines: some } });
      assert.ok(e.server && e.server.joined < e.server.completed);
      const md = markdownReport({ explanation: e });
      assert.doesNotMatch(md, /NaN|undefined/);
      const row24 = md.split("\n").find((l) => l.startsWith("| 24 |") && l.split("|").length > 12)!;
      assert.match(row24, /not measured/, "the overhead parts of a length without timelines");
    } finally {
      await s.server.close(1000);
    }
  });
});

