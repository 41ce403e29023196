import assert from "node:assert/strict";
import { test } from "node:test";
import { LOOP_WINDOW_MS, Metrics, type LoopWindow } from "../src/timing/Metrics.js";
import { now } from "../src/timing/clock.js";

/** The event-loop lines of the exposition. */
async function loopLines(m: Metrics): Promise<string> {
  return (await m.render())
    .split("\n")
    .filter((l) => /^llm_serving_event_loop_(delay_seconds|utilization) /.test(l) || /^llm_serving_event_loop_delay_seconds\{/.test(l))
    .join("\n");
}

test("the event-loop gauges show the last whole window, the same to every scraper: a scrape no longer takes (and resets) the window", async () => {
  // Found by a new user: two scrapes in a row read max 53.8 ms, then 5.1 ms — a second scraper stole the first one's window.
  let taken = 0;
  const windows: LoopWindow[] = [
    { delay: { p50: 1, p99: 40, max: 53.8, mean: 2 }, utilization: 0.75 },
    { delay: { p50: 1, p99: 3, max: 5.5, mean: 1.5 }, utilization: 0.25 },
  ];
  const m = new Metrics(() => undefined, () => windows[taken++], () => "m");
  const start = now();
  assert.match(await loopLines(m), /stat="max"\} 0$/m, "0 until the first window ends");
  m.rollLoopWindow(start + LOOP_WINDOW_MS / 2);
  assert.equal(taken, 0, "a window ends only once it is whole");
  m.rollLoopWindow(start + LOOP_WINDOW_MS + 1);
  assert.equal(taken, 1);
  const first = await loopLines(m);
  assert.equal(await loopLines(m), first, "a second scrape reads the same window");
  assert.match(first, /stat="max"\} 0\.0538$/m);
  assert.match(first, /^llm_serving_event_loop_utilization 0\.75$/m);
  assert.equal(taken, 1, "scraping takes nothing from the monitor");
  m.rollLoopWindow(start + 2 * LOOP_WINDOW_MS + 2);
  assert.match(await loopLines(m), /stat="max"\} 0\.0055$/m);
});

test("the event loop's busy time is a counter: it only grows, and its rate over any window is the utilisation", async () => {
  const m = new Metrics(() => undefined, () => ({ delay: { p50: 0, p99: 0, max: 0, mean: 0 }, utilization: 0 }), () => "m");
  const busy = async (): Promise<number> => Number(/^llm_serving_event_loop_busy_seconds_total (\S+)$/m.exec(await m.render())![1]);
  const a = await busy();
  const until = performance.now() + 30;
  while (performance.now() < until); // the loop is busy for 30 ms
  const b = await busy();
  assert.ok(b - a >= 0.025, `${a} → ${b}`);
  assert.ok((await busy()) >= b);
});
