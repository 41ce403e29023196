import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PerformanceObserver } from "node:perf_hooks";
import { now } from "../src/timing/clock.js";
import type { SpanJson } from "../src/timing/recordJson.js";
import { HTTP_POINTS, REQUEST_DURATIONS, REQUEST_POINTS, REQUEST_SPANS, STEP_SPANS } from "../src/timing/points.js";
import { forceGc } from "./helpers/forceGc.js";
import { jsonOf, postJson, sharedTestServer } from "./helpers/serverHarness.js";

const shared = sharedTestServer();
const url = (path: string) => shared.get().url + path;

const timeline = (id: string) => jsonOf(fetch(url(`/debug/requests/${id}`)));

/** Streams a TGI request, calling `onChunk(n)` after the n-th chunk arrives; returns the body. */
async function stream(id: string, body: object, onChunk: (n: number) => void = () => undefined): Promise<string> {
  const res = await postJson(url("/generate_stream"), body, { "x-request-id": id });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let n = 0;
  for (let c = await reader.read(); !c.done; c = await reader.read()) {
    text += decoder.decode(c.value, { stream: true });
    onChunk(++n);
  }
  return text;
}

/** Waits until the request's response has ended on the server (its timeline is complete). */
async function completeTimeline(id: string) {
  for (let i = 0; i < 200; i++) {
    const t = await timeline(id);
    if (t.complete) return t;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail(`timeline ${id} never completed`);
}

const CHAIN = ["received", "body_parsed", "validated", "tokenized", "queued", "admitted", "prefill_start", "prefill_end", "first_token", "last_token", "finished", "response_ended"];

function checkSums(span: SpanJson, path = span.name): void {
  if (!span.children) return;
  const sum = span.children.reduce((a, c) => a + c.dur, 0);
  assert.ok(Math.abs(sum - span.dur) <= 0.01 * span.dur + 0.002, `${path}: children add up to ${sum} ms, the span lasts ${span.dur} ms`);
  for (const c of span.children) checkSums(c, `${path}/${c.name}${c.step ?? ""}`);
}

describe("time points on real requests", () => {
  test("marks are monotonic; nested spans add up to their parent within 1 %; coverage ≥ 99.5 %", async () => {
    const requests = [
      postJson(url("/generate"), { inputs: "one at a time", parameters: { max_new_tokens: 12 } }, { "x-request-id": "mono-1" }),
      stream("mono-2", { inputs: "streamed beside it", parameters: { max_new_tokens: 20 } }),
      postJson(url("/v1/chat/completions"), { model: "llama2", messages: [{ role: "user", content: "chat too" }], max_tokens: 8 }, { "x-request-id": "mono-3" }),
      postJson(url("/models/llama2/generate"), { inputs: "a long prompt ".repeat(40), parameters: { max_new_tokens: 4 } }, { "x-request-id": "mono-4" }),
    ];
    await Promise.all(requests.map(async (r) => (r instanceof Promise ? (await r, undefined) : undefined)));
    for (const id of ["mono-1", "mono-2", "mono-3", "mono-4"]) {
      const t = await completeTimeline(id);
      const chain = CHAIN.map((name) => t.points[name]);
      assert.ok(chain.every((v: number | null) => v !== null), `${id}: every point was taken: ${JSON.stringify(t.points)}`);
      for (let i = 1; i < chain.length; i++) assert.ok(chain[i] >= chain[i - 1], `${id}: ${CHAIN[i - 1]} ≤ ${CHAIN[i]}`);
      let previous = -Infinity;
      for (const tok of t.tokens) {
        assert.ok(tok.sampled <= tok.detokenized && tok.detokenized <= tok.delivered, `${id}: sampled ≤ detokenized ≤ delivered`);
        assert.ok(tok.delivered >= previous, `${id}: tokens are delivered in order`);
        if (tok.written !== null) assert.ok(tok.written >= tok.delivered, `${id}: written after delivered`);
        previous = tok.delivered;
      }
      for (const step of t.steps) {
        const spans = Object.values(step.spans) as number[];
        assert.ok(spans.every((d) => d >= 0), `${id}: step ${step.id} spans are not negative`);
      }
      checkSums(t.span);
      assert.ok(t.durations.coverage >= 0.995, `${id}: coverage ${t.durations.coverage}`);
      assert.ok(Math.abs(t.durations.untimed) <= 0.005 * t.durations.e2e, `${id}: untimed ${t.durations.untimed} ms`);
      assert.equal(t.durations.e2e, t.span.dur);
      assert.ok(t.steps.length >= t.tokens.length, `${id}: every token's step is listed`);
    }
    const streamed = await timeline("mono-2");
    assert.ok(streamed.tokens.every((tok: { written: number | null }) => tok.written !== null), "a streamed token's write time is recorded");
    assert.equal(streamed.durations.itl.written.n, 19);
  });

  test("the timeline uses exactly the names docs/timing.md defines", async () => {
    await postJson(url("/generate"), { inputs: "names", parameters: { max_new_tokens: 3 } }, { "x-request-id": "names" });
    const t = await completeTimeline("names");
    assert.deepEqual(Object.keys(t.durations), [...REQUEST_DURATIONS]);
    assert.deepEqual(Object.keys(t.points).sort(), [...HTTP_POINTS, ...REQUEST_POINTS].sort());
    for (const c of t.span.children) assert.ok((REQUEST_SPANS as readonly string[]).includes(c.name), c.name);
    for (const step of t.steps) assert.deepEqual(Object.keys(step.spans), STEP_SPANS.map((s) => s.name));
  });

  test("TTFT and TPOT follow their definitions", async () => {
    await postJson(url("/generate"), { inputs: "formulas", parameters: { max_new_tokens: 10 } }, { "x-request-id": "formula" });
    const t = await completeTimeline("formula");
    const d = t.durations;
    assert.ok(Math.abs(d.ttft - (t.points.first_token - t.points.received)) < 0.002);
    assert.ok(Math.abs(d.tpot - (d.e2e - d.ttft) / 9) < 0.002);
    // Decode ends where respond begins, at the last step's delivery: the last token reaches the stream a moment later, inside respond.
    const respond = (t.span.children as Array<{ name: string; start: number }>).find((c) => c.name === "respond");
    assert.ok(respond && respond.start <= t.points.last_token, "the last step is delivered before its token reaches the stream");
    assert.ok(Math.abs(d.decode - (respond.start - t.points.first_token)) < 0.002);
    // One token: it reaches the stream after respond began; its decode is 0, never negative.
    await postJson(url("/generate"), { inputs: "formulas", parameters: { max_new_tokens: 1 } }, { "x-request-id": "formula-1" });
    assert.equal((await completeTimeline("formula-1")).durations.decode, 0);
  });
});

describe("runtime events are charged to the requests and steps they hit", () => {
  test("a forced GC during a streaming request", async () => {
    const gcs: Array<{ start: number; duration: number }> = [];
    const observer = new PerformanceObserver((list) => gcs.push(...list.getEntries().map((e) => ({ start: e.startTime, duration: e.duration }))));
    observer.observe({ entryTypes: ["gc"] });
    let calledAt = NaN;
    await stream("with-gc", { inputs: "collect me", parameters: { max_new_tokens: 40 } }, (n) => {
      if (n === 10) {
        calledAt = now();
        forceGc();
      }
    });
    await new Promise((r) => setTimeout(r, 20)); // GC entries are delivered asynchronously
    observer.disconnect();
    const forced = gcs.filter((g) => g.start >= calledAt).sort((a, b) => b.duration - a.duration)[0];
    assert.ok(forced, "the forced GC was observed");
    const t = await completeTimeline("with-gc");
    assert.ok(t.span.gc_ms >= 0.9 * forced.duration, `request charged ${t.span.gc_ms} ms of a ${forced.duration} ms GC`);
    // The step it fell in: the one whose span holds the GC's start (the timeline's times are relative to its origin).
    const gcStart = forced.start - t.origin;
    const step = t.steps.find((s: { start: number; dur: number }) => s.start <= gcStart && gcStart <= s.start + s.dur);
    assert.ok(step, "a step of the request holds the GC");
    assert.ok(step.gc_ms >= 0.9 * forced.duration && step.gc_ms <= 1.1 * forced.duration + 0.5, `step ${step.id} charged ${step.gc_ms} ms of ${forced.duration} ms`);
  });

  test("a 50 ms event-loop block during a streaming request", async () => {
    let blockStart = NaN;
    let blocked = NaN;
    await stream("with-block", { inputs: "block me", parameters: { max_new_tokens: 40 } }, (n) => {
      if (n === 10) {
        blockStart = now();
        while (now() - blockStart < 50);
        blocked = now() - blockStart;
      }
    });
    const t = await completeTimeline("with-block");
    assert.ok(t.span.stall_ms >= 0.9 * blocked, `request charged ${t.span.stall_ms} ms of a ${blocked} ms block`);
    const at = blockStart - t.origin;
    const step = t.steps.find((s: { start: number; dur: number }) => s.start <= at + 1 && at <= s.start + s.dur);
    assert.ok(step, "a step of the request holds the block");
    assert.ok(step.stall_ms >= 0.9 * blocked && step.stall_ms <= 1.1 * blocked, `step ${step.id} charged ${step.stall_ms} ms of ${blocked} ms`);
  });
});
