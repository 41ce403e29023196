/**
 * The JSON shape of the server's request records: what GET /debug/requests
 * and /debug/requests/{id} answer and what --timeline-file writes, one per
 * line. The server writes them (timelineJson.ts); the bench and the analysis
 * read them over HTTP or from the file. Times are ms, rounded to µs, relative
 * to the request's `received`; `origin` is the server clock at `received`.
 * null where a point was not reached.
 */
import type { Durations } from "./requestBreakdown.js";

export interface StatsJson {
  n: number;
  mean: number | null;
  p50: number | null;
  p90: number | null;
  max: number | null;
}

/** The named durations of a request (docs/timing.md, "Request durations"), as the breakdown has them, rounded. */
export type DurationsJson = Omit<Durations, "itl" | "timeToFree"> & { itl: { delivered: StatsJson; written: StatsJson }; time_to_free: number | null };

/** A node of a request's span tree; GC and stall time that overlapped it, if any. */
export interface SpanJson {
  name: string;
  start: number;
  dur: number;
  gc_ms?: number;
  stall_ms?: number;
  /** The engine step a "step" span is. */
  step?: number;
  children?: SpanJson[];
}

export interface StepJson {
  id: number;
  start: number;
  dur: number;
  /** From the previous step's end (null for the first). */
  gap: number | null;
  rows: number;
  tokens: number;
  decodes: number;
  /** position: the KV cells the row held before the step. */
  requests: Array<{ id: string; kind: "prefill" | "decode"; tokens: number; position: number }>;
  /** Duration of each step span (docs/timing.md, "Step spans"). */
  spans: Record<string, number | null>;
  gc_ms: number;
  stall_ms: number;
}

/** A GC pause or loop stall that overlapped the request, with the step it began in. */
export interface RuntimeEventJson {
  type: "gc" | "stall";
  /** GC kind: minor, major, incremental, weakcb. */
  kind?: string;
  start: number;
  dur: number;
  step: number | null;
}

export interface TokenTimesJson {
  step: number;
  sampled: number | null;
  detokenized: number | null;
  delivered: number | null;
  written: number | null;
}

/** One line of GET /debug/requests. */
export interface RequestSummaryJson {
  id: string;
  route: string;
  status: number;
  /** The client left before the response was complete (then status is 499). */
  aborted: boolean;
  complete: boolean;
  /** eos, length, stop, cancelled or error; null for requests that never reached the engine. */
  finish_reason: string | null;
  prompt_tokens: number;
  generated_tokens: number;
  durations: DurationsJson;
}

/** Everything about one request (GET /debug/requests/{id}, a --timeline-file line). */
export interface HopJson {
  engine: string;
  reason: string;
  url: string;
  retries: string[];
  backend_ms: number | null;
  backend_engine_ms: number | null;
  network_and_front_ms: number | null;
  ours_ms: number;
  backend_timings: Record<string, unknown> | null;
}

export interface RequestRecordJson extends RequestSummaryJson {
  origin: number;
  points: Record<string, number | null>;
  missing_steps: number;
  /** Set when a remote engine served the request (docs/timing.md, "Hop time points"). */
  hop?: HopJson;
  span: SpanJson;
  tokens: TokenTimesJson[];
  steps: StepJson[];
  events: RuntimeEventJson[];
}
