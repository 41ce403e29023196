/** The routing policies: least-outstanding, round-robin and affinity, and the reason each gives. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RoutingPolicy, type Candidate } from "../src/engines/router/routingPolicy.js";

interface Engine extends Candidate {
  healthy: boolean;
}

const engines = (...outstanding: number[]): Engine[] => outstanding.map((n, i) => ({ name: String.fromCharCode(97 + i), outstanding: n, healthy: true }));
const healthyOf = (all: Engine[]): Engine[] => all.filter((e) => e.healthy);

describe("RoutingPolicy", () => {
  test("least-outstanding picks the engine with the fewest, ties to the first listed, and says why", () => {
    const p = new RoutingPolicy("least-outstanding");
    const all = engines(3, 1, 2, 1);
    const c = p.choose(all, all, "k");
    assert.equal(c.engine.name, "b");
    assert.equal(c.reason, "least outstanding (1 of a=3, b=1, c=2, d=1)");
    all[1].outstanding = 5;
    assert.equal(p.choose(all, all, "k").engine.name, "d");
    // Only among the healthy ones.
    all[3].healthy = false;
    assert.equal(p.choose(healthyOf(all), all, "k").engine.name, "c");
  });

  test("one engine: it, as the only engine", () => {
    const all = engines(9);
    for (const name of ["least-outstanding", "round-robin", "affinity"] as const) assert.deepEqual(new RoutingPolicy(name).choose(all, all, "k"), { engine: all[0], reason: "the only engine" });
  });

  test("round-robin takes the healthy ones in turn, whatever their load", () => {
    const p = new RoutingPolicy("round-robin");
    const all = engines(0, 10, 5);
    const names = Array.from({ length: 6 }, () => p.choose(all, all, "k").engine.name);
    assert.deepEqual(names, ["a", "b", "c", "a", "b", "c"]);
    all[1].healthy = false;
    const healthy = healthyOf(all);
    const next = Array.from({ length: 4 }, () => p.choose(healthy, all, "k").engine.name);
    assert.ok(!next.includes("b"));
    assert.deepEqual(new Set(next), new Set(["a", "c"]));
    for (let i = 1; i < next.length; i++) assert.notEqual(next[i], next[i - 1], `alternates: ${next.join(",")}`);
    assert.match(p.choose(healthy, all, "k").reason, /^round-robin, turn \d+$/);
  });

  test("affinity: a key always goes to its engine; keys spread over the engines", () => {
    const p = new RoutingPolicy("affinity");
    const all = engines(0, 0, 0, 0);
    const keys = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    const home = new Map(keys.map((k) => [k, p.choose(all, all, k).engine.name]));
    for (const k of keys) {
      all[0].outstanding += 1; // load does not move a key while its engine is healthy
      const c = p.choose(all, all, k);
      assert.equal(c.engine.name, home.get(k), k);
      assert.equal(c.reason, "affinity: the key's engine");
    }
    assert.ok(new Set(home.values()).size >= 3, `40 keys over 4 engines went to ${[...new Set(home.values())].join(",")}`);
  });

  test("affinity: a key whose engine is down goes to the least loaded healthy one; the others keep theirs", () => {
    const p = new RoutingPolicy("affinity");
    const all = engines(4, 1, 2);
    const keys = Array.from({ length: 30 }, (_, i) => `session-${i}`);
    const home = new Map(keys.map((k) => [k, p.choose(all, all, k).engine]));
    const down = home.get(keys[0])!;
    down.healthy = false;
    const healthy = healthyOf(all);
    const leastHealthy = healthy.reduce((a, b) => (b.outstanding < a.outstanding ? b : a));
    let moved = 0;
    for (const k of keys) {
      const c = p.choose(healthy, all, k);
      assert.ok(c.engine.healthy, `${k} went to unhealthy ${c.engine.name}`);
      if (home.get(k) === down) {
        moved++;
        assert.equal(c.engine, leastHealthy, k);
        assert.equal(c.reason, `affinity: the key's engine ${down.name} is down; least outstanding (${leastHealthy.outstanding})`);
      } else {
        assert.equal(c.engine, home.get(k), `${k} kept its engine`);
      }
    }
    assert.ok(moved >= 1 && moved < keys.length);
    // Back up: its keys come home.
    down.healthy = true;
    assert.equal(p.choose(healthyOf(all), all, keys[0]).engine, down);
  });
});
