/**
 * bench:gateway's short requests: the added time per request apart from its
 * tokens'. Short requests at c = 1, the sides (direct to llama-server, the
 * reference relays with --floor, our gateway) taking turns request by
 * request, the order turning each time. A set is sent within tens of
 * milliseconds, so the host's slow periods, which last seconds, hit every
 * side alike; and a short request's e2e carries little decode noise. (A
 * level's pairs of 128-token requests are seconds apart, each side's e2e
 * moving by several milliseconds with llama-server's decode: their Δe2e p50
 * cannot resolve 1 ms.)
 */
import { fixed, intervalVerdict, medianInterval, quantile } from "./stats.js";

/** The ways a short request goes, beside direct: through each reference relay (--floor) and through our gateway. */
export const HOPS = ["pipe", "relay", "gateway"] as const;
export type Hop = (typeof HOPS)[number];
export type Side = "direct" | Hop;
const HOP_LABELS: Record<Hop, string> = { pipe: "a TCP pipe (referenceRelay.ts: the floor of any relay)", relay: "a bare node:http relay (referenceRelay.ts)", gateway: "our gateway" };

export interface ShortRun {
  /** Per hop, each complete set's Δe2e against the direct request beside it. */
  deltas: Partial<Record<Hop, number[]>>;
  direct: number[];
  failed: number;
}

/** `n` sets over `sides` (direct among them), round `i`'s; `send` makes one request and says how it went. */
export async function shortRequests(sides: readonly Side[], send: (side: Side, set: number) => Promise<{ ok: boolean; e2e: number }>, n: number, i: number): Promise<ShortRun> {
  const out: ShortRun = { deltas: {}, direct: [], failed: 0 };
  for (let j = 0; j < n; j++) {
    const e2e: Partial<Record<Side, number>> = {};
    let complete = true;
    for (let k = 0; k < sides.length; k++) {
      const side = sides[(i + j + k) % sides.length];
      const r = await send(side, j);
      e2e[side] = r.e2e;
      if (!r.ok) {
        out.failed++;
        complete = false;
      }
    }
    if (!complete) continue;
    const direct = e2e.direct!;
    out.direct.push(direct);
    for (const hop of HOPS) if (e2e[hop] !== undefined) (out.deltas[hop] ??= []).push(e2e[hop]! - direct);
  }
  return out;
}

export function printShort(tokens: number, runs: readonly ShortRun[]): void {
  console.log(`### added per request, short requests (c = 1, ${tokens} tokens, the sides taking turns request by request)\n`);
  console.log(`| Δe2e against direct, via | per round (p50) | all sets (p50) | its 95 % interval | target | |`);
  console.log(`|---|---|---:|---:|---:|---|`);
  for (const hop of HOPS) {
    if (!runs.some((r) => r.deltas[hop])) continue;
    const all = runs.flatMap((r) => r.deltas[hop] ?? []);
    const ci = medianInterval(all);
    const said = hop === "gateway" ? intervalVerdict(ci, "≤", 1) : undefined;
    const verdict = said === undefined ? "" : said === "holds" ? "met" : said === "missed" ? "MISSED" : "undecided";
    console.log(`| ${HOP_LABELS[hop]}, ${all.length} sets (ms) | ${runs.map((r) => fixed(quantile(r.deltas[hop] ?? [], 0.5))).join(" ")} | ${fixed(quantile(all, 0.5))} | ${fixed(ci.low)} … ${fixed(ci.high)} | ${hop === "gateway" ? "≤ 1" : ""} | ${verdict} |`);
  }
  console.log(`| direct, e2e p50 (ms) | ${runs.map((r) => fixed(quantile(r.direct, 0.5))).join(" ")} | ${fixed(quantile(runs.flatMap((r) => r.direct), 0.5))} | | | |`);
  console.log(`| failed requests | ${runs.map((r) => r.failed).join(" ")} | ${runs.reduce((a, r) => a + r.failed, 0)} | | 0 | |\n`);
}
