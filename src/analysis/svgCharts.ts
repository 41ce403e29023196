/**
 * Small static SVG charts for the self-contained HTML report: a scatter with
 * a fitted line, stacked bars, and a time series with event marks. No script,
 * no external file: the report opens anywhere. Axes, colours and legends come
 * from svgAxes.ts, so every chart reads the same way.
 */
import { axes, diamond, type Axis, esc, leftMargin, legendColumn, legendRow, legendWidth, niceAxis, PALETTE, pathData, project, segments, svgOpen, titles, type LegendItem, type Plot } from "./svgAxes.js";

const W = 720;
const H = 340;
/** Title at the top, then a row for the legend, then the plot. */
const TOP = 48;
const BOTTOM = 44;
const RIGHT = 20;

const plotFor = (left: number, right = W - RIGHT): Plot => ({ left, right, top: TOP, bottom: H - BOTTOM });

/**
 * The part of y = a + b·x inside the axes' box. The box is the data's: a
 * negative intercept (curvature, not a cost) is cut at the x axis rather
 * than stretching the y axis by a whole step below zero.
 */
function clipLine(fit: { a: number; b: number }, x: Axis, y: Axis): [{ x: number; y: number }, { x: number; y: number }] | undefined {
  const at = (v: number): number => fit.a + fit.b * v;
  // Where the line crosses y.lo and y.hi, ordered along x.
  const crossings = fit.b === 0 ? [-Infinity, Infinity] : [(y.lo - fit.a) / fit.b, (y.hi - fit.a) / fit.b].sort((p, q) => p - q);
  const from = Math.max(x.lo, crossings[0]);
  const to = Math.min(x.hi, crossings[1]);
  if (!(to > from) || (fit.b === 0 && (fit.a < y.lo || fit.a > y.hi))) return undefined;
  return [
    { x: from, y: at(from) },
    { x: to, y: at(to) },
  ];
}

/** Points and the line y = a + b·x over them (no line without a fit). */
export function scatterWithFit(title: string, points: ReadonlyArray<{ x: number; y: number; outlier?: boolean }>, fit: { a: number; b: number } | undefined, xLabel: string, yLabel: string): string {
  const x = niceAxis(0, Math.max(...points.map((p) => p.x)));
  const y = niceAxis(Math.min(0, ...points.map((p) => p.y)), Math.max(...points.map((p) => p.y)));
  const plot = plotFor(leftMargin(y));
  const px = project(x, plot.left, plot.right);
  const py = project(y, plot.bottom, plot.top);
  const ends = fit ? clipLine(fit, x, y) : undefined;
  const line = ends ? `<line class="fit" x1="${px(ends[0].x).toFixed(1)}" y1="${py(ends[0].y).toFixed(1)}" x2="${px(ends[1].x).toFixed(1)}" y2="${py(ends[1].y).toFixed(1)}" stroke="#000" stroke-width="1.5"/>` : "";
  const dots = points
    .filter((p) => !p.outlier)
    .map((p) => `<circle class="point" cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="2.5" fill="${PALETTE[0]}" fill-opacity="0.75"/>`)
    .join("");
  // Outliers last, on top of the rest.
  const outliers = points.filter((p) => p.outlier).map((p) => diamond(px(p.x), py(p.y), 5, PALETTE[3], ` class="point outlier" stroke="#fff" stroke-width="0.8"`)).join("");
  const legend: LegendItem[] = [{ name: "measurement", shape: "dot", color: PALETTE[0] }];
  if (outliers) legend.push({ name: "outlier", shape: "diamond", color: PALETTE[3] });
  if (ends) legend.push({ name: "fitted line", shape: "line", color: "#000" });
  return `${svgOpen(W, H, title)}${axes(plot, x, y)}${titles(H, plot, title, xLabel, yLabel)}${legendRow(legend, plot.left, 36)}${dots}${line}${outliers}</svg>`;
}

/**
 * The palette's colours in the order the hatched series take them: next
 * hatched series get colours far apart (blue, green, orange, pink, black),
 * not the palette's neighbours (orange and vermilion read as one when both
 * are hatched).
 */
const HATCH_ORDER = [0, 2, 1, 5, 7, 3, 4, 6];

/**
 * The fill of series k: the palette's colours, then the palette hatched
 * (twelve overhead parts are more than eight colours can keep apart), the
 * stripes leaning one way and the other in turn.
 */
function fills(count: number, id: string): { defs: string; fill: (k: number) => string } {
  const hatched = Math.max(0, count - PALETTE.length);
  const patterns = Array.from({ length: hatched }, (_, i) => {
    const color = PALETTE[HATCH_ORDER[i % HATCH_ORDER.length]];
    return `<pattern id="${id}-${i}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(${i % 2 ? -45 : 45})"><rect width="6" height="6" fill="${color}"/><rect width="2.5" height="6" fill="#fff" fill-opacity="0.85"/></pattern>`;
  });
  return {
    defs: patterns.length ? `<defs>${patterns.join("")}</defs>` : "",
    fill: (k) => (k < PALETTE.length ? PALETTE[k] : `url(#${id}-${k - PALETTE.length})`),
  };
}

/** An id for the chart's patterns, unique per title so that two charts in one page do not share one. */
const idOf = (title: string): string => `p${[...title].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7).toString(36)}`;

/** One bar per category, stacked from the series (negative values are left out of the stack). */
export function stackedBars(title: string, categories: readonly string[], series: ReadonlyArray<{ name: string; values: readonly number[] }>, yLabel: string, xLabel = "output length (tokens)"): string {
  const value = (s: { values: readonly number[] }, i: number): number => Math.max(0, Number.isFinite(s.values[i]) ? s.values[i] : 0);
  const totals = categories.map((_, i) => series.reduce((a, s) => a + value(s, i), 0));
  const y = niceAxis(0, Math.max(0, ...totals));
  const { defs, fill } = fills(series.length, idOf(title));
  // Top of the stack first, as the eye reads the bars; beside the plot, never over it.
  const legend: LegendItem[] = series.map((s, k) => ({ name: s.name, shape: "square" as const, color: PALETTE[k % PALETTE.length], fill: fill(k) })).reverse();
  const plot = plotFor(leftMargin(y), W - RIGHT - legendWidth(legend) - 12);
  const py = project(y, plot.bottom, plot.top);
  const band = (plot.right - plot.left) / Math.max(1, categories.length);
  const bars = categories.map((c, i) => {
    let base = 0;
    const rects = series.map((s, k) => {
      const v = value(s, i);
      const rect = v > 0 ? `<rect class="bar" x="${(plot.left + i * band + band * 0.15).toFixed(1)}" width="${(band * 0.7).toFixed(1)}" y="${py(base + v).toFixed(1)}" height="${(py(base) - py(base + v)).toFixed(1)}" fill="${fill(k)}" stroke="#fff" stroke-width="0.5"><title>${esc(`${c}: ${s.name} ${Number(v.toPrecision(4))}`)}</title></rect>` : "";
      base += v;
      return rect;
    });
    return rects.join("") + `<text class="tick x" x="${(plot.left + (i + 0.5) * band).toFixed(1)}" y="${plot.bottom + 16}" text-anchor="middle">${esc(c)}</text>`;
  });
  return `${svgOpen(W, H, title)}${defs}${axes(plot, undefined, y)}${titles(H, plot, title, xLabel, yLabel)}${legendColumn(legend, plot.right + 16, plot.top + 10)}${bars.join("")}</svg>`;
}

/**
 * Values over time, with vertical marks for events (GC pauses). Where the
 * time between two values is far beyond the usual (an idle server), the
 * line stops and starts again; a value that spans time (`end`: an engine
 * step) counts as idle only after it ends.
 */
export function timeSeries(title: string, points: ReadonlyArray<{ t: number; v: number; end?: number }>, marks: ReadonlyArray<{ t: number; label: string }>, yLabel: string): string {
  const end = Math.max(1, ...points.map((p) => p.t), ...marks.map((m) => m.t));
  // Minutes of server time read better in seconds than as six-digit ms.
  const unit = end > 20_000 ? { div: 1000, name: "s" } : { div: 1, name: "ms" };
  const x = niceAxis(0, end / unit.div);
  const y = niceAxis(0, Math.max(0, ...points.map((p) => p.v)));
  const plot = plotFor(leftMargin(y));
  const toX = project(x, plot.left, plot.right);
  const px = (t: number): number => toX(t / unit.div);
  const py = project(y, plot.bottom, plot.top);
  const parts = segments(points, (p) => p.t, undefined, (p) => p.end ?? p.t).map((seg) => seg.map((p) => ({ x: px(p.t), y: py(p.v) })));
  const line = `<path class="series" d="${pathData(parts)}" fill="none" stroke="${PALETTE[0]}" stroke-width="1" stroke-linejoin="round" stroke-linecap="round"/>`;
  const ticks = marks.map((m) => `<line class="mark" x1="${px(m.t).toFixed(1)}" x2="${px(m.t).toFixed(1)}" y1="${plot.top}" y2="${plot.bottom}" stroke="${PALETTE[3]}" stroke-opacity="0.7"><title>${esc(m.label)}</title></line>`).join("");
  const legend: LegendItem[] = [{ name: yLabel, shape: "line", color: PALETTE[0] }];
  if (marks.length) legend.push({ name: "GC pause", shape: "mark", color: PALETTE[3] });
  return `${svgOpen(W, H, title)}${axes(plot, x, y)}${titles(H, plot, title, `server time (${unit.name})`, yLabel)}${legendRow(legend, plot.left, 36)}${ticks}${line}</svg>`;
}
