/**
 * The server's records of requests, as the bench and the analysis read them:
 * over HTTP from GET /debug/requests/{id}, or from the JSONL file the server
 * writes with --timeline-file (one such object per line).
 */
import { readFile } from "node:fs/promises";
import type { RequestRecordJson } from "../timing/recordJson.js";

/** A request's record as the server writes it (its shape is the timing module's). */
export type ServerTimeline = RequestRecordJson;
export type { RuntimeEventJson, SpanJson, StepJson } from "../timing/recordJson.js";

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
