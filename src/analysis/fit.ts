/** Least squares and robust spread, for the reconciliation and the outliers. */

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

/**
 * The baseline residuals are measured from: the fit when the requests have at
 * least two different x values, otherwise the median y (a bench at one output
 * length has no slope to fit, yet its outliers still stand out).
 */
export function baseline(xs: readonly number[], ys: readonly number[]): { fit?: LinearFit; residuals: number[] } {
  if (new Set(xs).size >= 2) {
    const fit = linearFit(xs, ys);
    return { fit, residuals: fit.residuals };
  }
  const m = median(ys);
  return { residuals: ys.map((y) => y - m) };
}
