/**
 * `bench:vs-llama-server --pairs N`: the single-stream targets from N tight
 * pairs instead of a handful of rounds. Each pair asks both servers the same
 * thing one right after the other, the order flipping each time, and its
 * ratio is ours / llama-server's: a pair spans a second or two, while this
 * host's slow periods last tens of seconds, so most pairs see both servers at
 * the same speed. The median ratio of all pairs comes with its
 * distribution-free 95 % interval, and a verdict only when the interval lies
 * on one side of the target.
 */
import { intervalVerdict, medianInterval, quantile } from "./stats.js";

/** One server, as the pairs ask it. */
export interface PairSide {
  /** One streamed request alone: its tokens/s (first send to last byte) and its inter-token gap p50, ms. */
  stream(): Promise<{ tokensPerS: number; gap: number }>;
  /** Two whole responses, a short and a long one: their e2e difference per token, ms. */
  slope(): Promise<number>;
}

export interface PairRatios {
  c1: number[];
  gap: number[];
  slope: number[];
}

/** Runs n pairs of each kind; `say` gets a line every tenth pair. */
export async function runPairs(ours: PairSide, theirs: PairSide, n: number, say: (line: string) => void): Promise<PairRatios> {
  const out: PairRatios = { c1: [], gap: [], slope: [] };
  for (let i = 0; i < n; i++) {
    // Both asked, ours first in even pairs and second in odd ones; the answers come back as [ours, theirs].
    const both = async <T>(ask: (side: PairSide) => Promise<T>): Promise<[T, T]> => {
      if (i % 2 === 0) return [await ask(ours), await ask(theirs)];
      const t = await ask(theirs);
      return [await ask(ours), t];
    };
    const [a, b] = await both((side) => side.stream());
    out.c1.push(a.tokensPerS / b.tokensPerS);
    out.gap.push(a.gap / b.gap);
    const [s, t] = await both((side) => side.slope());
    out.slope.push(s / t);
    if ((i + 1) % 10 === 0) say(`pair ${i + 1}/${n}: medians so far c1 ${quantile(out.c1, 0.5).toFixed(3)}, gap ${quantile(out.gap, 0.5).toFixed(3)}, slope ${quantile(out.slope, 0.5).toFixed(3)}`);
  }
  return out;
}

/** Issue 10's targets: c = 1 throughput ≥ 1.00 and e2e slope ≤ 1.00; the gap has none (shown for where the time goes). */
const TARGETS: ReadonlyArray<{ key: keyof PairRatios; label: string; op?: "≥" | "≤" }> = [
  { key: "c1", label: "c = 1 streamed, tokens/s", op: "≥" },
  { key: "gap", label: "c = 1 inter-token gap p50" },
  { key: "slope", label: "e2e slope, whole responses (the short and the long one)", op: "≤" },
];

export function printPairs(preset: string, r: PairRatios): void {
  console.log(`\n### ${preset}: ${r.c1.length} tight pairs (ours / llama-server, each pair seconds apart, the order flipping)\n`);
  console.log(`| ratio | median | 95 % interval | target | verdict |`);
  console.log(`|---|---:|---|---:|---|`);
  for (const t of TARGETS) {
    const values = r[t.key];
    const ci = medianInterval(values);
    const said = t.op ? intervalVerdict(ci, t.op, 1) : undefined;
    const verdict = said === undefined ? "" : said === "too few" ? "too few pairs" : said === "missed" ? "MISSED" : said;
    console.log(`| ${t.label} | ${quantile(values, 0.5).toFixed(3)} | ${ci.low.toFixed(3)} … ${ci.high.toFixed(3)} | ${t.op ? `${t.op} 1.00` : ""} | ${verdict} |`);
  }
}
