/**
 * The dashboard page: the live "Now" view from GET /debug/stream (read with
 * fetch, so that an API key can go with it), and a chosen request's
 * waterfall from GET /debug/requests/{id}. Every value goes into the page as
 * text (textContent), never as markup.
 */
import { renderDecodeByBatch, renderDecodeByContext, renderQueue, renderThroughput, type HistoryPoint } from "./charts.js";
import { clearDistributions, drawDistributions, type Distributions } from "./distributionCharts.js";
import { renderStepDetail } from "./stepDetail.js";
import { readOfflineRun } from "./offlineRecords.js";
import { counted, dur, engineRows, gauges, path, rows, setText } from "./liveTables.js";
import { followLive } from "./liveFeed.js";
import type { Snapshot, Stats } from "./snapshot.js";
import { HeldSteps } from "./stepFeed.js";
import { renderSteps, type StepWindow } from "./steps.js";
import { f } from "./svg.js";
import type { RequestRecord } from "./requestRecord.js";
import { renderWaterfall, summaryLine } from "./waterfall.js";

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const KEY = "llm-serving-api-key";
let selected: string | undefined;
/** Offline: the requests of an opened timelines file, by id; the live feed is stopped. */
let offline: Map<string, RequestRecord> | undefined;
/** Offline: the client's e2e of each request a loaded client records file measured. */
let offlineClientE2e = new Map<string, number>();
/** Counts the requests asked for, so that only the latest choice is drawn. */
let showing = 0;

function headers(): HeadersInit {
  const key = sessionStorage.getItem(KEY);
  return key ? { authorization: `Bearer ${key}` } : {};
}

const pct = (s: Stats): string => `${dur(s.p50)} / ${dur(s.p90)}`;

function status(text: string, kind: "live" | "down" | ""): void {
  const s = $("connection");
  s.textContent = text;
  s.className = kind;
}

/**
 * The live lists hold still while the pointer is on either: under load rows
 * move a few times a second, and a click would open the one that slid under
 * it. Both, because the list above growing or shrinking moves the one below.
 */
function liveRows(table: "running" | "recent", items: Array<{ id: string; cells: string[] }>, paused: boolean): void {
  const t = $(table);
  t.classList.toggle("paused", paused);
  if (!paused) rows(t.querySelector("tbody")!, items, selected);
}

/** What a redraw reads of the page before it writes anything: a read after a write makes the browser lay the page out an extra time, in the middle of the redraw. */
interface Held {
  /** The pointer is on a live list. */
  lists: boolean;
  /** The pointer or the focus is on the step timeline. */
  steps: boolean;
  stepsWidth: number;
}

function held(): Held {
  const box = $("steps");
  return { lists: $("running").matches(":hover") || $("recent").matches(":hover"), steps: box.matches(":hover") || box.contains(document.activeElement), stepsWidth: box.clientWidth };
}

/** Running and waiting per snapshot, for the queue chart: two minutes at two a second. */
const history: HistoryPoint[] = [];
const HISTORY = 240;

function render(s: Snapshot): void {
  const h = held();
  setText($("model"), s.model);
  history.push({ at: Date.now(), running: s.running.length, waiting: s.engine?.waiting ?? 0, tokensPerSecond: s.tokens_last_second });
  if (history.length > HISTORY) history.shift();
  drawHistoryCharts();
  const e = s.engine;
  // Remote engines (and a local one among them): each as the router sees it and as it says it is loaded.
  const engines = e?.engines ?? [];
  remoteOnly = engines.length > 0 && !engines.some((x) => x.kind === "local");
  gauges($("gauges"), [
    ["state", s.state],
    ["running", f(e?.running)],
    ["waiting", f(e?.waiting)],
    // Batches, the KV cache and steps are this process's model's: with remote engines only, the backends have them (their KV in the engines table).
    ...(remoteOnly
      ? []
      : ([
          ["batch", f(e?.batchSize)],
          ["KV blocks", e ? `${e.kv.usedBlocks} / ${e.kv.totalBlocks}` : "–"],
          ["steps", f(e?.steps)],
        ] as Array<[string, string]>)),
  ]);
  const box = $("engines-box");
  if (box.hidden !== (engines.length === 0)) box.hidden = engines.length === 0;
  engineRows($("engines").querySelector("tbody")!, engines);
  const w = s.window;
  gauges($("window"), [
    ["requests", String(w.requests)],
    ["tokens/s", f(w.tokens_per_second)],
    ["TTFT p50 / p90 (ms)", pct(w.ttft_ms)],
    ["TPOT p50 / p90 (ms)", pct(w.tpot_ms)],
    ["e2e p50 / p90 (ms)", pct(w.e2e_ms)],
  ]);
  liveRows("running", s.running.map((r) => ({ id: r.id, cells: [r.id, path(r.route), r.phase, String(r.prompt_tokens), String(r.generated_tokens), dur(r.age_ms), r.engine ?? ""] })), h.lists);
  liveRows("recent", s.recent.map((r) => ({ id: r.id, cells: [r.id, path(r.route), String(r.status), r.finish_reason ?? "", String(r.generated_tokens), dur(r.e2e_ms), dur(r.ttft_ms), dur(r.tpot_ms)] })), h.lists);
  // In the same task as the lists: the browser draws both in one frame.
  if (s.steps) {
    stepWindow = heldSteps.take(s.steps);
    drawSteps(h);
  }
}

/** How to read the step timeline: the page's own text (index.html), to which the live view adds what it left out. */
const STEPS_NOTE = $("steps-note").textContent ?? "";
let stepWindow: StepWindow | undefined;
const heldSteps = new HeldSteps();

/** Every engine is remote: no step is taken here. */
let remoteOnly = false;
const NO_STEPS_HERE = "No engine steps here: every engine is remote. A relayed request's time across the hop (connect, send, wait, stream) is on its waterfall, and each engine's on the charts above.";

/** `h`: read before the caller wrote anything. */
function drawSteps(h: Held = held()): void {
  const box = $("steps");
  if (!stepWindow || offline) return;
  for (const id of ["steps", "chart-batch", "chart-context"]) $(id).hidden = remoteOnly;
  if (remoteOnly) return setText($("steps-note"), NO_STEPS_HERE);
  // Held still while the pointer or the keyboard is on it, as the lists are: under load every bar moves with each snapshot, and the one pointed at would slide away.
  box.classList.toggle("paused", h.steps);
  if (!h.steps) renderSteps(box, stepWindow, h.stepsWidth || 640, selected, showWindowStep);
  drawStepCharts();
  setText($("steps-note"), `${STEPS_NOTE}${stepWindow.truncated ? ` Only the newest ${stepWindow.steps.length} steps are shown.` : ""}`);
}

/**
 * The charts a snapshot changes are redrawn only while they are in view,
 * each on its own, and at once when one comes into view: out of view they
 * still cost the browser a layout of their text with every snapshot (~1 %
 * of a core), and at 1400 × 900 the charts' row shows only its top. Each is
 * drawn once wherever it is, so that it holds its room: one appearing only
 * when scrolled to would push what is below it down.
 */
const chartsInView = new Set<string>();

const liveCharts = new IntersectionObserver((entries) => {
  for (const e of entries) {
    if (e.isIntersecting) chartsInView.add(e.target.id);
    else chartsInView.delete(e.target.id);
  }
  if (!offline) {
    drawHistoryCharts();
    drawStepCharts();
  }
});
for (const id of ["chart-batch", "chart-context", "chart-queue", "chart-throughput"]) liveCharts.observe($(id));

/** Draws a live chart if it is in view or was never drawn. */
function redrawChart(id: string, draw: (box: HTMLElement) => void): void {
  const box = $(id);
  if (!chartsInView.has(id) && box.hasChildNodes()) return;
  box.replaceChildren();
  draw(box);
}

function drawHistoryCharts(): void {
  if (history.length === 0) return;
  redrawChart("chart-queue", (box) => renderQueue(box, history));
  redrawChart("chart-throughput", (box) => renderThroughput(box, history));
}

function drawStepCharts(): void {
  if (!stepWindow) return;
  const steps = stepWindow.steps;
  redrawChart("chart-batch", (box) => renderDecodeByBatch(box, steps));
  redrawChart("chart-context", (box) => renderDecodeByContext(box, steps));
}

/** The last minute's histograms, every 5 s while the page is shown and live (every 0.5 s until drawn once). */
async function refreshCharts(): Promise<void> {
  if (offline || liveless()) return;
  let drawn = false;
  try {
    if (document.visibilityState === "visible" && $("connection").className === "live") {
      const res = await fetch("/debug/distributions", { headers: headers() });
      if (res.ok) {
        const d = (await res.json()) as Distributions;
        if (offline) return; // a file was opened meanwhile
        drawDistributions(d);
        drawn = true;
      }
    }
  } catch {
    // A failed or cut answer (the server going away): the next round asks again.
  } finally {
    if (!offline) setTimeout(() => void refreshCharts(), drawn ? 5000 : 500);
  }
}

/** The server has no live view (its timing is off): the page is a file viewer only, and says so. */
const liveless = (): boolean => document.body.classList.contains("liveless");

/** A request's record from the server (GET /debug/requests/{id}); none, with the answer's status, once it has left the ring. */
async function fetchRecord(id: string): Promise<{ record: RequestRecord | undefined; status: number }> {
  const res = await fetch(`/debug/requests/${encodeURIComponent(id)}`, { headers: headers() });
  return { record: res.ok ? ((await res.json()) as RequestRecord) : undefined, status: res.status };
}

async function showRequest(id: string): Promise<void> {
  selected = id;
  drawSteps();
  for (const tr of document.querySelectorAll<HTMLElement>("tbody tr")) tr.setAttribute("aria-selected", String(tr.dataset.id === id));
  $("waterfall-id").textContent = id;
  if (offline) {
    const record = offline.get(id);
    if (record) drawRequest(record);
    return;
  }
  const ticket = ++showing;
  const missing = (why: string): void => {
    $("waterfall-summary").textContent = why;
    $("waterfall").replaceChildren();
    $("step-detail").hidden = true;
  };
  try {
    const { record, status } = await fetchRecord(id);
    // Clicked again meanwhile: the later choice is drawn, whichever answer comes last.
    if (ticket !== showing) return;
    if (record) {
      drawRequest(record);
      if (!record.complete) setTimeout(() => void followRunning(id, ticket), RUNNING_REFRESH_MS);
    } else missing(status === 404 && liveless() ? "not available: timing is switched off on this server (--no-timing)" : `not available (${status}): it may have left the ring of recent requests`);
  } catch (err) {
    if (ticket === showing) missing(`not available: ${(err as Error).message}`);
  }
}

/** A running request's waterfall grows: redrawn each second until it has ended, unless one of its steps is open or another request was chosen. */
const RUNNING_REFRESH_MS = 1000;

async function followRunning(id: string, ticket: number): Promise<void> {
  if (ticket !== showing || offline) return;
  try {
    const { record } = await fetchRecord(id);
    if (ticket !== showing || offline || !record) return;
    if ($("step-detail").hidden) drawRequest(record);
    if (record.complete) return;
  } catch {
    // The server going away: the next round asks again.
  }
  setTimeout(() => void followRunning(id, ticket), RUNNING_REFRESH_MS);
}

/** The request drawn last, to draw again at a new width. */
let drawnRecord: RequestRecord | undefined;

function drawRequest(record: RequestRecord): void {
  drawnRecord = record;
  const client = offline ? offlineClientE2e.get(record.id) : undefined;
  // Joined: what the client measured beside what the server did (clocks differ: only durations compare).
  const joined = client !== undefined && !record.route.startsWith("client") ? ` · client e2e ${f(client)} ms (${f(client - record.durations.e2e)} ms outside the server)` : "";
  $("waterfall-summary").textContent = summaryLine(record) + joined;
  const box = $("waterfall");
  $("step-detail").hidden = true;
  renderWaterfall(box, record, box.clientWidth || 640, (id) => {
    const st = record.steps.find((x) => x.id === id);
    if (st) renderStepDetail($("step-detail"), { id, dur: st.dur, rows: st.rows, decode: st.spans.decode ?? null, spans: st.spans, requests: st.requests }, (other) => void showRequest(other));
  });
}

/** A step of the live step timeline, opened by a click on its bar. */
function showWindowStep(st: StepWindow["steps"][number]): void {
  renderStepDetail($("step-detail"), { id: st.id, dur: st.dur, rows: st.rows, decode: st.decode, requests: st.requests.map((r) => ({ id: r })) }, (other) => void showRequest(other));
}

/** Files from disk: server timelines (--timeline-file) and client records (bench --records), joined by id; the live feed stops. */
function openRecords(texts: readonly string[], name: string): void {
  const run = readOfflineRun(texts);
  offline = run.requests;
  offlineClientE2e = run.clientE2e;
  const parts = [run.servers ? counted(run.servers, "server timeline") : "", run.clients ? counted(run.clients, "client record") : "", run.skipped ? `${counted(run.skipped, "other line")} skipped` : ""].filter((p) => p !== "");
  status(`offline: ${name}, ${counted(run.requests.size, "request")}${parts.length ? ` (${parts.join(", ")})` : ""}`, "");
  // Nothing live stays on the page: the file's requests only.
  document.body.classList.add("offline");
  stepWindow = undefined;
  heldSteps.clear();
  clearDistributions();
  for (const id of ["chart-batch", "chart-context", "chart-queue", "chart-throughput", "steps", "gauges", "window"]) $(id).replaceChildren();
  $("engines-box").hidden = true;
  $("step-detail").hidden = true;
  $("running").querySelector("tbody")!.replaceChildren();
  $("steps-note").textContent = "Offline: the steps each request rode are on its waterfall's step row (click one to open it).";
  const records = [...run.requests.values()];
  rows($("recent").querySelector("tbody")!, records.map((r) => ({ id: r.id, cells: [r.id, path(r.route), String(r.status), r.finish_reason ?? "", String(r.generated_tokens), dur(r.durations.e2e), dur(r.durations.ttft), dur(r.durations.tpot)] })), selected);
}

/** The live feed, until a file is opened (or a key is wanted: the form starts it again). */
function live(): Promise<void> {
  return followLive({
    headers,
    offline: () => offline !== undefined,
    opened: () => {
      heldSteps.clear();
      status("live", "live");
    },
    snapshot: render,
    status,
    unauthorized: () => {
      status("this server wants an API key", "down");
      $("key-form").hidden = false;
    },
    unavailable: () => {
      document.body.classList.add("liveless");
      $("steps-note").textContent = "No engine steps or requests here: this server's timing is switched off (--no-timing). Open a timelines or client-records file from disk to look at its requests.";
      status("no live view: timing is switched off on this server (--no-timing); a file can still be opened", "down");
    },
  });
}

// The drawings are as wide as their boxes were: a window made narrower or wider draws them again.
let resizing: ReturnType<typeof setTimeout> | undefined;
window.addEventListener("resize", () => {
  clearTimeout(resizing);
  resizing = setTimeout(() => {
    if (drawnRecord && $("step-detail").hidden) drawRequest(drawnRecord);
    drawSteps();
  }, 200);
});

function choose(event: Event): void {
  const tr = (event.target as HTMLElement).closest<HTMLElement>("tbody tr");
  if (tr?.dataset.id) void showRequest(tr.dataset.id);
}

document.addEventListener("click", choose);
document.addEventListener("keydown", (e) => {
  if (e.key === "Enter") choose(e);
});
$("key-form").addEventListener("submit", (e) => {
  e.preventDefault();
  sessionStorage.setItem(KEY, $<HTMLInputElement>("key").value);
  $("key-form").hidden = true;
  void live();
});
async function openFiles(files: readonly File[]): Promise<void> {
  if (files.length === 0) return;
  const name = files.map((f) => f.name).join(" + ");
  try {
    openRecords(await Promise.all(files.map((f) => f.text())), name);
    $("file-status").textContent = "";
  } catch (err) {
    // Beside the file button, not in the connection's status, which the live feed keeps rewriting.
    $("file-status").textContent = `${name}: not timelines or client records: ${(err as Error).message}`;
  }
}

$<HTMLInputElement>("open-file").addEventListener("change", (e) => void openFiles([...((e.target as HTMLInputElement).files ?? [])]));
document.addEventListener("dragover", (e) => e.preventDefault());
document.addEventListener("drop", (e) => {
  e.preventDefault();
  void openFiles([...(e.dataTransfer?.files ?? [])]);
});

const params = new URLSearchParams(location.search);
const asked = params.get("request");
if (params.get("offline") !== null) {
  // The page is the files' from the start: no live parts while they load, nor if they cannot be read.
  document.body.classList.add("offline");
  // `llm-serving dashboard FILE` serves the file beside the page.
  const name = params.get("offline") || "the files";
  void (async () => {
    try {
      const res = await fetch("/dashboard/offline.json");
      if (!res.ok) return status(`${name} could not be read (${res.status})`, "down");
      const { files } = (await res.json()) as { files: Array<{ name: string; text: string }> };
      openRecords(files.map((f) => f.text), name);
    } catch (err) {
      status(`${name}: not timelines or client records: ${(err as Error).message}`, "down");
    }
  })();
} else {
  if (asked) void showRequest(asked);
  void live();
  void refreshCharts();
}
