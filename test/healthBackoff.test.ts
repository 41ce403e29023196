/**
 * When a backend that is out gets its next health check (HealthBackoff),
 * on given times: a backend merely down is asked again within the down cap;
 * one that flaps backs off further each time and keeps that backoff while it
 * flaps, and loses it once it has stopped flapping.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import fc from "fast-check";
import { DOWN_CHECK_MAX_MS, FLAP_WINDOW_MS, HealthBackoff, MAX_BACKOFF_MS } from "../src/engines/remote/HealthBackoff.js";
import { RemoteBackend } from "../src/engines/remote/RemoteBackend.js";

const INTERVAL = 2000;

describe("HealthBackoff", () => {
  test("a backend that is down (never up, or down long): its checks double up to the down cap and stay there", () => {
    const b = new HealthBackoff(INTERVAL);
    const waits = [0, 1, 2, 3, 4].map((i) => b.failed(i * 10_000));
    assert.deepEqual(waits, [4000, DOWN_CHECK_MAX_MS, DOWN_CHECK_MAX_MS, DOWN_CHECK_MAX_MS, DOWN_CHECK_MAX_MS]);
  });

  test("taken out by a request once: its first check after the healthy interval; a passing check resets it", () => {
    const b = new HealthBackoff(INTERVAL);
    assert.equal(b.takenOut(0), INTERVAL);
    assert.equal(b.failed(INTERVAL), 4000);
    assert.equal(b.passed(), INTERVAL);
  });

  test("flapping: each time it is taken out within the window the backoff doubles, and failed checks keep it (above the down cap) while it flaps", () => {
    const b = new HealthBackoff(INTERVAL);
    let t = 0;
    const outs: number[] = [];
    for (let i = 0; i < 6; i++) {
      outs.push(b.takenOut(t));
      b.passed();
      t += 5000;
    }
    assert.deepEqual(outs, [2000, 4000, 8000, 16000, MAX_BACKOFF_MS, MAX_BACKOFF_MS]);
    // Out again, and its /health now fails too: still flapping, so the checks stay at 30 s, not the 5 s of a merely down backend.
    assert.equal(b.takenOut(t), MAX_BACKOFF_MS);
    assert.equal(b.failed(t + MAX_BACKOFF_MS), MAX_BACKOFF_MS);
    // A minute after it was last taken out it no longer flaps: down, it is asked within the down cap.
    assert.equal(b.failed(t + FLAP_WINDOW_MS), DOWN_CHECK_MAX_MS);
    // And taken out long after, it starts again from the healthy interval.
    b.passed();
    assert.equal(b.takenOut(t + 10 * FLAP_WINDOW_MS), INTERVAL);
  });

  test("a shorter down cap (tests set one) applies to the merely down", () => {
    const b = new HealthBackoff(50, 150);
    assert.deepEqual([b.failed(0), b.failed(1), b.failed(2)], [100, 150, 150]);
  });

  test("property: any history — every wait is between the interval and 30 s, and a backend not taken out within the window is asked within the down cap", () => {
    const event = fc.record({ kind: fc.constantFrom("out", "passed", "failed"), gapMs: fc.integer({ min: 0, max: 3 * FLAP_WINDOW_MS }) });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 40 }), (events) => {
        const b = new HealthBackoff(INTERVAL);
        let t = 0;
        let lastOut = -Infinity;
        for (const e of events) {
          t += e.gapMs;
          const wait = e.kind === "out" ? b.takenOut(t) : e.kind === "passed" ? b.passed() : b.failed(t);
          if (e.kind === "out") lastOut = t;
          assert.ok(wait >= INTERVAL && wait <= MAX_BACKOFF_MS, `${wait}`);
          if (e.kind === "failed" && t - lastOut >= FLAP_WINDOW_MS) assert.ok(wait <= DOWN_CHECK_MAX_MS, `down, not flapping, yet ${wait}`);
        }
      }),
    );
  });
});

describe("RemoteBackend's health checks", () => {
  test("taken out by a request while a passing check reads its load: the flap backoff holds (a review found the check's interval overwrote it)", async () => {
    // /health passes at once; /slots answers after 150 ms, the window in which a request fails.
    let slotsPending = false;
    const healthAt: number[] = [];
    const server = createServer((req, res) => {
      if (req.url === "/health") {
        healthAt.push(performance.now());
        return void res.end("{}");
      }
      slotsPending = true;
      setTimeout(() => {
        slotsPending = false;
        res.end("[]");
      }, 150);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const b = new RemoteBackend({ name: "f", url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, kind: "llama.cpp", maxOutstanding: 4, healthIntervalMs: 100, firstByteTimeoutMs: 1000, idleTimeoutMs: 1000 });
    try {
      await b.start();
      const waits: number[] = [];
      for (let i = 0; i < 3; i++) {
        for (let k = 0; k < 300 && !(b.healthy && slotsPending); k++) await sleep(5);
        assert.ok(b.healthy && slotsPending, "healthy and reading its load");
        const [n, at] = [healthAt.length, performance.now()];
        b.markDown("a request failed");
        for (let k = 0; k < 300 && healthAt.length === n; k++) await sleep(5);
        waits.push(healthAt[n] - at);
      }
      // Taken out again within the flap window each time: 100, 200, 400 ms to the next check (not the 100 ms interval once the load is read).
      assert.ok(waits[1] >= 180 && waits[2] >= 360, `waits ${waits.map((w) => w.toFixed(0)).join(", ")} ms`);
    } finally {
      b.stop();
      server.close();
      server.closeAllConnections();
    }
  });
});

