/** Summary statistics for benchmark reports. */

/** The q-quantile (0…1) by linear interpolation between order statistics; NaN for no values. */
export function quantile(values: readonly number[], q: number): number {
  const v = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const pos = (v.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return v[lo] + (v[hi] - v[lo]) * (pos - lo);
}

/** A figure for a report: fixed digits, "–" where there is none. */
export function fixed(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "–";
}

/**
 * What an interval says of a target the figure must be `op` (at least, or at
 * most): it holds when the whole interval is on that side, is missed when the
 * whole interval is on the other, and is undecided across it; too few values
 * for an interval (NaN bounds) decide nothing.
 */
export function intervalVerdict(ci: { low: number; high: number }, op: "≥" | "≤", target: number): "holds" | "missed" | "undecided" | "too few" {
  if (Number.isNaN(ci.low) || Number.isNaN(ci.high)) return "too few";
  if (op === "≥" ? ci.low >= target : ci.high <= target) return "holds";
  if (op === "≥" ? ci.high < target : ci.low > target) return "missed";
  return "undecided";
}

/**
 * A distribution-free confidence interval for the median: the order
 * statistics v[j] and v[n−1−j] (0-based), with j the largest rank such
 * that the binomial(n, ½) chance of at most j values below the median is
 * at most (1 − level)/2. It assumes only independent rounds, which paired
 * interleaved rounds on a noisy machine are closer to than to normality.
 * At n ≤ 8 it is [min, max] (its coverage then 1 − 2 · 0.5^n); NaN bounds
 * when n is too small for the level (n < 6 at 95 %).
 */
export function medianInterval(values: readonly number[], level = 0.95): { low: number; high: number; level: number } {
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
  const v = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  const n = v.length;
  const tail = (1 - level) / 2;
  // P(X ≤ k) for X ~ binomial(n, ½), term by term in logs (0.5^n underflows past n ≈ 1074).
  let logTerm = n * Math.log(0.5);
  let cumulative = Math.exp(logTerm);
  let j = -1;
  for (let k = 0; k < n && cumulative <= tail; k++) {
    j = k; // cumulative is P(X ≤ k) here
    logTerm += Math.log((n - k) / (k + 1));
    cumulative += Math.exp(logTerm);
  }
  // [v[j], v[n − 1 − j]] misses the median with chance 2·P(X ≤ j) ≤ 1 − level.
  if (j < 0 || j > n - 1 - j) return { low: NaN, high: NaN, level };
  return { low: v[j], high: v[n - 1 - j], level };
}
