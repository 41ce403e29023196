/**
 * GET /debug/trace: the kept steps, requests and runtime events as Chrome
 * Trace Event JSON (open it in Perfetto or chrome://tracing). Tracks:
 *
 * - "engine steps": one slice per step, its stages nested inside;
 * - one async track per request (b/e), and a "request <id>" thread whose
 *   slices are the request's spans, with flow arrows from each step to the
 *   request's slice for that step;
 * - "GC": an instant and a slice per GC pause; "event loop": a slice per stall;
 * - counters: queue depth and batch size per step, loop delay per stall.
 *
 * Times are µs since the process's time origin; every track's events are in time order.
 */
import { gcKindName } from "./RuntimeMonitor.js";
import type { RequestBreakdown, RuntimeEvents, Span } from "./requestBreakdown.js";
import { breakdownRequest, stepSpan } from "./requestBreakdown.js";
import { stepTokens, type StepRecord } from "./StepRecord.js";
import type { StepStore } from "./StepStore.js";
import type { TimelineStore } from "./TimelineStore.js";

export interface TraceEvent {
  name: string;
  ph: string;
  ts: number;
  pid: number;
  tid: number;
  dur?: number;
  cat?: string;
  id?: string | number;
  s?: string;
  bp?: string;
  args?: Record<string, unknown>;
}

const PID = 1;
const ENGINE = 1;
const GC = 2;
const LOOP = 3;
const FIRST_REQUEST_TID = 1000;

const us = (ms: number): number => Math.round(ms * 1000);

function meta(tid: number, name: string, sortIndex: number): TraceEvent[] {
  return [
    { name: "thread_name", ph: "M", ts: 0, pid: PID, tid, args: { name } },
    { name: "thread_sort_index", ph: "M", ts: 0, pid: PID, tid, args: { sort_index: sortIndex } },
  ];
}

function slice(name: string, start: number, end: number, tid: number, args?: Record<string, unknown>): TraceEvent {
  return { name, ph: "X", ts: us(start), dur: Math.max(0, us(end) - us(start)), pid: PID, tid, cat: "llm-serving", args };
}

function stepEvents(step: StepRecord, events: RuntimeEvents | undefined): TraceEvent[] {
  const span = stepSpan(step, events);
  const out: TraceEvent[] = [
    slice(`step ${step.id}`, span.start, span.end, ENGINE, {
      rows: step.rows.length,
      tokens: stepTokens(step),
      requests: step.rows.map((r) => r.requestId),
      gap_ms: step.gap,
    }),
  ];
  for (const c of span.children!) out.push(slice(c.name, c.start, c.end, ENGINE));
  out.push({ name: "batch size", ph: "C", ts: us(span.start), pid: PID, tid: ENGINE, args: { rows: step.rows.length } });
  if (step.waiting !== undefined) out.push({ name: "queue depth", ph: "C", ts: us(span.start), pid: PID, tid: ENGINE, args: { waiting: step.waiting } });
  return out;
}

function requestEvents(b: RequestBreakdown, tid: number, flowIds: { next: number }): TraceEvent[] {
  const out: TraceEvent[] = meta(tid, `request ${b.id}`, tid);
  const root = b.span;
  out.push({ name: `request ${b.id}`, ph: "b", ts: us(root.start), pid: PID, tid, cat: "request", id: b.id, args: { route: b.route, status: b.status } });
  out.push({ name: `request ${b.id}`, ph: "e", ts: us(root.end), pid: PID, tid, cat: "request", id: b.id });
  out.push(slice(`request ${b.id}`, root.start, root.end, tid, { route: b.route, status: b.status, generated_tokens: b.generatedTokens }));
  for (const c of root.children as Span[]) {
    out.push(slice(c.step !== undefined ? `step ${c.step}` : c.name, c.start, c.end, tid));
    if (c.step !== undefined) {
      // Flow arrow: from the step's slice on the engine track to this request's slice for it (both start at c.start).
      const id = flowIds.next++;
      out.push({ name: "carried", ph: "s", ts: us(c.start), pid: PID, tid: ENGINE, cat: "flow", id });
      out.push({ name: "carried", ph: "f", bp: "e", ts: us(c.start), pid: PID, tid, cat: "flow", id });
    }
  }
  return out;
}

function runtimeEvents(events: RuntimeEvents): TraceEvent[] {
  const out: TraceEvent[] = [];
  for (const g of events.gc.all()) {
    const kind = gcKindName(g.kind);
    out.push({ name: `gc ${kind}`, ph: "i", s: "t", ts: us(g.start), pid: PID, tid: GC, args: { duration_ms: g.end - g.start } });
    out.push(slice(`gc ${kind}`, g.start, g.end, GC));
  }
  for (const s of events.stalls.all()) {
    out.push(slice("loop stall", s.start, s.end, LOOP, { duration_ms: s.end - s.start }));
    out.push({ name: "loop delay", ph: "C", ts: us(s.start), pid: PID, tid: LOOP, args: { ms: s.end - s.start } });
    out.push({ name: "loop delay", ph: "C", ts: us(s.end), pid: PID, tid: LOOP, args: { ms: 0 } });
  }
  return out;
}

/** Sorts by time; a slice that starts with another comes before it when it is longer (its parent). */
function byTime(a: TraceEvent, b: TraceEvent): number {
  return a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0);
}

export function chromeTrace(steps: StepStore, timelines: TimelineStore, events: RuntimeEvents | undefined): { traceEvents: TraceEvent[]; displayTimeUnit: string } {
  const out: TraceEvent[] = [
    { name: "process_name", ph: "M", ts: 0, pid: PID, tid: ENGINE, args: { name: "llm-serving" } },
    ...meta(ENGINE, "engine steps", 0),
    ...meta(GC, "GC", 1),
    ...meta(LOOP, "event loop", 2),
  ];
  for (const step of steps.all()) out.push(...stepEvents(step, events));
  const flowIds = { next: 1 };
  timelines
    .recent()
    .reverse()
    .forEach((t, i) => out.push(...requestEvents(breakdownRequest(t, steps, events), FIRST_REQUEST_TID + i, flowIds)));
  if (events) out.push(...runtimeEvents(events));
  const metadata = out.filter((e) => e.ph === "M");
  const timed = out.filter((e) => e.ph !== "M").sort(byTime);
  return { traceEvents: [...metadata, ...timed], displayTimeUnit: "ms" };
}
