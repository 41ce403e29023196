/**
 * Small SVG charts of our own: the last minute's TTFT, inter-token gap and
 * e2e histograms (GET /debug/distributions, log-spaced bins), the same and
 * the hop's parts per remote engine, the decode step's time by batch size
 * and by context length (from the step timeline's window), and requests
 * running and waiting and tokens/s over the last two minutes (from the live
 * feed).
 */

import { el, titled } from "./svg.js";

export interface Histogram {
  edges: number[];
  counts: number[];
  n: number;
}

const W = 300;
const H = 110;
const PAD = { left: 34, right: 6, top: 16, bottom: 20 };


function text(parent: Element, x: number, y: number, s: string, anchor = "start"): void {
  const t = el("text", { x, y, class: "label", "text-anchor": anchor }, parent);
  t.textContent = s;
}

function frame(container: HTMLElement, chart: string, title: string): SVGSVGElement {
  const svg = el("svg", { width: W, height: H, role: "img", "aria-label": title, "data-chart": chart }, container);
  text(svg, PAD.left, 11, title);
  return svg;
}

/** Two significant digits, never in exponent form. */
const two = (x: number): string => String(Number(x.toPrecision(2)));
const short = (x: number): string => (x >= 1000 ? `${two(x / 1000)} s` : x >= 1 ? `${two(x)} ms` : `${two(x * 1000)} µs`);

/** The x axis under bars: its two ends, or a name under every bar (a few bars only). */
type XAxis = { ends: readonly [string, string] } | { each: readonly string[] };

/** Bars, heights from `values`; each bar says its value on hover. */
function bars(svg: SVGSVGElement, values: readonly number[], axis: XAxis, tip: (i: number) => string): void {
  const max = Math.max(1e-9, ...values);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const bw = plotW / Math.max(1, values.length);
  values.forEach((v, i) => {
    const h = (v / max) * plotH;
    const rect = el("rect", { x: PAD.left + i * bw + 0.5, y: PAD.top + plotH - h, width: Math.max(bw - 1, 0.5), height: h, class: "bar", "data-value": v }, svg);
    titled(rect, tip(i));
  });
  text(svg, PAD.left - 3, PAD.top + 8, String(Math.round(max * 100) / 100), "end");
  if ("each" in axis) {
    axis.each.forEach((label, i) => text(svg, PAD.left + (i + 0.5) * bw, H - 6, label, "middle"));
  } else {
    text(svg, PAD.left, H - 6, axis.ends[0]);
    text(svg, W - PAD.right, H - 6, axis.ends[1], "end");
  }
}

export function renderHistogram(container: HTMLElement, chart: string, title: string, h: Histogram): SVGSVGElement {
  const svg = frame(container, chart, `${title} (${h.n})`);
  if (h.n === 0) {
    text(svg, PAD.left, H / 2, "no requests in the last minute");
    return svg;
  }
  bars(svg, h.counts, { ends: [short(h.edges[0]), short(h.edges[h.edges.length - 1])] }, (i) => `${short(h.edges[i])} – ${short(h.edges[i + 1])}: ${h.counts[i]}`);
  return svg;
}

/** Mean decode time per batch size, from the steps of the step timeline's window. */
export function renderDecodeByBatch(container: HTMLElement, steps: ReadonlyArray<{ rows: number; decode: number | null }>): void {
  const sums = new Map<number, { total: number; n: number }>();
  for (const s of steps) {
    if (s.decode === null) continue;
    const e = sums.get(s.rows) ?? { total: 0, n: 0 };
    e.total += s.decode;
    e.n++;
    sums.set(s.rows, e);
  }
  const sizes = [...sums.keys()].sort((a, b) => a - b);
  const svg = frame(container, "decode-by-batch", "decode ms by batch size (last 5 s)");
  if (sizes.length === 0) return text(svg, PAD.left, H / 2, "no steps in the last 5 s");
  const means = sizes.map((b) => sums.get(b)!.total / sums.get(b)!.n);
  bars(svg, means, { ends: [`batch ${sizes[0]}`, `batch ${sizes[sizes.length - 1]}`] }, (i) => `batch ${sizes[i]}: ${means[i].toFixed(3)} ms mean over ${sums.get(sizes[i])!.n} steps`);
}

/** Context buckets over the window's decode steps: enough to show a trend, few enough to hold a handful of steps each. */
const CONTEXT_BUCKETS = 8;

/**
 * Mean decode time by context length, from the decode steps of the step
 * timeline's window: attention reads every cell before a token, so on a long
 * context a step slows as it goes (the study's "n × per-token time" falling
 * short). A step's context is its longest row's.
 */
export function renderDecodeByContext(container: HTMLElement, steps: ReadonlyArray<{ rows: number; decode: number | null; prefill: boolean; context: number }>): void {
  const decodes = steps.filter((s) => !s.prefill && s.decode !== null && s.context > 0);
  const svg = frame(container, "decode-by-context", "decode ms by context tokens (last 5 s)");
  if (decodes.length === 0) return text(svg, PAD.left, H / 2, "no decode steps in the last 5 s");
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of decodes) {
    lo = Math.min(lo, s.context);
    hi = Math.max(hi, s.context);
  }
  const width = Math.max(1, Math.ceil((hi - lo + 1) / CONTEXT_BUCKETS));
  const buckets: Array<{ from: number; to: number; total: number; n: number; batches: Set<number> }> = [];
  for (let from = lo; from <= hi; from += width) buckets.push({ from, to: Math.min(hi, from + width - 1), total: 0, n: 0, batches: new Set() });
  for (const s of decodes) {
    const b = buckets[Math.floor((s.context - lo) / width)];
    b.total += s.decode!;
    b.n++;
    b.batches.add(s.rows);
  }
  const kept = buckets.filter((b) => b.n > 0);
  const means = kept.map((b) => b.total / b.n);
  const batchList = (b: (typeof kept)[number]): string => [...b.batches].sort((x, y) => x - y).join(", ");
  bars(svg, means, { ends: [`${kept[0].from}`, `${kept[kept.length - 1].to} tokens`] }, (i) => `context ${kept[i].from}–${kept[i].to}: ${means[i].toFixed(3)} ms mean over ${kept[i].n} steps (batch ${batchList(kept[i])})`);
}

/** The p50 of the hop's three parts for one remote engine's requests (GET /debug/distributions, engines). */
export function renderHopParts(container: HTMLElement, engine: string, parts: { ours: number | null; front: number | null; backendEngine: number | null; n: number }): void {
  const svg = frame(container, "hop-parts", `${engine}: p50 of each part, ms (${parts.n})`);
  svg.dataset.engine = engine;
  const named = [
    ["ours", parts.ours],
    ["network + front", parts.front],
    ["backend engine", parts.backendEngine],
  ] as const;
  bars(svg, named.map(([, v]) => v ?? 0), { each: named.map(([name]) => name) }, (i) => `${named[i][0]}: ${named[i][1] === null ? "not reported" : `${named[i][1]!.toFixed(3)} ms`} (p50)`);
}

export interface HistoryPoint {
  at: number;
  running: number;
  waiting: number;
  tokensPerSecond: number;
}

/** The time axis of the history charts: the last two minutes, however much of them the page has seen (it says what its title says). */
const HISTORY_MS = 120_000;

/** Lines over the last two minutes, one per key, on one scale; a page open for less draws what it has at the right. */
function series(container: HTMLElement, chart: string, title: string, history: readonly HistoryPoint[], keys: ReadonlyArray<{ key: "running" | "waiting" | "tokensPerSecond"; cls: string }>): void {
  const svg = frame(container, chart, title);
  const span = HISTORY_MS;
  const t0 = (history.at(-1)?.at ?? 0) - span;
  // A page that was hidden holds points older than the axis (the feed pauses while it is): they are left out, not piled at its edge.
  const shown = history.filter((p) => p.at >= t0);
  if (shown.length < 2) return;
  let max = 1;
  for (const p of shown) for (const { key } of keys) max = Math.max(max, p[key]);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  for (const { key, cls } of keys) {
    const points = shown.map((p) => `${PAD.left + ((p.at - t0) / span) * plotW},${PAD.top + plotH - (p[key] / max) * plotH}`).join(" ");
    el("polyline", { points, class: cls, fill: "none", "data-series": key }, svg);
  }
  text(svg, PAD.left - 3, PAD.top + 8, String(Math.round(max)), "end");
  text(svg, PAD.left, H - 6, "−2 min");
  text(svg, W - PAD.right, H - 6, "now", "end");
}

/** Tokens per second over time (one point per live snapshot: the tokens delivered in the second before it). */
export function renderThroughput(container: HTMLElement, history: readonly HistoryPoint[]): void {
  series(container, "throughput", "tokens/s, last 2 min", history, [{ key: "tokensPerSecond", cls: "running" }]);
}

/** Running and waiting requests over time (one point per live snapshot). */
export function renderQueue(container: HTMLElement, history: readonly HistoryPoint[]): void {
  series(container, "queue", "running (blue) and waiting (orange), last 2 min", history, [
    { key: "running", cls: "running" },
    { key: "waiting", cls: "waiting" },
  ]);
}
