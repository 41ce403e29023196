/**
 * A static SVG line chart for the soak report: one or more series over the
 * run's time, with shaded bands for the windows that are compared (the
 * first and last tenth). No script and no external file, so the SVG can sit
 * inside the HTML report or next to the Markdown one. Axes, colours and
 * legend are the analysis report's (src/analysis/svgAxes.ts).
 */
import { axes, esc, leftMargin, legendColumn, legendWidth, niceAxis, PALETTE, pathData, project, segments, svgOpen, titles, type LegendItem } from "../analysis/svgAxes.js";

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

export function lineChart(title: string, xLabel: string, yLabel: string, series: readonly Series[], bands: readonly Band[] = []): string {
  const finite = series.map((s) => ({ ...s, points: s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)) }));
  const all = finite.flatMap((s) => s.points);
  const x = niceAxis(0, Math.max(1, ...all.map((p) => p.x), ...bands.map((b) => b.to)));
  const y = niceAxis(0, Math.max(1e-9, ...all.map((p) => p.y)));
  const legend: LegendItem[] = finite.map((s, k) => ({ name: s.name, shape: "line", color: PALETTE[k % PALETTE.length] }));
  const plot = { left: leftMargin(y), right: W - 20 - legendWidth(legend) - 12, top: 30, bottom: H - 44 };
  const px = project(x, plot.left, plot.right);
  const py = project(y, plot.bottom, plot.top);
  const shaded = bands.map((b) => {
    const [from, to] = [px(b.from), px(b.to)];
    return `<rect x="${from.toFixed(1)}" y="${plot.top}" width="${Math.max(0, to - from).toFixed(1)}" height="${plot.bottom - plot.top}" fill="#000" fill-opacity="0.06"><title>${esc(b.label)}</title></rect><text x="${((from + to) / 2).toFixed(1)}" y="${plot.top + 12}" text-anchor="middle" fill="#555">${esc(b.label)}</text>`;
  });
  // Points come in request order; drawn in time order, the line never doubles back, and it stops where nothing was measured for a while.
  const lines = finite.map((s, k) => `<path class="series" d="${pathData(segments(s.points, (p) => p.x).map((seg) => seg.map((p) => ({ x: px(p.x), y: py(p.y) }))))}" fill="none" stroke="${PALETTE[k % PALETTE.length]}" stroke-width="1.5" stroke-linejoin="round" stroke-linecap="round"/>`);
  return `${svgOpen(W, H, title)}\n${shaded.join("\n")}\n${axes(plot, x, y)}\n${lines.join("\n")}\n${titles(H, plot, title, xLabel, yLabel)}${legendColumn(legend, plot.right + 16, plot.top + 10)}\n</svg>`;
}
