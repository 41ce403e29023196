/**
 * The server's records of requests, as the bench and the analysis read them:
 * over HTTP from GET /debug/requests/{id}, or from the JSONL file the server
 * writes with --timeline-file (one such object per line). Times are ms from
 * the request's `received`; `origin` is the server clock at `received`.
 */
import { readFile } from "node:fs/promises";

export interface SpanJson {
  name: string;
  start: number;
  dur: number;
  gc_ms?: number;
  stall_ms?: number;
  step?: number;
  children?: SpanJson[];
}

export interface StepJson {
  id: number;
  start: number;
  dur: number;
  gap: number | null;
  rows: number;
  tokens: number;
  requests: Array<{ id: string; kind: "prefill" | "decode"; tokens: number }>;
  spans: Record<string, number>;
  gc_ms: number;
  stall_ms: number;
}

export interface RuntimeEventJson {
  type: "gc" | "stall";
  kind?: string;
  start: number;
  dur: number;
  step: number | null;
}

export interface ServerTimeline {
  id: string;
  route: string;
  status: number;
  complete: boolean;
  prompt_tokens: number;
  generated_tokens: number;
  origin: number;
  points: Record<string, number | null>;
  durations: {
    e2e: number;
    ttft: number | null;
    tpot: number | null;
    queue: number;
    prefill: number | null;
    decode: number | null;
    respond: number;
    overhead: number;
    gc: number;
    stall: number;
    untimed: number;
    coverage: number;
  };
  span: SpanJson;
  /** Per output token: the step that produced it and when it was sampled, detokenized, delivered, written. */
  tokens: Array<{ step: number; sampled: number | null; detokenized: number | null; delivered: number | null; written: number | null }>;
  steps: StepJson[];
  events: RuntimeEventJson[];
}

/** Fetches the timelines of `ids` from a server; ids it does not know (or a server without them) are left out. */
export async function fetchTimelines(url: string, ids: readonly string[]): Promise<Map<string, ServerTimeline>> {
  const out = new Map<string, ServerTimeline>();
  for (const id of ids) {
    const res = await fetch(new URL(`/debug/requests/${encodeURIComponent(id)}`, url));
    if (res.status === 200) out.set(id, (await res.json()) as ServerTimeline);
    else await res.arrayBuffer();
  }
  return out;
}

/** Reads a --timeline-file JSONL file. */
export async function loadTimelines(path: string): Promise<Map<string, ServerTimeline>> {
  const out = new Map<string, ServerTimeline>();
  for (const line of (await readFile(path, "utf8")).split("\n")) {
    if (!line.trim()) continue;
    const t = JSON.parse(line) as ServerTimeline;
    out.set(t.id, t);
  }
  return out;
}

/** The engine's own time for a request: queued → finished. */
export function engineMs(t: ServerTimeline): number {
  return (t.points.finished ?? NaN) - (t.points.queued ?? NaN);
}
