/**
 * What every static SVG chart of the reports shares: round axis ticks with
 * one number format per axis, a colour-blind-safe palette, the opening tag
 * that makes a chart an image to assistive technology, axis titles a test
 * can find (class "axis-title"), and lines that break across idle gaps.
 */
import { esc } from "./htmlTable.js";

export { esc };

/** Okabe & Ito's eight colours, told apart with the common colour-vision deficiencies; ordered so neighbours contrast. */
export const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"];

const FONT = `font-family="system-ui, sans-serif" font-size="11"`;

/** A rough text width for layout (no script, so no measuring): 11 px sans-serif averages about 6.2 px a character. */
export const textWidth = (s: string, px = 11): number => s.length * px * 0.565;

export interface Axis {
  lo: number;
  hi: number;
  ticks: number[];
  /** One format for every tick of the axis: as many decimals as the step needs, so no two labels are the same. */
  label: (v: number) => string;
}

/** Decimals that show every multiple of `step` exactly (2.5 needs one, 0.25 two). */
function decimalsOf(step: number): number {
  for (let d = 0; d < 12; d++) {
    const scaled = step * 10 ** d;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-6 * Math.max(1, scaled)) return d;
  }
  return 12;
}

function formatTick(v: number, decimals: number): string {
  const s = v.toFixed(decimals);
  // Rounding can leave "-0" (or "-0.0"), which reads as a different tick from 0.
  return /^-0(\.0+)?$/.test(s) ? s.slice(1) : s;
}

/**
 * Round ticks covering [min, max] with at most `most` intervals: the step is
 * 1, 2, 2.5 or 5 × a power of ten, the smallest that fits, so the empty
 * margin beyond the data is under one step on either side.
 */
export function niceAxis(min: number, max: number, most = 6): Axis {
  if (!Number.isFinite(min) || !Number.isFinite(max)) [min, max] = [0, 1];
  if (!(max > min)) max = min + (Math.abs(min) || 1);
  const magnitude = 10 ** Math.floor(Math.log10((max - min) / most));
  const step = [1, 2, 2.5, 5, 10, 20].map((m) => m * magnitude).find((s) => Math.ceil(max / s - 1e-9) - Math.floor(min / s + 1e-9) <= most)!;
  const first = Math.floor(min / step + 1e-9);
  const last = Math.ceil(max / step - 1e-9);
  const decimals = decimalsOf(step);
  const ticks: number[] = [];
  for (let i = first; i <= last; i++) ticks.push(Number((i * step).toFixed(decimals)));
  return { lo: ticks[0], hi: ticks.at(-1)!, ticks, label: (v) => formatTick(v, decimals) };
}

/** Maps the axis onto pixels [from, to] (to < from for a y axis). */
export function project(axis: Axis, from: number, to: number): (v: number) => number {
  return (v) => from + ((v - axis.lo) / (axis.hi - axis.lo)) * (to - from);
}

/**
 * Splits time-ordered points where the time between two is more than
 * `factor` × the median interval: a line across an idle period would show
 * values nobody measured. A point that spans time (an engine step) is idle
 * only after its `end`: a long step is not an idle period.
 */
export function segments<P>(points: readonly P[], time: (p: P) => number, factor = 10, end: (p: P) => number = time): P[][] {
  const sorted = [...points].sort((a, b) => time(a) - time(b));
  const intervals = sorted
    .slice(1)
    .map((p, i) => time(p) - time(sorted[i]))
    .filter((d) => d > 0)
    .sort((a, b) => a - b);
  const typical = intervals.length ? intervals[Math.floor((intervals.length - 1) / 2)] : Infinity;
  const out: P[][] = [];
  sorted.forEach((p, i) => {
    if (i === 0 || time(p) - end(sorted[i - 1]) > factor * typical) out.push([]);
    out.at(-1)!.push(p);
  });
  return out;
}

/**
 * An SVG path through each segment's points, a new subpath ("M") per
 * segment. A lone point gets a zero-length subpath, which a round line cap
 * draws as a dot: otherwise it would not show at all.
 */
export function pathData(parts: ReadonlyArray<ReadonlyArray<{ x: number; y: number }>>): string {
  return parts.map((seg) => seg.map((p, i) => `${i ? "L" : "M"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join("") + (seg.length === 1 ? "l0,0" : "")).join("");
}

/** A diamond: outliers get a shape of their own, so colour is not the only difference. */
export function diamond(cx: number, cy: number, r: number, color: string, extra = ""): string {
  return `<path d="M${cx.toFixed(1)},${(cy - r).toFixed(1)}l${r},${r}l${-r},${r}l${-r},${-r}z" fill="${color}"${extra}/>`;
}

/** The opening tag: an image with a name, for screen readers and for tests. */
export function svgOpen(width: number, height: number, title: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(title)}" ${FONT}><title>${esc(title)}</title><rect width="${width}" height="${height}" fill="#fff"/>`;
}

export interface Plot {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** The y axis's gridlines and labels, and the x axis's tick marks and labels (when it has numeric ticks). */
export function axes(plot: Plot, x: Axis | undefined, y: Axis): string {
  const px = x ? project(x, plot.left, plot.right) : undefined;
  const py = project(y, plot.bottom, plot.top);
  const grid = y.ticks
    .map((t) => `<line x1="${plot.left}" x2="${plot.right}" y1="${py(t).toFixed(1)}" y2="${py(t).toFixed(1)}" stroke="#e4e4e4"/><text class="tick y" x="${plot.left - 6}" y="${(py(t) + 4).toFixed(1)}" text-anchor="end">${y.label(t)}</text>`)
    .join("");
  const xt = !x || !px ? "" : x.ticks.map((t) => `<line x1="${px(t).toFixed(1)}" x2="${px(t).toFixed(1)}" y1="${plot.bottom}" y2="${plot.bottom + 4}" stroke="#333"/><text class="tick x" x="${px(t).toFixed(1)}" y="${plot.bottom + 16}" text-anchor="middle">${x.label(t)}</text>`).join("");
  const frame = `<line x1="${plot.left}" x2="${plot.left}" y1="${plot.top}" y2="${plot.bottom}" stroke="#333"/><line x1="${plot.left}" x2="${plot.right}" y1="${plot.bottom}" y2="${plot.bottom}" stroke="#333"/>`;
  return grid + xt + frame;
}

/** The chart's title at the top, and the two axis titles: x under the tick labels, y turned along the axis. */
export function titles(height: number, plot: Plot, title: string, xTitle: string, yTitle: string): string {
  return (
    `<text class="chart-title" x="${plot.left}" y="17" font-size="13" font-weight="bold">${esc(title)}</text>` +
    `<text class="axis-title x" x="${((plot.left + plot.right) / 2).toFixed(1)}" y="${height - 8}" text-anchor="middle">${esc(xTitle)}</text>` +
    `<text class="axis-title y" transform="translate(14 ${((plot.top + plot.bottom) / 2).toFixed(1)}) rotate(-90)" text-anchor="middle">${esc(yTitle)}</text>`
  );
}

/** Room for the y tick labels and the y title left of the plot. */
export function leftMargin(y: Axis): number {
  return Math.ceil(28 + Math.max(...y.ticks.map((t) => textWidth(y.label(t)))) + 8);
}

export interface LegendItem {
  name: string;
  /** A swatch: a filled square, a line, a dot, a diamond or a vertical mark. */
  shape: "square" | "line" | "dot" | "diamond" | "mark";
  color: string;
  /** A fill other than the colour (a pattern's url). */
  fill?: string;
}

function swatch(item: LegendItem, x: number, y: number): string {
  if (item.shape === "square") return `<rect x="${x}" y="${y - 9}" width="10" height="10" fill="${item.fill ?? item.color}" stroke="${item.color}"/>`;
  if (item.shape === "line") return `<line x1="${x}" x2="${x + 14}" y1="${y - 4}" y2="${y - 4}" stroke="${item.color}" stroke-width="2"/>`;
  if (item.shape === "dot") return `<circle cx="${x + 5}" cy="${y - 4}" r="3.5" fill="${item.color}"/>`;
  if (item.shape === "diamond") return diamond(x + 5, y - 4, 5, item.color);
  return `<line x1="${x + 5}" x2="${x + 5}" y1="${y - 11}" y2="${y + 2}" stroke="${item.color}" stroke-width="1.5"/>`;
}

/** A legend in one row from (x, y), outside the plot (in the top margin). */
export function legendRow(items: readonly LegendItem[], x: number, y: number): string {
  let at = x;
  return items
    .map((item) => {
      const out = `<g class="legend-item">${swatch(item, at, y)}<text x="${at + 18}" y="${y}">${esc(item.name)}</text></g>`;
      at += Math.ceil(18 + textWidth(item.name) + 16);
      return out;
    })
    .join("");
}

/** A legend in one column from (x, y), beside the plot. */
export function legendColumn(items: readonly LegendItem[], x: number, y: number): string {
  return items.map((item, i) => `<g class="legend-item">${swatch(item, x, y + 15 * i)}<text x="${x + 16}" y="${y + 15 * i}">${esc(item.name)}</text></g>`).join("");
}

export const legendWidth = (items: readonly LegendItem[]): number => 16 + Math.max(0, ...items.map((i) => textWidth(i.name)));
