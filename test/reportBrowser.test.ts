/**
 * The analysis report's HTML page in a real browser: Debian's chromium,
 * driven by playwright-core (which never downloads a browser of its own).
 * The report is made from a fixed input that has every kind of block — the
 * sweep's tables as a preface, a table of measurements, a step log, the
 * server's analysis with its outliers, stacked parts and a step series with
 * an idle gap — and opened at 1400 × 900. CI installs chromium (.ci/run);
 * without it these tests fail, saying so.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { chromiumOptions } from "./helpers/browsers.js";
import type { Analysis } from "../src/analysis/analyze.js";
import { explain } from "../src/analysis/explain.js";
import { readStepLog } from "../src/analysis/input/stepLog.js";
import { readTable } from "../src/analysis/input/table.js";
import { OVERHEAD_PARTS, type Parts } from "../src/analysis/overhead.js";
import { htmlReport, markdownReport, type ReportInput } from "../src/analysis/report.js";
import { isFigure, tableHtml } from "../src/analysis/htmlTable.js";
import { niceAxis, segments } from "../src/analysis/svgAxes.js";
import { scatterWithFit, stackedBars, timeSeries } from "../src/analysis/svgCharts.js";
import type { ClientRecord } from "../src/bench/LoadClient.js";
import type { ServerTimeline } from "../src/bench/serverRecords.js";
import { formatSweep, type SweepResult } from "../src/bench/sweep.js";
import { STEP_TREE } from "../src/timing/points.js";

const VIEWPORT = { width: 1400, height: 900 };

// ---- the fixed input ----

const LENGTHS = [1, 5, 10, 30, 60, 120, 240, 480];
/** A step time that grows with the context, as a real engine's does, and a fixed cost. */
const e2eOf = (n: number, rep: number): number => 18 + 16 * n * (1 + n / 2000) + ((rep * 7) % 5) * 0.4;

function measurementsCsv(): string {
  const lines = ["output length,e2e (ms),send_request,generate_answer,note"];
  for (const n of LENGTHS) {
    for (let rep = 0; rep < 3; rep++) {
      const e2e = e2eOf(n, rep);
      lines.push(`${n},${e2e.toFixed(3)},${(0.2 + rep * 0.01).toFixed(3)},${(e2e - 2.5).toFixed(3)},${n === 60 && rep === 0 ? '"warm-up run, repeated"' : ""}`);
    }
  }
  return lines.join("\n");
}

/** Three steps of the study's model-side log. */
function studyLog(): string {
  const step = (i: number): string[] => {
    const decode = 38 + i;
    return [
      "[AsyncMaster._run_workers_async -> Worker._predict -> WorkAgent.predict]",
      `  worker.py[line:127] - INFO: pre-process time is ${(0.08 + i / 100).toFixed(3)}`,
      `    agent.py[line:820] - INFO: predict time is ${(decode - 4).toFixed(3)}`,
      `    agent.py[line:768] - INFO: post_time is ${(3.2 + i / 10).toFixed(3)}`,
      `    agent.py[line:769] - INFO: npu_total_time is ${(decode - 0.5).toFixed(3)}`,
      `  worker.py[line:144] - INFO: DecodeTime ${decode.toFixed(3)}`,
      `master.py[line:420] - INFO: post_process_time time is ${(0.33 + i / 100).toFixed(3)}`,
      `master.py[line:421] - INFO: e-to-e time is ${(decode + 0.7).toFixed(3)}`,
    ];
  };
  return [0, 1, 2].flatMap(step).join("\n");
}

/** The sweep's records and timelines, as much of them as formatSweep reads. */
function sweepResult(): SweepResult {
  const records: ClientRecord[] = [];
  const timelines = new Map<string, ServerTimeline>();
  let stepId = 0;
  for (const n of [8, 32, 128]) {
    for (let rep = 0; rep < 2; rep++) {
      const id = `sweep-${n}-${rep}`;
      const e2e = e2eOf(n, rep);
      records.push({ id, maxTokens: n, outputTokens: n, sent: 0, end: e2e + 0.8, error: undefined } as unknown as ClientRecord);
      const steps = Array.from({ length: 3 }, (_, i) => ({
        id: stepId++,
        requests: [{ id, kind: i === 0 ? "prefill" : "decode", tokens: 1 }],
        spans: { schedule: 0.007, build: 0.006, dispatch: 0.09, decode: 15.8 + i, sample: 0.43, postprocess: 0.05, deliver: 0.004 },
      }));
      const points = { received: 0, queued: 0.21, finished: e2e - 0.3 };
      timelines.set(id, { id, points, durations: { e2e, ttft: 30.5, tpot: 16.1 }, steps, span: { name: "request", start: 0, dur: e2e, children: [{ name: "loop", start: 1, dur: 0.019 }] } } as unknown as ServerTimeline);
    }
  }
  return { records, timelines };
}

/** The server's side, as analyze() would give it: outliers, parts, and steps with an idle minute in the middle. */
function serverAnalysis(): Analysis {
  const parts = (n: number): Parts => Object.fromEntries(OVERHEAD_PARTS.map((p, i) => [p, (i + 1) * 0.3 + (p === "loop" ? n * 0.12 : 0)])) as Parts;
  const sum = (p: Parts): number => Object.values(p).reduce((a, b) => a + b, 0);
  const lengths = LENGTHS.map((n) => ({ length: n, requests: 3, n, measured: e2eOf(n, 0), nTimesT: 16 * n, extraPct: 5, engineExtraPct: 4, outsidePct: 1, fitted: e2eOf(n, 0), residual: 0, overhead: sum(parts(n)), parts: parts(n) }));
  const steps: Array<{ t: number; dur: number }> = [];
  for (let i = 0; i < 400; i++) steps.push({ t: i * 17 + (i >= 200 ? 60_000 : 0), dur: 15.5 + (i % 40) / 20 + (i === 90 ? 12 : 0) });
  return {
    clientRecords: 24,
    completed: 24,
    joined: 24,
    joinRate: 1,
    fit: { a: -8.4, b: 16.9, r2: 0.9991 },
    fitExcluded: 1,
    ttft: 30.5,
    enginePerToken: 16,
    nativePerToken: 15.6,
    lengths,
    positions: [
      { from: 2, to: 61, steps: 480, meanMs: 15.8 },
      { from: 422, to: 480, steps: 177, meanMs: 23 },
    ],
    partsMean: parts(100),
    overheadMean: sum(parts(100)),
    outliers: [{ id: "bench-lzx81k2-000017", n: 240, e2e: 4900, expected: 4770, residual: 130, part: "gc", cause: "major GC 41.3 ms during step 91 (+38.0 ms over its peers' median step), while 3 requests were queued behind it" }],
    k: 5,
    points: LENGTHS.flatMap((n) => [0, 1, 2].map((rep) => ({ x: n, y: e2eOf(n, rep) + (n === 240 && rep === 2 ? 130 : 0), outlier: n === 240 && rep === 2 }))),
    steps,
    gc: [{ t: 90 * 17, dur: 41.3, kind: "major" }],
  };
}

function reportInput(): ReportInput {
  const table = readTable(measurementsCsv(), { spans: "send_request=receive,generate_answer=engine" });
  const explanation = explain({ table: { data: table, source: "measurements.csv: CSV, 24 rows" }, stepLog: { trace: readStepLog(studyLog()), source: "study.log" }, stepMs: 16 });
  // One page with every kind of block: a table's analysis with the server's beside it.
  return { explanation: { ...explanation, server: serverAnalysis() }, preface: formatSweep(sweepResult()) };
}

/** The header cells of every table in the Markdown report, in order: pipe tables, and the step table laid out in a code fence. */
function markdownTableHeads(md: string): string[][] {
  const lines = md.split("\n");
  const heads: string[][] = [];
  const cells = (l: string): string[] => l.trim().replace(/^\||\|$/g, "").split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|"));
  lines.forEach((line, i) => {
    if (line.startsWith("|") && /^\|[\s:|-]+\|$/.test(lines[i + 1] ?? "")) heads.push(cells(line));
    if (line.startsWith("```") && lines[i + 1]?.startsWith("level")) heads.push(lines[i + 1].trim().split(/\s{2,}/).filter((c) => !c.startsWith("(")));
  });
  return heads;
}

// ---- the page's side: what the probe reads (the project compiles without the DOM library, so only what it uses is declared) ----

interface Box {
  left: number;
  right: number;
  top: number;
  bottom: number;
  width: number;
}
interface PageElement {
  tagName: string;
  textContent: string | null;
  scrollWidth: number;
  clientWidth: number;
  parentElement: PageElement | null;
  closest(selector: string): PageElement | null;
  getAttribute(name: string): string | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  getBoundingClientRect(): Box;
}
declare const document: { documentElement: PageElement; body: PageElement; querySelectorAll(selector: string): ArrayLike<PageElement> };
declare function getComputedStyle(e: PageElement): { overflowX: string; textAlign: string; paddingRight: string };

interface Probe {
  page: { scrollWidth: number; clientWidth: number; contentRight: number };
  tables: Array<{ head: string[]; width: number; boxWidth: number; boxScrolls: boolean; boxRight: number; cut: string[]; misaligned: string[] }>;
  pres: string[];
  charts: Array<{ label: string | null; role: string | null; axisTitles: Array<{ cls: string | null; text: string; inside: boolean }>; xTicks: string[]; yTicks: string[]; right: number; subpaths: number[]; legendOverData: string[] }>;
  figuresWithoutSvg: number;
  textAlign: Array<{ tag: string; align: string }>;
  bodyText: string;
}

/** Runs in the page: everything the checks need, measured where the browser laid it out. */
function probe(): Probe {
  const all = (s: string, root?: PageElement): PageElement[] => Array.from((root ?? document).querySelectorAll(s));
  const text = (e: PageElement): string => (e.textContent ?? "").trim();
  const body = document.body.getBoundingClientRect();
  const tables = all("table").map((t) => {
    const box = t.parentElement!;
    const cells = all("th, td", t);
    return {
      head: all("thead th", t).map(text),
      width: t.getBoundingClientRect().width,
      boxWidth: box.clientWidth,
      boxScrolls: /auto|scroll/.test(getComputedStyle(box).overflowX),
      boxRight: box.getBoundingClientRect().right,
      // A cell whose content is wider than the cell shows only part of it.
      cut: cells.filter((c) => c.scrollWidth > c.clientWidth + 1).map(text),
      misaligned: cells.filter((c) => getComputedStyle(c).textAlign !== (c.getAttribute("class") === "num" ? "right" : "left")).map(text),
    };
  });
  const meets = (a: Box, b: Box): boolean => a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
  const charts = all("svg").map((svg) => {
    const frame = svg.getBoundingClientRect();
    const data = all(".bar, .point, .series, .fit, .mark", svg).filter((m) => !m.closest(".legend-item"));
    return {
      label: svg.getAttribute("aria-label"),
      role: svg.getAttribute("role"),
      axisTitles: all("text.axis-title", svg).map((t) => {
        const b = t.getBoundingClientRect();
        return { cls: t.getAttribute("class"), text: text(t), inside: b.left >= frame.left - 0.5 && b.right <= frame.right + 0.5 && b.top >= frame.top - 0.5 && b.bottom <= frame.bottom + 0.5 };
      }),
      xTicks: all("text.tick.x", svg).map(text),
      yTicks: all("text.tick.y", svg).map(text),
      right: frame.right,
      subpaths: all("path.series", svg).map((p) => (p.getAttribute("d") ?? "").split("M").length - 1),
      legendOverData: all(".legend-item", svg)
        .filter((item) => data.some((m) => meets(item.getBoundingClientRect(), m.getBoundingClientRect())))
        .map(text),
    };
  });
  const style = getComputedStyle(document.body);
  return {
    page: { scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth, contentRight: body.right - parseFloat(style.paddingRight) },
    tables,
    pres: all("pre").map(text),
    charts,
    figuresWithoutSvg: all("figure").filter((f) => all("svg", f).length !== 1).length,
    textAlign: all("p, li, h2, h3, caption, figcaption").map((e) => ({ tag: e.tagName, align: getComputedStyle(e).textAlign })),
    bodyText: document.body.textContent ?? "",
  };
}

// ---- the checks ----

describe("the HTML report in a real browser (chromium, 1400 × 900)", () => {
  const input = reportInput();
  let dir = "";
  let context: BrowserContext | undefined;
  let page: Page;
  let seen: Probe;
  const problems: string[] = [];

  before(async () => {
    const browser = chromiumOptions();
    dir = await mkdtemp(join(tmpdir(), "llm-serving-report-"));
    const html = join(dir, "report.html");
    await writeFile(html, htmlReport(input));
    context = await chromium.launchPersistentContext(join(dir, "profile"), { ...browser, headless: true, viewport: VIEWPORT, timeout: 60_000 });
    page = context.pages()[0] ?? (await context.newPage());
    page.on("console", (m) => (m.type() === "error" || m.type() === "warning") && problems.push(`console ${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    // Self-contained: the page may load nothing but itself.
    page.on("request", (r) => r.url() !== pathToFileURL(html).href && problems.push(`request: ${r.url()}`));
    await page.goto(pathToFileURL(html).href, { waitUntil: "load" });
    seen = await page.evaluate(probe);
  });

  after(async () => {
    await context?.close();
    // The screenshot stays, for a person to look at; the browser's profile goes.
    if (dir) await rm(join(dir, "profile"), { recursive: true, force: true });
  });

  test("no console errors, no page errors, nothing fetched", () => {
    assert.deepEqual(problems, []);
  });

  test("every table of the Markdown is a <table>, with its header; no <pre> holds a table, no Markdown shows", () => {
    assert.deepEqual(
      seen.tables.map((t) => t.head),
      markdownTableHeads(markdownReport(input)),
    );
    assert.ok(seen.tables.length >= 8, `${seen.tables.length} tables`);
    for (const pre of seen.pres) assert.doesNotMatch(pre, /^\s*\|.*\|\s*$|\S {2,}[\d.–]+ +[\d.–]+/m, `a table in a <pre>: ${pre.slice(0, 200)}`);
    assert.doesNotMatch(seen.bodyText, /\|\s*-{3}|^#{1,6} |```/m);
  });

  test("the step table from the sweep keeps its levels and its figures", () => {
    const steps = seen.tables.find((t) => t.head[0] === "level");
    assert.ok(steps, "the sweep's step table");
    assert.deepEqual(steps.head, ["level", "decode steps: mean", "p90", "prefill steps: mean", "p90"]);
    assert.equal(steps.cut.length, 0);
    assert.ok(STEP_TREE.every((l) => seen.bodyText.includes(l.name)));
  });

  test("every chart is an <svg> image with a name and two axis titles inside it; ticks are not repeated; legends beside the data, not over it", () => {
    assert.equal(seen.charts.length, 3, "scatter, stacked bars, step series");
    assert.equal(seen.figuresWithoutSvg, 0, "every figure is one <svg>");
    for (const c of seen.charts) {
      assert.equal(c.role, "img");
      assert.ok(c.label && c.label.length > 3, `aria-label ${c.label}`);
      assert.deepEqual(c.axisTitles.map((t) => t.cls).sort(), ["axis-title x", "axis-title y"], c.label ?? "");
      for (const t of c.axisTitles) assert.ok(t.text && t.inside, `${c.label}: axis title ${JSON.stringify(t)}`);
      assert.equal(new Set(c.yTicks).size, c.yTicks.length, `${c.label}: y ticks ${c.yTicks.join(" ")}`);
      assert.equal(new Set(c.xTicks).size, c.xTicks.length, `${c.label}: x ticks ${c.xTicks.join(" ")}`);
      assert.ok(c.right <= seen.page.contentRight + 0.5, `${c.label}: ends at ${c.right} px`);
      assert.deepEqual(c.legendOverData, [], `${c.label}: legend entries over the data`);
    }
    const series = seen.charts.find((c) => c.subpaths.length > 0);
    assert.deepEqual(series?.subpaths, [2], "the idle minute breaks the step line in two");
  });

  test("fits the window: no sideways scroll of the page; a table wider than its box scrolls in it, and no cell is cut", () => {
    assert.ok(seen.page.scrollWidth <= seen.page.clientWidth, `page ${seen.page.scrollWidth} px wide in a ${seen.page.clientWidth} px window`);
    for (const t of seen.tables) {
      assert.ok(t.boxRight <= seen.page.contentRight + 0.5, `${t.head[0]}…: its box ends at ${t.boxRight} px, past the content's ${seen.page.contentRight}`);
      assert.ok(t.width <= t.boxWidth + 0.5 || t.boxScrolls, `${t.head.join(" | ")}: ${t.width} px in a ${t.boxWidth} px box that does not scroll`);
      assert.deepEqual(t.cut, [], `cut cells in ${t.head.join(" | ")}`);
    }
    // Scrolling is the last resort: this input's widest table (fourteen columns of overhead parts) fits as it is.
    const scrolled = seen.tables.filter((t) => t.width > t.boxWidth + 0.5);
    assert.deepEqual(scrolled.map((t) => t.head.join(" | ")), []);
  });

  test("figures align right, text left", () => {
    for (const t of seen.tables) assert.deepEqual(t.misaligned, [], t.head.join(" | "));
    for (const e of seen.textAlign) assert.match(e.align, /^(left|start)$/, e.tag);
  });

  test("a screenshot, for a person to look at", async () => {
    const path = join(dir, "report.png");
    await page.screenshot({ path, fullPage: true });
    console.log(`screenshot: ${path}`);
  });
});

describe("chart axes and lines (no browser)", () => {
  test("ticks are round, cover the data with less than one step to spare, and read differently", () => {
    for (const [min, max] of [[0, 9665.2], [0, 1], [0, 0.0042], [-92, 9700], [0, 33.66], [15.2, 15.9], [0, 0], [3, 3], [0, 480], [0, 2.5]]) {
      const a = niceAxis(min, max);
      const step = a.ticks[1] - a.ticks[0];
      assert.ok(a.lo <= min && a.hi >= max, `[${min}, ${max}] → ${a.ticks}`);
      assert.ok(a.ticks.length >= 2 && a.ticks.length <= 7, `[${min}, ${max}] → ${a.ticks}`);
      if (max > min) assert.ok(min - a.lo < step + 1e-9 && a.hi - max < step + 1e-9, `[${min}, ${max}] → ${a.ticks}`);
      const labels = a.ticks.map(a.label);
      assert.equal(new Set(labels).size, labels.length, labels.join(" "));
      assert.ok(labels.every((l) => !/e|^-0/.test(l)), labels.join(" "));
    }
  });

  test("a fitted line with a negative intercept is cut at the x axis, not given a step of empty axis below zero", () => {
    const points = [1, 100, 200, 480].map((n) => ({ x: n, y: 16 * n * (1 + n / 1000) }));
    const svg = scatterWithFit("s", points, { a: -92, b: 19 }, "n", "ms");
    const ticks = [...svg.matchAll(/class="tick y"[^>]*>([^<]*)</g)].map((m) => m[1]);
    assert.equal(ticks[0], "0", ticks.join(" "));
    const [y1, y2] = [/ y1="([\d.]+)"/, / y2="([\d.]+)"/].map((r) => Number(r.exec(/<line class="fit"[^>]*>/.exec(svg)![0])![1]));
    const axis = Number(/class="tick y" x="[\d.]+" y="([\d.]+)"/.exec(svg)![1]) - 4;
    assert.ok(y1 <= axis + 0.1 && y2 <= axis + 0.1, `line from y ${y1} to ${y2}, the x axis at ${axis}`);
  });

  test("a line breaks where the time between two points is over 10 × the usual, and only there", () => {
    const at = (ts: number[]): number[][] => segments(ts, (t) => t);
    assert.deepEqual(at([0, 1, 2, 3, 50, 51, 52]), [[0, 1, 2, 3], [50, 51, 52]]);
    assert.deepEqual(at([0, 1, 2, 3, 9, 10]), [[0, 1, 2, 3, 9, 10]]);
    assert.deepEqual(at([5]), [[5]]);
    const svg = timeSeries("t", [0, 1, 2, 3, 500, 501, 502].map((t) => ({ t, v: t % 3 })), [], "v (ms)");
    assert.equal(/class="series" d="([^"]*)"/.exec(svg)![1].split("M").length - 1, 2);
  });

  test("a stacked chart that leaves out negative parts says so, so that a bar above its overhead is not taken for an error", () => {
    // Found by a new user: through a gateway, native_variance was −138 ms and the bar stood 60 ms above the overhead.
    const withNegative = serverAnalysis();
    withNegative.lengths[0].parts.native_variance = -57;
    // Charts are the HTML report's (the Markdown one has their tables).
    const caption = (a: Analysis): string => /<figcaption>(Overhead parts per output length[^<]*)<\/figcaption>/.exec(htmlReport({ explanation: { ...reportInput().explanation, server: a } }))![1];
    assert.match(caption(withNegative), /Negative parts \(a part below what c expects\) are not drawn/);
    assert.doesNotMatch(caption(serverAnalysis()), /Negative parts/);
  });

  test("figures with their thousands grouped ('55 469') are figures: their columns align right with the rest", () => {
    // Found by a new user: "pause ms" and "TTFT ms" sat left-aligned beside right-aligned neighbours.
    for (const yes of ["55 469", "1 110", "79 586.5", "12 ms", "−3.5", "12.5 (3.1 %)"]) assert.ok(isFigure(yes), yes);
    for (const no of ["3 4", "1 23", "12 345 6", "abc", "bench-1"]) assert.ok(!isFigure(no), no);
    assert.match(tableHtml({ head: ["request", "pause ms"], rows: [["a", "55 469"], ["b", "131"]] }), /<td class="num">55 469<\/td>/);
  });

  test("the overhead parts beyond the palette are hatched in colours far apart, the stripes leaning in turn", () => {
    const svg = stackedBars("parts", ["8"], OVERHEAD_PARTS.map((name) => ({ name, values: [1] })), "ms");
    const patterns = [...svg.matchAll(/<pattern id="[^"]*" [^>]*rotate\((-?\d+)\)"><rect width="6" height="6" fill="([^"]+)"/g)].map((m) => ({ angle: m[1], color: m[2] }));
    assert.equal(patterns.length, OVERHEAD_PARTS.length - 8);
    assert.equal(new Set(patterns.map((p) => p.color)).size, patterns.length, "no two hatched parts share a colour");
    // "remote" and "stall" were hatched orange and vermilion: one colour to the eye.
    const color = (part: string): string => patterns[OVERHEAD_PARTS.indexOf(part as never) - 8].color;
    assert.ok(!["#E69F00", "#D55E00"].every((c) => [color("remote"), color("stall")].includes(c)), `remote ${color("remote")}, stall ${color("stall")}`);
    patterns.slice(1).forEach((p, i) => assert.notEqual(p.angle, patterns[i].angle, "next hatched parts lean different ways"));
  });

  test("a long engine step does not break the step-duration line: only the idle time after a step's end does", () => {
    // Steps of 1 ms back to back, then one of 40 ms, then 1 ms steps again; later an idle second.
    const steps = [0, 1, 2, 3, 4, 44, 45, 46, 1046, 1047].map((t) => ({ t, dur: t === 4 ? 40 : 1 }));
    const at = segments(steps, (s) => s.t, 10, (s) => s.t + s.dur).map((seg) => seg.map((s) => s.t));
    assert.deepEqual(at, [[0, 1, 2, 3, 4, 44, 45, 46], [1046, 1047]]);
    const svg = timeSeries("t", steps.map((s) => ({ t: s.t, v: s.dur, end: s.t + s.dur })), [], "step (ms)");
    assert.equal(/class="series" d="([^"]*)"/.exec(svg)![1].split("M").length - 1, 2);
  });
});
