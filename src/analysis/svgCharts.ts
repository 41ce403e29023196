/**
 * Small static SVG charts for the self-contained HTML report: a scatter with
 * a fitted line, stacked bars, and a time series with event marks. No script,
 * no external file: the report opens anywhere.
 */

const W = 720;
const H = 320;
const M = { left: 64, right: 16, top: 28, bottom: 44 };
const COLORS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac", "#1f77b4", "#d62728"];

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const num = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(1) : x.toFixed(3));

interface Scale {
  (v: number): number;
  ticks: number[];
}

function scale(min: number, max: number, from: number, to: number): Scale {
  if (!(max > min)) max = min + 1;
  const step = 10 ** Math.floor(Math.log10((max - min) / 5));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => (max - min) / s <= 6) ?? step * 10;
  const lo = Math.floor(min / nice) * nice;
  const hi = Math.ceil(max / nice) * nice;
  const f = ((v: number) => from + ((v - lo) / (hi - lo)) * (to - from)) as Scale;
  f.ticks = [];
  for (let t = lo; t <= hi + nice / 2; t += nice) f.ticks.push(t);
  return f;
}

function frame(title: string, x: Scale, y: Scale, xLabel: string, yLabel: string, body: string): string {
  const grid = y.ticks.map((t) => `<line x1="${M.left}" x2="${W - M.right}" y1="${y(t)}" y2="${y(t)}" stroke="#eee"/><text x="${M.left - 6}" y="${y(t) + 4}" text-anchor="end">${num(t)}</text>`).join("");
  const xt = x.ticks.map((t) => `<text x="${x(t)}" y="${H - M.bottom + 16}" text-anchor="middle">${num(t)}</text>`).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11">
<text x="${W / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${esc(title)}</text>${grid}${xt}
<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" stroke="#333"/><line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" stroke="#333"/>
<text x="${(M.left + W - M.right) / 2}" y="${H - 8}" text-anchor="middle">${esc(xLabel)}</text>
<text transform="translate(14 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>${body}</svg>`;
}

/** Points and the line y = a + b·x over them (no line without a fit). */
export function scatterWithFit(title: string, points: ReadonlyArray<{ x: number; y: number; outlier?: boolean }>, fit: { a: number; b: number } | undefined, xLabel: string, yLabel: string): string {
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const x = scale(0, Math.max(...xs), M.left, W - M.right);
  const y = scale(Math.min(0, ...ys), Math.max(...ys), H - M.bottom, M.top);
  const x0 = x.ticks[0];
  const x1 = x.ticks.at(-1)!;
  const line = !fit ? "" : `<line x1="${x(x0)}" y1="${y(fit.a + fit.b * x0)}" x2="${x(x1)}" y2="${y(fit.a + fit.b * x1)}" stroke="${COLORS[1]}" stroke-width="1.5"/>`;
  const dots = points.map((p) => `<circle cx="${x(p.x)}" cy="${y(p.y)}" r="${p.outlier ? 4 : 2.5}" fill="${p.outlier ? COLORS[2] : COLORS[0]}" fill-opacity="0.8"/>`).join("");
  return frame(title, x, y, xLabel, yLabel, line + dots);
}

/** One bar per category, stacked from the series (negative values are left out of the stack). */
export function stackedBars(title: string, categories: readonly string[], series: ReadonlyArray<{ name: string; values: readonly number[] }>, yLabel: string): string {
  const totals = categories.map((_, i) => series.reduce((a, s) => a + Math.max(0, s.values[i] || 0), 0));
  const y = scale(0, Math.max(...totals), H - M.bottom, M.top + 20);
  const band = (W - M.left - M.right - 150) / categories.length;
  const x = scale(0, categories.length, M.left, M.left + band * categories.length);
  x.ticks = [];
  let body = "";
  categories.forEach((c, i) => {
    let base = 0;
    series.forEach((s, k) => {
      const v = Math.max(0, s.values[i] || 0);
      if (v > 0) body += `<rect x="${M.left + i * band + 4}" width="${band - 8}" y="${y(base + v)}" height="${y(base) - y(base + v)}" fill="${COLORS[k % COLORS.length]}"><title>${esc(`${s.name}: ${num(v)}`)}</title></rect>`;
      base += v;
    });
    body += `<text x="${M.left + (i + 0.5) * band}" y="${H - M.bottom + 16}" text-anchor="middle">${esc(c)}</text>`;
  });
  series.forEach((s, k) => {
    const ly = M.top + 14 * k;
    body += `<rect x="${W - 146}" y="${ly}" width="10" height="10" fill="${COLORS[k % COLORS.length]}"/><text x="${W - 132}" y="${ly + 9}">${esc(s.name)}</text>`;
  });
  return frame(title, x, y, "output length (tokens)", yLabel, body);
}

/** Values over time, with vertical marks for events (GC pauses). */
export function timeSeries(title: string, points: ReadonlyArray<{ t: number; v: number }>, marks: ReadonlyArray<{ t: number; label: string }>, yLabel: string): string {
  const x = scale(0, Math.max(1, ...points.map((p) => p.t), ...marks.map((m) => m.t)), M.left, W - M.right);
  const y = scale(0, Math.max(...points.map((p) => p.v)), H - M.bottom, M.top);
  const path = points.map((p, i) => `${i ? "L" : "M"}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join("");
  const line = `<path d="${path}" fill="none" stroke="${COLORS[0]}" stroke-width="1"/>`;
  const ticks = marks.map((m) => `<line x1="${x(m.t)}" x2="${x(m.t)}" y1="${M.top}" y2="${H - M.bottom}" stroke="${COLORS[2]}" stroke-opacity="0.6"><title>${esc(m.label)}</title></line>`).join("");
  return frame(title, x, y, "server time (ms)", yLabel, ticks + line);
}
