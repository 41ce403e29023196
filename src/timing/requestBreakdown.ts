/**
 * Where a request's server time went. Its wall time (received →
 * response_ended) is split into consecutive named spans (REQUEST_SPANS):
 * the HTTP phases, the queue, every engine step that carried it (each split
 * into its STEP_SPANS), the loop turns between those steps, and the response.
 * Whatever no named span covers is `untimed`, never hidden. Every span says
 * how much of it overlapped GC pauses and event-loop stalls.
 */
import { now } from "./clock.js";
import type { EventRing } from "./EventRing.js";
import { backendEngineMs } from "./backendTimings.js";
import type { HopTrace } from "./HopTrace.js";
import { HOP_POINTS, HopPoint, HTTP_POINTS, HttpPoint, REQUEST_POINTS, RequestPoint, STEP_SPANS, StepPoint, type RequestSpanName } from "./points.js";
import type { RequestTimeline } from "./RequestTimeline.js";
import type { StepRecord } from "./StepRecord.js";
import type { StepStore } from "./StepStore.js";

export interface RuntimeEvents {
  gc: EventRing;
  stalls: EventRing;
}

export interface Span {
  name: RequestSpanName | (typeof STEP_SPANS)[number]["name"] | "request";
  start: number;
  end: number;
  /** ms */
  dur: number;
  gcMs: number;
  stallMs: number;
  step?: number;
  children?: Span[];
}

export interface Stats {
  n: number;
  mean: number | null;
  p50: number | null;
  p90: number | null;
  max: number | null;
}

export interface Durations {
  e2e: number;
  ttft: number | null;
  tpot: number | null;
  itl: { delivered: Stats; written: Stats };
  queue: number;
  prefill: number | null;
  decode: number | null;
  respond: number;
  overhead: number;
  gc: number;
  stall: number;
  untimed: number;
  /** Share of e2e in named spans (0…1). */
  coverage: number;
  /** From the client's disconnect to its row's release (null unless the client left before the engine was done). */
  timeToFree: number | null;
}

export interface RequestBreakdown {
  id: string;
  route: string;
  status: number;
  aborted: boolean;
  finishReason: string;
  /** False while the response is still being written (times up to `now`). */
  complete: boolean;
  /** The clock time of `received`; every other time here is relative to it. */
  origin: number;
  points: Record<string, number | null>;
  durations: Durations;
  span: Span;
  promptTokens: number;
  generatedTokens: number;
  /** Steps of this request no longer kept (their time counts as untimed). */
  missingSteps: number;
  /** Set when a remote engine served the request. */
  hop?: HopBreakdown;
}

/** A relayed request's time split three ways: ours, the network with the backend's front end, and the backend's engine. */
export interface HopBreakdown {
  engine: string;
  reason: string;
  url: string;
  retries: string[];
  /** queued → finished: connecting, sending, the network and the backend, up to the generation's end as we saw it (our relaying of each chunk runs inside it). */
  backendMs: number | null;
  /** What the backend says its engine took (prefill + decode), when it says. */
  backendEngineMs: number | null;
  /** backendMs − backendEngineMs: connecting, the network, the backend's HTTP front end and its queue. */
  networkAndFrontMs: number | null;
  /** e2e − backendMs: our part (reading the request, validation, routing, writing the response). */
  oursMs: number;
  /** The backend's own timings as it reported them. */
  backend: HopTrace["backend"] | null;
  /** The traceparent sent to the backend. */
  traceparent: string | null;
}

/** A relayed request's hop split three ways, given its e2e (undefined when it was not relayed). */
export function hopOf(t: RequestTimeline, e2e: number): HopBreakdown | undefined {
  const hop = t.trace?.hop;
  return hop ? hopBreakdown(hop, e2e, t.trace!.marks.get(RequestPoint.queued), t.trace!.marks.get(RequestPoint.finished)) : undefined;
}

function hopBreakdown(hop: HopTrace, e2e: number, routed: number, finished: number): HopBreakdown {
  const backendMs = orNull(finished - routed);
  const engineMs = hop.backend ? (backendEngineMs(hop.backend) ?? null) : null;
  return {
    engine: hop.engine,
    reason: hop.reason,
    url: hop.url,
    retries: hop.retries,
    backendMs,
    backendEngineMs: engineMs,
    networkAndFrontMs: backendMs !== null && engineMs !== null ? backendMs - engineMs : null,
    oursMs: e2e - (backendMs ?? 0),
    backend: hop.backend ?? null,
    traceparent: hop.traceparent ?? null,
  };
}

function makeSpan(name: Span["name"], start: number, end: number, events: RuntimeEvents | undefined): Span {
  if (!events) return { name, start, end, dur: end - start, gcMs: 0, stallMs: 0 };
  return { name, start, end, dur: end - start, gcMs: events.gc.overlap(start, end).ms, stallMs: events.stalls.overlap(start, end).ms };
}

/** A step's span with its stages as children. */
export function stepSpan(step: StepRecord, events: RuntimeEvents | undefined): Span {
  const t = (p: number): number => step.marks.get(p);
  const span = makeSpan("step", t(StepPoint.step_start), t(StepPoint.delivered), events);
  span.step = step.id;
  span.children = STEP_SPANS.map((s) => makeSpan(s.name, t(StepPoint[s.from]), t(StepPoint[s.to]), events));
  return span;
}

/** The part of `span` (and of its children) before `end`. */
function clipSpan(span: Span, end: number, events: RuntimeEvents | undefined): Span {
  if (span.end <= end) return span;
  const clipped = makeSpan(span.name, span.start, Math.max(span.start, end), events);
  if (span.step !== undefined) clipped.step = span.step;
  if (span.children) clipped.children = span.children.filter((c) => c.start < end).map((c) => clipSpan(c, end, events));
  return clipped;
}

export function stats(values: readonly number[]): Stats {
  const v = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return { n: 0, mean: null, p50: null, p90: null, max: null };
  const at = (q: number): number => v[Math.min(v.length - 1, Math.floor(q * v.length))];
  return { n: v.length, mean: v.reduce((a, b) => a + b, 0) / v.length, p50: at(0.5), p90: at(0.9), max: v[v.length - 1] };
}

function diffs(times: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < times.length; i++) out.push(times[i] - times[i - 1]);
  return out;
}

const valid = (x: number): boolean => !Number.isNaN(x);
const orNull = (x: number): number | null => (Number.isNaN(x) ? null : x);

/**
 * e2e, TTFT and TPOT of a request that ended (or is looked at) at `end`, from
 * its marks alone (docs/timing.md, "Request durations"): O(1), however many
 * steps it rode — the live view takes them for every request of the last minute.
 */
export function latencies(t: RequestTimeline, end: number): { e2e: number; ttft: number | null; tpot: number | null; delivered: number } {
  const received = t.http.get(HttpPoint.received);
  const e2e = end - received;
  const ttft = orNull((t.trace?.marks.get(RequestPoint.first_token) ?? NaN) - received);
  const delivered = t.trace ? t.trace.tokenDelivered.length : 0;
  return { e2e, ttft, tpot: delivered > 1 && ttft !== null ? (e2e - ttft) / (delivered - 1) : null, delivered };
}

/**
 * `detail`: also split each step into its stages and charge GC and stalls to
 * every span (the debug views); without it only the request as a whole is
 * charged, which is what responses and metrics need and costs far less.
 */
export function breakdownRequest(t: RequestTimeline, steps: StepStore | undefined, events: RuntimeEvents | undefined, at = now(), detail = true): RequestBreakdown {
  const spanEvents = detail ? events : undefined;
  const http = (p: number): number => t.http.get(p);
  const engine = (p: number): number => (t.trace ? t.trace.marks.get(p) : NaN);
  const received = http(HttpPoint.received);
  const ended = http(HttpPoint.response_ended);
  const end = valid(ended) ? ended : at;

  const children: Span[] = [];
  let cursor = received;
  const add = (name: RequestSpanName, until: number): void => {
    // A client that left ends its request: what the server did after counts only up to that moment.
    if (!valid(until) || until < cursor || cursor >= end) return;
    const to = Math.min(until, end);
    children.push(makeSpan(name, cursor, to, spanEvents));
    cursor = to;
  };
  add("receive", http(HttpPoint.body_parsed));
  add("validate", http(HttpPoint.validated));
  add("tokenize", engine(RequestPoint.tokenized));
  add("enqueue", engine(RequestPoint.queued));

  let missingSteps = 0;
  let firstStepStart = NaN;
  let nativeMs = 0;
  let previousMissing = false;
  // Without detail, the steps and the loop turns between them are summed into one span each.
  const steps_ = makeSpan("step", NaN, NaN, undefined);
  const loops = makeSpan("loop", NaN, NaN, undefined);
  steps_.dur = loops.dur = 0;
  const ids = t.trace?.steps;
  for (let k = 0; ids && k < ids.length; k++) {
    const id = ids.get(k);
    if (!steps?.has(id)) {
      missingSteps++;
      previousMissing = true;
      continue;
    }
    const start = steps.mark(id, StepPoint.step_start);
    // A client that left ends its request; the step still running then counts only up to that moment.
    if (start >= end) break;
    const stepEnd = Math.min(steps.mark(id, StepPoint.delivered), end);
    if (Number.isNaN(firstStepStart)) {
      firstStepStart = start;
      add("queue", start);
    } else if (previousMissing) {
      cursor = start; // the time of the steps no longer kept stays untimed
    } else if (detail) {
      add("loop", start);
    } else if (start >= cursor) {
      loops.dur += start - cursor;
    }
    previousMissing = false;
    if (detail) {
      const span = clipSpan(stepSpan(steps.get(id)!, spanEvents), end, spanEvents);
      span.step = id;
      children.push(span);
    } else {
      if (Number.isNaN(steps_.start)) steps_.start = start;
      steps_.end = stepEnd;
      steps_.dur += stepEnd - start;
    }
    cursor = stepEnd;
    nativeMs += Math.min(steps.mark(id, StepPoint.sampled), end) - Math.min(steps.mark(id, StepPoint.decode_start), end);
  }
  if (!detail && steps_.dur > 0) children.push(steps_, loops);
  const hop = t.trace?.hop;
  if (hop) {
    add("connect", hop.marks.get(HopPoint.connected));
    add("send", hop.marks.get(HopPoint.sent));
    add("wait", hop.marks.get(HopPoint.first_byte));
    // To the generation's end: the backend's last bytes (its final counts) may come after our response has ended.
    add("stream", engine(RequestPoint.finished));
  }
  if (end > cursor) children.push(makeSpan("respond", cursor, end, spanEvents));

  const root = makeSpan("request", received, end, events);
  root.children = children;
  const named = children.reduce((a, c) => a + c.dur, 0);
  const firstToken = engine(RequestPoint.first_token);
  const lastToken = engine(RequestPoint.last_token);
  // The last token is generated when its step is delivered and handed to the stream a moment later (the outbox), inside
  // `respond`: decode ends where respond begins, so that prefill, decode and respond do not overlap (OTLP, Server-Timing).
  const respondStart = children.at(-1)?.name === "respond" ? children.at(-1)!.start : NaN;
  // Only a respond that begins after the first token cuts decode short (a one-token request's token, and a request whose
  // steps have left the store, reach the stream after respond began: decode is then last − first, as before).
  const decodeEnd = respondStart >= firstToken && respondStart < lastToken ? respondStart : lastToken;
  const { e2e, ttft, tpot, delivered: n } = latencies(t, end);

  const points: Record<string, number | null> = {};
  HTTP_POINTS.forEach((name, i) => (points[name] = orNull(http(i) - received)));
  REQUEST_POINTS.forEach((name, i) => (points[name] = orNull(engine(i) - received)));
  if (hop) HOP_POINTS.forEach((name, i) => (points[name] = orNull(hop.marks.get(i) - received)));

  return {
    id: t.id,
    route: t.route,
    status: t.status,
    aborted: t.aborted,
    finishReason: t.finishReason,
    complete: valid(ended),
    origin: received,
    points,
    promptTokens: t.promptTokens,
    generatedTokens: n || t.generatedTokens,
    missingSteps,
    ...(hop ? { hop: hopOf(t, e2e) } : {}),
    span: root,
    durations: {
      e2e,
      ttft,
      tpot,
      itl: {
        delivered: stats(diffs(t.trace ? t.trace.tokenDelivered.toArray() : [])),
        written: stats(diffs(t.tokenWritten.toArray().filter(valid))),
      },
      queue: children.filter((c) => c.name === "queue").reduce((a, c) => a + c.dur, 0),
      prefill: orNull(firstToken - firstStepStart),
      decode: orNull(decodeEnd - firstToken),
      respond: children.at(-1)?.name === "respond" ? children.at(-1)!.dur : 0,
      overhead: e2e - nativeMs,
      gc: root.gcMs,
      stall: root.stallMs,
      untimed: e2e - named,
      coverage: e2e > 0 ? named / e2e : 1,
      timeToFree: engine(RequestPoint.finished) > http(HttpPoint.disconnected) ? engine(RequestPoint.finished) - http(HttpPoint.disconnected) : null,
    },
  };
}
