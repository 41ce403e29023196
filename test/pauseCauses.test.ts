import assert from "node:assert/strict";
import { test } from "node:test";
import type { ClientRecord } from "../src/bench/LoadClient.js";
import type { ServerTimeline, StepJson } from "../src/bench/serverRecords.js";
import { causesClause, pauseCauses } from "../src/analysis/pauseCauses.js";
import { analyzePauses, type PauseAnalysis } from "../src/analysis/pauses.js";
import { largestPausesTable } from "../src/analysis/pauseReport.js";

const GAP = 10;

/** A streamed client record: 40 tokens GAP ms apart, with some gaps made longer. */
function record(id: string, index: number, longer: Record<number, number>): ClientRecord {
  const tokens = [50];
  for (let i = 1; i < 40; i++) tokens.push(tokens[i - 1] + (longer[i] ?? GAP));
  return {
    id,
    index,
    planned: 0,
    sent: 0,
    headers: 1,
    firstByte: tokens[0],
    chunks: tokens,
    tokens,
    end: tokens[39] + 0.2,
    status: 200,
    outputTokens: 40,
    maxTokens: 40,
    promptChars: 40,
    stream: true,
    protocol: "llm-serving",
  };
}

/**
 * The server's record of the same request: token i made by step i + 1 and
 * written `lead` ms before it arrived, except where `written` says when; the
 * steps `prompt` lists also carried another request's prompt; `events` as given.
 */
function timeline(r: ClientRecord, o: { prompt?: number[]; written?: Record<number, number>; delivered?: Record<number, number>; events?: ServerTimeline["events"]; lead?: number }): ServerTimeline {
  const lead = o.lead ?? 1;
  const tokens = r.tokens.map((at, i) => {
    const written = o.written?.[i] ?? at - lead;
    return { step: i + 1, sampled: written - 0.3, detokenized: written - 0.2, delivered: o.delivered?.[i] ?? written - 0.1, written };
  });
  const steps: StepJson[] = tokens.map((t, i) => {
    const start = i === 0 ? 0 : tokens[i - 1].sampled!;
    const requests: StepJson["requests"] = [{ id: r.id, kind: i === 0 ? "prefill" : "decode", tokens: 1, position: i }];
    if (o.prompt?.includes(t.step)) requests.push({ id: "newcomer", kind: "prefill", tokens: 300, position: 0 });
    return { id: t.step, start, dur: t.sampled! - start, gap: 0, rows: requests.length, tokens: 1, decodes: 1, requests, spans: {}, gc_ms: 0, stall_ms: 0 };
  });
  return { id: r.id, tokens, steps, events: o.events ?? [] } as unknown as ServerTimeline;
}

function analysis(records: ClientRecord[]): PauseAnalysis {
  const a = analyzePauses(records);
  assert.ok(a.measured);
  return a;
}

test("each pause is named by what the steps that made its late token carried, or by where else the time went", () => {
  // Token 10 comes on a step with a newcomer's prompt; token 20 after a 25 ms GC; token 30 was written on time
  // but arrived late; token 35 on a long step with nothing in it. Another request without a server record pauses once.
  const a = record("a", 0, { 10: 45, 20: 40, 30: 35, 35: 30 });
  const b = record("b", 1, { 5: 50 });
  const pa = analysis([a, b]);
  assert.equal(pa.pauses.length, 5, "the five long gaps are pauses");
  const gcStart = a.tokens[19] + 2;
  const onTime = a.tokens[29] - 1 + GAP; // token 30 written GAP ms after token 29 was
  const t = timeline(a, { prompt: [11], written: { 30: onTime }, events: [{ type: "gc", kind: "major", start: gcStart, dur: 25, step: 21 }] });
  const c = pauseCauses(pa, new Map([["a", t]]));
  const byPosition = new Map(c.pauses.filter((p) => p.pause.id === "a").map((p) => [p.pause.position, p.cause]));
  assert.deepEqual(Object.fromEntries(byPosition), { 10: "prompt", 20: "gc", 30: "after write", 35: "long step" });
  assert.equal(c.pauses.find((p) => p.pause.id === "b")!.cause, "no record");
  assert.equal(c.byCause.get("prompt")!.count, 1);
  assert.equal(c.byCause.get("prompt")!.ms, 35, "a pause's time is its size: gap − typical");
  assert.equal(c.totalMs, 35 + 30 + 25 + 20 + 40);
  // The clause lists the causes by their share of the pause time, largest first.
  const clause = causesClause(c);
  assert.match(clause, /^on the server's records, 1 pause \(/);
  const order = ["had no server record", "another request's prompt", "GC pause", "after the server", "longer engine step"].map((s) => clause.indexOf(s));
  assert.ok(order.every((x) => x >= 0), clause);
  assert.deepEqual(order, [...order].sort((x, y) => x - y), `largest first: ${clause}`);
});

test("a GC too small to account for a quarter of a pause does not take it from the prompt step it fell in", () => {
  const a = record("a", 0, { 10: 50 });
  const pa = analysis([a]);
  const t = timeline(a, { prompt: [11], events: [{ type: "gc", kind: "minor", start: a.tokens[9] + 1, dur: 0.5, step: 11 }] });
  assert.equal(pauseCauses(pa, new Map([["a", t]])).pauses[0].cause, "prompt");
  // With no prompt in that step, the small GC is still not the cause: a longer step is.
  const plain = timeline(a, { events: [{ type: "gc", kind: "minor", start: a.tokens[9] + 1, dur: 0.5, step: 11 }] });
  assert.equal(pauseCauses(pa, new Map([["a", plain]])).pauses[0].cause, "long step");
});

test("a relayed request's late token came late from its remote engine, unless it arrived on time and a GC or a stall here held it", () => {
  const a = record("a", 0, { 12: 30 });
  const pa = analysis([a]);
  const relayed = { ...timeline(a, {}), hop: { engine: "gpu-1" } } as unknown as ServerTimeline;
  assert.equal(pauseCauses(pa, new Map([["a", relayed]])).pauses[0].cause, "backend");
  // Found by a new user: a gateway's own stall overlapping a token that came 569 ms late from its backend took the blame.
  const stallHere = { ...timeline(a, { events: [{ type: "stall", start: a.tokens[11], dur: 15, step: null }] }), hop: { engine: "gpu-1" } } as unknown as ServerTimeline;
  assert.equal(pauseCauses(pa, new Map([["a", stallHere]])).pauses[0].cause, "backend", "it arrived late: our stall did not delay it");
  // The token arrived on time and was held here by a GC: ours.
  const onTime = a.tokens[11] - 1 + GAP - 0.1;
  const heldByGc = { ...timeline(a, { delivered: { 12: onTime }, events: [{ type: "gc", kind: "major", start: onTime, dur: 19, step: null }] }), hop: { engine: "gpu-1" } } as unknown as ServerTimeline;
  assert.equal(pauseCauses(pa, new Map([["a", heldByGc]])).pauses[0].cause, "gc");
});

test("a GC is named as such though the stall it caused is as long: a stall's time includes its GC", () => {
  const a = record("a", 0, { 12: 40 });
  const pa = analysis([a]);
  const at = a.tokens[11];
  const t = timeline(a, {
    events: [
      { type: "gc", kind: "major", start: at, dur: 25, step: 13 },
      { type: "stall", start: at, dur: 26, step: 13 },
    ],
  });
  assert.equal(pauseCauses(pa, new Map([["a", t]])).pauses[0].cause, "gc");
});

test("a stall on the server's event loop is named; no pauses make no clause", () => {
  const a = record("a", 0, { 12: 30 });
  const pa = analysis([a]);
  const t = timeline(a, { events: [{ type: "stall", start: a.tokens[11] - 1 + 2, dur: 18, step: 13 }] });
  assert.equal(pauseCauses(pa, new Map([["a", t]])).pauses[0].cause, "stall");
  const steady = analysis([record("s", 0, {})]);
  assert.equal(causesClause(pauseCauses(steady, new Map())), "");
});

test("the largest pauses are listed one by one, with the token they held up and their cause", () => {
  // Found by a new user: only per-request totals were shown, so a pause could not be looked up.
  const a = record("a", 0, { 10: 45, 20: 40, 30: 35, 35: 30 });
  const pa = analysis([a]);
  const c = pauseCauses(pa, new Map([["a", timeline(a, { prompt: [11] })]]));
  const t = largestPausesTable(pa, new Map(c.pauses.map((x) => [x.pause, x.cause])), 3);
  assert.deepEqual(t.head, ["request", "token", "gap ms", "pause ms", "cause"]);
  assert.deepEqual(t.rows, [
    ["a", "10", "45", "35", "prompt"],
    ["a", "20", "40", "30", "long step"],
    ["a", "30", "35", "25", "long step"],
  ]);
  assert.deepEqual(largestPausesTable(pa, undefined, 1).rows, [["a", "10", "45", "35"]]);
});
