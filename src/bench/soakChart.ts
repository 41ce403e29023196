/**
 * A static SVG line chart for the soak report: one or more series over the
 * run's time, with shaded bands for the windows that are compared (the
 * first and last tenth). No script and no external file, so the SVG can sit
 * inside the HTML report or next to the Markdown one.
 */

export interface Series {
  name: string;
  points: ReadonlyArray<{ x: number; y: number }>;
}

export interface Band {
  from: number;
  to: number;
  label: string;
}

const W = 760;
const H = 320;
const M = { left: 64, right: 150, top: 30, bottom: 44 };
const COLORS = ["#4e79a7", "#e15759", "#59a14f", "#f28e2b"];

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const label = (v: number): string => (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(3))));

/** Round tick values covering [lo, hi] (about five of them). */
function ticks(lo: number, hi: number): number[] {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / 5;
  const step10 = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * step10).find((s) => s >= raw) ?? step10 * 10;
  const out: number[] = [];
  for (let t = Math.floor(lo / step) * step; t <= hi + step / 2; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

export function lineChart(title: string, xLabel: string, yLabel: string, series: readonly Series[], bands: readonly Band[] = []): string {
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const xt = ticks(0, Math.max(1, ...all.map((p) => p.x), ...bands.map((b) => b.to)));
  const yt = ticks(0, Math.max(1e-9, ...all.map((p) => p.y)));
  const [x0, x1, y0, y1] = [xt[0], xt.at(-1)!, yt[0], yt.at(-1)!];
  const px = (v: number): number => M.left + ((v - x0) / (x1 - x0)) * (W - M.left - M.right);
  const py = (v: number): number => H - M.bottom - ((v - y0) / (y1 - y0)) * (H - M.top - M.bottom);
  const parts: string[] = [];
  for (const b of bands) {
    parts.push(`<rect x="${px(b.from).toFixed(1)}" y="${M.top}" width="${Math.max(0, px(b.to) - px(b.from)).toFixed(1)}" height="${H - M.top - M.bottom}" fill="#000" fill-opacity="0.06"><title>${esc(b.label)}</title></rect><text x="${((px(b.from) + px(b.to)) / 2).toFixed(1)}" y="${M.top + 12}" text-anchor="middle" fill="#666">${esc(b.label)}</text>`);
  }
  for (const t of yt) {
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${py(t).toFixed(1)}" y2="${py(t).toFixed(1)}" stroke="#eee"/><text x="${M.left - 6}" y="${(py(t) + 4).toFixed(1)}" text-anchor="end">${label(t)}</text>`);
  }
  for (const t of xt) parts.push(`<text x="${px(t).toFixed(1)}" y="${H - M.bottom + 16}" text-anchor="middle">${label(t)}</text>`);
  series.forEach((s, k) => {
    const color = COLORS[k % COLORS.length];
    // Points come in request order; drawn in time order, the line never doubles back.
    const d = s.points.filter((p) => Number.isFinite(p.y)).sort((a, b) => a.x - b.x).map((p, i) => `${i ? "L" : "M"}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join("");
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    const ly = M.top + 16 * k;
    parts.push(`<rect x="${W - M.right + 12}" y="${ly}" width="12" height="3" fill="${color}"/><text x="${W - M.right + 30}" y="${ly + 5}">${esc(s.name)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11">
<rect width="${W}" height="${H}" fill="#fff"/>
<text x="${(M.left + W - M.right) / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${esc(title)}</text>
${parts.join("\n")}
<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" stroke="#333"/><line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" stroke="#333"/>
<text x="${(M.left + W - M.right) / 2}" y="${H - 8}" text-anchor="middle">${esc(xLabel)}</text>
<text transform="translate(16 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>
</svg>`;
}
