/** Least squares, robust spread and the per-length grouping, for the reconciliation, the tables and the outliers. */

export interface LinearFit {
  /** Intercept: the fixed cost. */
  a: number;
  /** Slope: the cost per unit of x. */
  b: number;
  r2: number;
  residuals: number[];
}

/** y = a + b·x by ordinary least squares. */
export function linearFit(xs: readonly number[], ys: readonly number[]): LinearFit {
  const n = xs.length;
  if (n < 2) throw new Error("a fit needs at least two points");
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i] - mx) ** 2;
    sxy += (xs[i] - mx) * (ys[i] - my);
    syy += (ys[i] - my) ** 2;
  }
  if (sxx === 0) throw new Error("a fit needs at least two different x values");
  const b = sxy / sxx;
  const a = my - b * mx;
  const residuals = xs.map((x, i) => ys[i] - (a + b * x));
  const ssr = residuals.reduce((s, r) => s + r * r, 0);
  return { a, b, r2: syy === 0 ? 1 : 1 - ssr / syy, residuals };
}

/** The arithmetic mean; NaN for no values. */
export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * Math.max and Math.min over any number of values (-Infinity and Infinity
 * for none, NaN if any is NaN): spreading an array into Math.max overflows
 * the call stack past ~125 000 values, which a long sweep's steps or a soak's
 * tokens exceed.
 */
export function largest(values: Iterable<number>): number {
  let m = -Infinity;
  for (const v of values) m = Math.max(m, v);
  return m;
}

export function smallest(values: Iterable<number>): number {
  let m = Infinity;
  for (const v of values) m = Math.min(m, v);
  return m;
}

/** The items by key (an output length), keys ascending, each group in the items' order. */
export function groupBy<T>(items: readonly T[], key: (item: T) => number): Map<number, T[]> {
  const out = new Map<number, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = out.get(k);
    if (group) group.push(item);
    else out.set(k, [item]);
  }
  return new Map([...out].sort((x, y) => x[0] - y[0]));
}

export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Median absolute deviation from the median. */
export function mad(values: readonly number[]): number {
  const m = median(values);
  return median(values.map((v) => Math.abs(v - m)));
}

/** Theil–Sen pairs are taken over at most this many points (evenly spaced), so a long bench stays fast. */
const THEIL_SEN_POINTS = 1000;

/**
 * A line that outliers do not pull: the median of the slopes between every
 * two points with different x (Theil–Sen), through the median of y − b·x.
 */
export function theilSen(xs: readonly number[], ys: readonly number[]): { a: number; b: number } {
  const stride = Math.max(1, Math.ceil(xs.length / THEIL_SEN_POINTS));
  const idx = xs.map((_, i) => i).filter((i) => i % stride === 0);
  const slopes: number[] = [];
  for (let p = 0; p < idx.length; p++) {
    for (let q = p + 1; q < idx.length; q++) {
      const i = idx[p];
      const j = idx[q];
      if (xs[i] !== xs[j]) slopes.push((ys[j] - ys[i]) / (xs[j] - xs[i]));
    }
  }
  const b = median(slopes);
  return { a: median(xs.map((x, i) => ys[i] - b * x)), b };
}

/**
 * The baseline residuals are measured from, without the outliers' pull
 * (least squares moves toward a request that paused 50 ms, and so hides it):
 * a robust line first (Theil–Sen, or the median y when every x is the same);
 * then least squares over the requests whose residual from it lies within
 * k × MAD; every residual is measured from that. `kept` says which requests
 * made the fit.
 */
export function robustBaseline(xs: readonly number[], ys: readonly number[], k: number): { fit?: LinearFit; residuals: number[]; kept: boolean[] } {
  const sloped = new Set(xs).size >= 2;
  const rough = sloped ? theilSen(xs, ys) : { a: median(ys), b: 0 };
  const first = xs.map((x, i) => ys[i] - (rough.a + rough.b * x));
  const center = median(first);
  const spread = mad(first);
  let keep = xs.map((_, i) => i).filter((i) => Math.abs(first[i] - center) <= k * spread);
  if (keep.length < 2 || (sloped && new Set(keep.map((i) => xs[i])).size < 2)) keep = xs.map((_, i) => i);
  const inFit = new Set(keep);
  const kept = xs.map((_, i) => inFit.has(i));
  if (!sloped) {
    const level = median(keep.map((i) => ys[i]));
    return { residuals: ys.map((y) => y - level), kept };
  }
  const fit = linearFit(
    keep.map((i) => xs[i]),
    keep.map((i) => ys[i]),
  );
  const residuals = xs.map((x, i) => ys[i] - (fit.a + fit.b * x));
  return { fit: { ...fit, residuals }, residuals, kept };
}
