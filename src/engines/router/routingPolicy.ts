/**
 * Which engine takes a request. least-outstanding (the default): the fewest
 * of our requests in flight, ties to the one listed first; round-robin: in
 * turn; affinity: the same session key (the x-session-id header, else the
 * prompt's first characters) goes to the same engine while it is healthy, so that its
 * prefix cache is reused. Each choice says why, for the request's timeline.
 */
import { createHash } from "node:crypto";

export const ROUTING_POLICIES = ["least-outstanding", "round-robin", "affinity"] as const;

export type RoutingPolicyName = (typeof ROUTING_POLICIES)[number];

export interface Candidate {
  name: string;
  outstanding: number;
}

export interface Choice<T> {
  engine: T;
  reason: string;
}

/** Characters of a prompt that make its affinity key when no session key is given. */
export const AFFINITY_PREFIX_CHARS = 256;

export class RoutingPolicy {
  private turn = 0;

  constructor(readonly name: RoutingPolicyName) {}

  /** `healthy`: the engines that can take it now, in configured order (at least one). `all`: every engine, for affinity's stable hashing. */
  choose<T extends Candidate>(healthy: readonly T[], all: readonly T[], key: string): Choice<T> {
    if (healthy.length === 1 && all.length === 1) return { engine: healthy[0], reason: "the only engine" };
    if (this.name === "round-robin") {
      const engine = healthy[this.turn++ % healthy.length];
      return { engine, reason: `round-robin, turn ${this.turn}` };
    }
    if (this.name === "affinity") {
      // Hashed over every engine, so that one going down moves only its own keys.
      const home = all[hash(key) % all.length];
      if (healthy.includes(home)) return { engine: home, reason: `affinity: the key's engine` };
      const engine = leastOutstanding(healthy);
      return { engine, reason: `affinity: the key's engine ${home.name} is down; least outstanding (${engine.outstanding})` };
    }
    const engine = leastOutstanding(healthy);
    return { engine, reason: `least outstanding (${engine.outstanding} of ${healthy.map((e) => `${e.name}=${e.outstanding}`).join(", ")})` };
  }
}

function leastOutstanding<T extends Candidate>(engines: readonly T[]): T {
  let best = engines[0];
  for (const e of engines) if (e.outstanding < best.outstanding) best = e;
  return best;
}

function hash(key: string): number {
  return createHash("sha1").update(key).digest().readUInt32BE(0);
}
