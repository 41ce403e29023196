/** JSON views of request timelines and steps (GET /debug/requests[/{id}], --timeline-file): their shape is recordJson.ts. */
import type { DurationsJson, HopJson, RequestRecordJson, RequestSummaryJson, RuntimeEventJson, SpanJson, StatsJson, StepJson, TokenTimesJson } from "./recordJson.js";
import type { HopBreakdown, RequestBreakdown, RuntimeEvents, Span, Stats } from "./requestBreakdown.js";
import { stepSpan } from "./requestBreakdown.js";
import type { RequestTimeline } from "./RequestTimeline.js";
import { StepPoint } from "./points.js";
import { stepTokens, type StepRecord } from "./StepRecord.js";
import type { StepStore } from "./StepStore.js";
import { gcKindName } from "./RuntimeMonitor.js";

export const ms = (x: number | null | undefined): number | null => (x == null || Number.isNaN(x) ? null : Math.round(x * 1000) / 1000);
/** For times that are always there (a span's start and length, a duration every request has). */
const msOf = (x: number): number => Math.round(x * 1000) / 1000;

/** Stats in ms to the µs, for JSON. */
export function statsJson(s: Stats): StatsJson {
  return { n: s.n, mean: ms(s.mean), p50: ms(s.p50), p90: ms(s.p90), max: ms(s.max) };
}

function spanJson(s: Span, origin: number): SpanJson {
  const out: SpanJson = { name: s.name, start: msOf(s.start - origin), dur: msOf(s.dur) };
  if (s.gcMs) out.gc_ms = msOf(s.gcMs);
  if (s.stallMs) out.stall_ms = msOf(s.stallMs);
  if (s.step !== undefined) out.step = s.step;
  if (s.children) out.children = s.children.map((c) => spanJson(c, origin));
  return out;
}

/** The named durations of a request (docs/timing.md, "Request durations"). */
export function durationsJson(b: RequestBreakdown): DurationsJson {
  const d = b.durations;
  return {
    e2e: msOf(d.e2e),
    ttft: ms(d.ttft),
    tpot: ms(d.tpot),
    itl: { delivered: statsJson(d.itl.delivered), written: statsJson(d.itl.written) },
    queue: msOf(d.queue),
    prefill: ms(d.prefill),
    decode: ms(d.decode),
    respond: msOf(d.respond),
    overhead: msOf(d.overhead),
    gc: msOf(d.gc),
    stall: msOf(d.stall),
    untimed: msOf(d.untimed),
    coverage: Math.round(d.coverage * 1e6) / 1e6,
    time_to_free: ms(d.timeToFree),
  };
}

/** One line per request for GET /debug/requests. */
export function requestSummaryJson(b: RequestBreakdown): RequestSummaryJson {
  return {
    id: b.id,
    route: b.route,
    status: b.status,
    aborted: b.aborted,
    complete: b.complete,
    finish_reason: b.finishReason || null,
    prompt_tokens: b.promptTokens,
    generated_tokens: b.generatedTokens,
    durations: durationsJson(b),
  };
}

/** A step with its spans and what overlapped it. */
export function stepJson(step: StepRecord, events: RuntimeEvents | undefined, origin = 0): StepJson {
  const span = stepSpan(step, events);
  return {
    id: step.id,
    start: msOf(span.start - origin),
    dur: msOf(span.dur),
    gap: ms(step.gap),
    rows: step.rows.length,
    tokens: stepTokens(step),
    decodes: step.decodes,
    requests: step.rows.map((r) => ({ id: r.requestId, kind: r.kind, tokens: r.tokens, position: r.position })),
    spans: Object.fromEntries(span.children!.map((c) => [c.name, ms(c.dur)])),
    gc_ms: msOf(span.gcMs),
    stall_ms: msOf(span.stallMs),
  };
}

/** Everything about one request: points, span tree, durations, per-token times and the steps that carried it. */
export function requestDetailJson(b: RequestBreakdown, t: RequestTimeline, steps: StepStore | undefined, events: RuntimeEvents | undefined): RequestRecordJson {
  const origin = b.origin;
  const trace = t.trace;
  const tokens: TokenTimesJson[] = [];
  if (trace) {
    for (let i = 0; i < trace.tokenDelivered.length; i++) {
      const step = steps?.get(trace.tokenStep.get(i));
      tokens.push({
        step: trace.tokenStep.get(i),
        sampled: ms(step ? step.marks.get(StepPoint.sampled) - origin : NaN),
        detokenized: ms(step ? step.marks.get(StepPoint.postprocessed) - origin : NaN),
        delivered: ms(trace.tokenDelivered.get(i) - origin),
        written: ms(t.tokenWritten.get(i) - origin),
      });
    }
  }
  const stepIds = trace ? trace.steps.toArray() : [];
  const kept = stepIds.map((id) => steps?.get(id)).filter((s): s is StepRecord => s !== undefined);
  return {
    ...requestSummaryJson(b),
    /** The server clock's reading at `received` (ms since the server process started): every other time here is relative to it. */
    origin: msOf(origin),
    points: Object.fromEntries(Object.entries(b.points).map(([k, v]) => [k, ms(v)])),
    missing_steps: b.missingSteps,
    ...(b.hop ? { hop: hopJson(b.hop) } : {}),
    span: spanJson(b.span, origin),
    tokens,
    steps: kept.map((s) => stepJson(s, events, origin)),
    events: runtimeEventsJson(b, kept, events),
  };
}

/** The GC pauses and loop stalls that overlapped the request, each with the step it began in. */
function runtimeEventsJson(b: RequestBreakdown, steps: readonly StepRecord[], events: RuntimeEvents | undefined): RuntimeEventJson[] {
  if (!events) return [];
  const stepAt = (t: number): number | null =>
    steps.find((s) => s.marks.get(StepPoint.step_start) <= t && t <= s.marks.get(StepPoint.delivered))?.id ?? null;
  return runtimeEventsBetween(events, b.span.start, b.span.end, b.origin, stepAt);
}

/** The GC pauses and loop stalls that overlapped [from, to], in order, times in ms from `origin`, each with the step it began in (`stepAt`). */
export function runtimeEventsBetween(events: RuntimeEvents, from: number, to: number, origin: number, stepAt: (t: number) => number | null = () => null): RuntimeEventJson[] {
  const out: RuntimeEventJson[] = [];
  const add = (type: RuntimeEventJson["type"], start: number, end: number, kind?: string): void => {
    out.push({ type, ...(kind ? { kind } : {}), start: msOf(start - origin), dur: msOf(end - start), step: stepAt(start) });
  };
  events.gc.forEachOverlapping(from, to, (s, e, kind) => add("gc", s, e, gcKindName(kind)));
  events.stalls.forEachOverlapping(from, to, (s, e) => add("stall", s, e));
  return out.sort((x, y) => x.start - y.start);
}

/** The hop to a remote engine, its figures rounded like the rest. */
export function hopJson(h: HopBreakdown): HopJson {
  return {
    engine: h.engine,
    reason: h.reason,
    url: h.url,
    retries: h.retries,
    backend_ms: ms(h.backendMs),
    backend_engine_ms: ms(h.backendEngineMs),
    network_and_front_ms: ms(h.networkAndFrontMs),
    ours_ms: ms(h.oursMs) ?? 0,
    backend_timings: h.backend ? { source: h.backend.source, ...h.backend.raw } : null,
  };
}
