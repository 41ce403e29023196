/**
 * A histogram on log-spaced bins (latencies span microseconds to seconds),
 * counted as values come and mergeable: a finished request's gaps are
 * binned once and its counts added to each later view, instead of every
 * gap being gathered and binned again on each ask. Bins are fixed (5 per
 * decade), so counts from any source add up; the JSON spans only the bins
 * between the smallest and the largest value.
 */
import { ms } from "./timelineJson.js";

export interface HistogramJson {
  /** Bin edges in ms: bin i holds values in [edges[i], edges[i + 1]). */
  edges: number[];
  counts: number[];
  n: number;
}

const BINS_PER_DECADE = 5;

/** Bin k holds [10^(k/5), 10^((k+1)/5)): the logarithm alone is off by an ulp next to an edge (99999.99999999991 would go above 10^5). */
function binOf(v: number): number {
  const k = Math.floor(Math.log10(v) * BINS_PER_DECADE);
  if (10 ** (k / BINS_PER_DECADE) > v) return k - 1;
  return 10 ** ((k + 1) / BINS_PER_DECADE) <= v ? k + 1 : k;
}

export class LogHistogram {
  private readonly bins = new Map<number, number>();
  private min = Infinity;
  private max = -Infinity;
  n = 0;

  /** Values ≤ 0 and not finite have no place on a log axis: they are left out. */
  add(v: number): void {
    if (!(v > 0) || !Number.isFinite(v)) return;
    this.count(binOf(v), 1);
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  merge(other: LogHistogram): void {
    for (const [bin, c] of other.bins) this.count(bin, c);
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
  }

  toJson(): HistogramJson {
    if (this.n === 0) return { edges: [], counts: [], n: 0 };
    const lo = binOf(this.min);
    const hi = binOf(this.max) + 1;
    const edges = Array.from({ length: hi - lo + 1 }, (_, i) => ms(10 ** ((lo + i) / BINS_PER_DECADE)) ?? 0);
    const counts = new Array<number>(hi - lo).fill(0);
    for (const [bin, c] of this.bins) counts[bin - lo] += c;
    return { edges, counts, n: this.n };
  }

  private count(bin: number, c: number): void {
    this.bins.set(bin, (this.bins.get(bin) ?? 0) + c);
    this.n += c;
  }
}
