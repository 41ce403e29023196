/**
 * The charts of GET /debug/distributions: the last minute's TTFT,
 * inter-token gap and e2e histograms, and per remote engine the same with
 * the p50 of its requests' three parts across the hop.
 */

import { renderHistogram, renderHopParts, type Histogram } from "./charts.js";

interface Stats {
  n: number;
  p50: number | null;
}

interface Latencies {
  ttft_ms: Histogram;
  itl_ms: Histogram;
  e2e_ms: Histogram;
}

/** As timing/distributions.ts sends it (the page compiles on its own: it restates the shape it reads). */
export interface Distributions extends Latencies {
  engines: Record<string, Latencies & { ours_ms: Stats; network_and_front_ms: Stats; backend_engine_ms: Stats }>;
}

const $ = (id: string): HTMLElement => document.getElementById(id)!;

/** The three latency histograms: where each is in the JSON, its chart's name (data-chart, and chart-NAME for its box on the page) and title. */
const LATENCIES = [
  { key: "ttft_ms", chart: "ttft", title: "TTFT" },
  { key: "itl_ms", chart: "itl", title: "inter-token gap" },
  { key: "e2e_ms", chart: "e2e", title: "e2e" },
] as const;

/** Per remote engine: its requests' latencies and where their time went across the hop (shown only when requests were relayed). */
function drawEngineCharts(engines: Distributions["engines"]): void {
  const names = Object.keys(engines).sort();
  $("engine-charts").hidden = names.length === 0;
  $("engine-charts-list").replaceChildren(
    ...names.map((name) => {
      const e = engines[name];
      const group = document.createElement("div");
      group.className = "charts";
      group.dataset.engine = name;
      for (const { key, chart, title } of LATENCIES) renderHistogram(group, `engine-${chart}`, `${name}: ${title}`, e[key]).dataset.engine = name;
      renderHopParts(group, name, { ours: e.ours_ms.p50, front: e.network_and_front_ms.p50, backendEngine: e.backend_engine_ms.p50, n: e.ours_ms.n });
      return group;
    }),
  );
}

export function drawDistributions(d: Distributions): void {
  for (const { key, chart, title } of LATENCIES) {
    const box = $(`chart-${chart}`);
    box.replaceChildren();
    renderHistogram(box, chart, title, d[key]);
  }
  drawEngineCharts(d.engines);
}

/** Offline, or between two servers: no live figures left on the page. */
export function clearDistributions(): void {
  for (const { chart } of LATENCIES) $(`chart-${chart}`).replaceChildren();
  $("engine-charts").hidden = true;
  $("engine-charts-list").replaceChildren();
}
