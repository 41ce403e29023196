/** A request's breakdown when its client left: no span past the end, and the time to free only when there was one. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { HttpPoint, RequestPoint } from "../src/timing/points.js";
import { breakdownRequest } from "../src/timing/requestBreakdown.js";
import { RequestTimeline } from "../src/timing/RequestTimeline.js";
import { RequestTrace } from "../src/timing/RequestTrace.js";

function leftAt(ended: number, engine: Partial<Record<"tokenized" | "queued" | "finished", number>>): RequestTimeline {
  const t = new RequestTimeline("r");
  t.http.set(HttpPoint.received, 100);
  t.http.set(HttpPoint.body_parsed, 101);
  t.http.set(HttpPoint.validated, 102);
  t.http.set(HttpPoint.response_ended, ended);
  t.http.set(HttpPoint.disconnected, ended);
  t.aborted = true;
  t.trace = new RequestTrace();
  for (const [name, at] of Object.entries(engine)) t.trace.marks.set(RequestPoint[name as keyof typeof RequestPoint], at);
  return t;
}

test("a client that left while its prompt was tokenized: spans stop at the disconnect, the time to free is counted", () => {
  const b = breakdownRequest(leftAt(105, { tokenized: 140, queued: 140.1, finished: 140.2 }), undefined, undefined, 200);
  assert.deepEqual(
    b.span.children!.map((c) => [c.name, c.dur]),
    [
      ["receive", 1],
      ["validate", 1],
      ["tokenize", 3],
    ],
  );
  assert.equal(b.durations.untimed, 0);
  assert.equal(b.durations.coverage, 1);
  assert.ok(Math.abs(b.durations.timeToFree! - 35.2) < 1e-9);
});

test("a client that left after the engine was done: no time to free (nothing was held for it)", () => {
  const b = breakdownRequest(leftAt(150, { tokenized: 103, queued: 103.5, finished: 120 }), undefined, undefined, 200);
  assert.equal(b.durations.timeToFree, null);
});
