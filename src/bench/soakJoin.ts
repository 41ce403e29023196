/**
 * Joins the client's records with the server's --timeline-file by the
 * x-request-id the client sent: every request sent must have exactly one
 * timeline, and the two sides must agree on what happened. A cancelled
 * request's timeline is accepted whatever its status, but counted as a
 * recorded cancel only if it says aborted or 499 (nginx's "client closed
 * request"); every status seen is reported.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { RequestRecordJson } from "../timing/recordJson.js";
import type { SoakRecord } from "./soakClient.js";

/** How far the server got with a request, from the points its timeline reached. */
export type ServerStage = "receiving the body" | "validating" | "queued" | "prefill" | "generating" | "responding";

interface SlimTimeline {
  status: number;
  aborted: boolean;
  generated: number;
  stage: ServerStage;
}

export interface Mismatch {
  id: string;
  why: string;
}

export interface JoinResult {
  timelineLines: number;
  unreadableLines: number;
  /** Not errors of the requests, but of the server's time accounting: reported, not judged. */
  oddities: Oddities;
  /** Sent requests without a timeline. */
  lost: string[];
  /** Sent requests with more than one timeline. */
  duplicated: Array<{ id: string; count: number }>;
  /** Timelines of ids the client never sent (a sample) and their count. */
  unexpected: { count: number; sample: string[] };
  /** Requests whose response carried another x-request-id than the one sent. */
  idReplaced: number;
  /** The two sides disagree: errors. */
  mismatches: Mismatch[];
  cancels: {
    /** Client cancels whose timeline says aborted or 499. */
    recorded: number;
    /** The server had sent the whole response (200, every token) before the cancel reached it. */
    answeredFirst: number;
    /** "status aborted|not aborted" → count, over all client cancels. */
    statuses: Record<string, number>;
    /** "client stage → server stage" → count. */
    stages: Record<string, number>;
    /** Tokens the server generated for cancelled requests, in total. */
    tokensGenerated: number;
  };
}

function stageOf(t: RequestRecordJson, maxTokens: number): ServerStage {
  const p = t.points;
  if (p.body_parsed == null) return "receiving the body";
  if (p.queued == null) return "validating";
  if (p.admitted == null) return "queued";
  if (p.first_token == null) return "prefill";
  return t.generated_tokens < maxTokens ? "generating" : "responding";
}

interface ReadTimelines {
  byId: Map<string, SlimTimeline[]>;
  lines: number;
  unreadable: number;
  oddities: Oddities;
}

/** Timelines whose durations contradict their own definitions (docs/timing.md): "what" → count and an example id. */
export type Oddities = Record<string, { count: number; example: string }>;

/** Durations that cannot be negative by definition; "untimed" < 0 means spans were counted past the response's end. */
const NON_NEGATIVE = ["e2e", "queue", "prefill", "decode", "respond", "overhead", "untimed", "time_to_free"] as const;

function noteOddities(t: RequestRecordJson, oddities: Oddities): void {
  const d = t.durations as unknown as Record<string, number | null>;
  for (const name of NON_NEGATIVE) {
    const v = d[name];
    if (v === null || v === undefined || v >= 0) continue;
    const key = `${name} < 0 (${t.aborted ? "aborted" : `status ${t.status}`})`;
    const o = (oddities[key] ??= { count: 0, example: t.id });
    o.count++;
  }
}

/** Reads the file line by line: a full run's file is hundreds of MB, too much to hold as one string. */
async function readTimelines(path: string, maxTokensOf: (id: string) => number): Promise<ReadTimelines> {
  const byId = new Map<string, SlimTimeline[]>();
  let lines = 0;
  let unreadable = 0;
  const oddities: Oddities = {};
  const input = createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Infinity });
  for await (const line of input) {
    if (!line.trim()) continue;
    lines++;
    let t: RequestRecordJson;
    try {
      t = JSON.parse(line) as RequestRecordJson;
    } catch {
      unreadable++;
      continue;
    }
    noteOddities(t, oddities);
    const slim = { status: t.status, aborted: t.aborted, generated: t.generated_tokens, stage: stageOf(t, maxTokensOf(t.id)) };
    const list = byId.get(t.id);
    if (list) list.push(slim);
    else byId.set(t.id, [slim]);
  }
  return { byId, lines, unreadable, oddities };
}

/** Adds `by` to the count of `key`. */
export const bump = (counts: Record<string, number>, key: string, by = 1): void => {
  counts[key] = (counts[key] ?? 0) + by;
};

/** What the server's timeline must say, given the client's outcome; undefined if they agree. */
function disagreement(r: SoakRecord, t: SlimTimeline): string | undefined {
  switch (r.outcome) {
    case "completed":
      if (t.status !== 200 || t.aborted) return `client got a whole 200 response; the timeline says ${t.status}${t.aborted ? ", aborted" : ""}`;
      if (t.generated !== r.maxTokens) return `client got ${r.maxTokens} tokens; the timeline says ${t.generated}`;
      return undefined;
    case "rejected":
      if (t.status !== r.status || t.aborted) return `client got ${r.status}; the timeline says ${t.status}${t.aborted ? ", aborted" : ""}`;
      return undefined;
    default:
      return undefined;
  }
}

export async function joinTimelines(records: readonly SoakRecord[], timelineFile: string): Promise<JoinResult> {
  const maxTokens = new Map(records.map((r) => [r.id, r.maxTokens]));
  const { byId, lines, unreadable, oddities } = await readTimelines(timelineFile, (id) => maxTokens.get(id) ?? 0);
  const result: JoinResult = {
    timelineLines: lines,
    unreadableLines: unreadable,
    oddities,
    lost: [],
    duplicated: [],
    unexpected: { count: 0, sample: [] },
    idReplaced: 0,
    mismatches: [],
    cancels: { recorded: 0, answeredFirst: 0, statuses: {}, stages: {}, tokensGenerated: 0 },
  };
  for (const r of records) {
    if (r.serverId !== undefined && r.serverId !== r.id) result.idReplaced++;
    const found = byId.get(r.id);
    if (!found) {
      result.lost.push(r.id);
      continue;
    }
    if (found.length > 1) result.duplicated.push({ id: r.id, count: found.length });
    const t = found[0];
    if (r.outcome === "cancelled") joinCancel(r, t, result);
    const why = disagreement(r, t);
    if (why) result.mismatches.push({ id: r.id, why });
  }
  for (const id of byId.keys()) {
    if (maxTokens.has(id)) continue;
    result.unexpected.count++;
    if (result.unexpected.sample.length < 5) result.unexpected.sample.push(id);
  }
  return result;
}

function joinCancel(r: SoakRecord, t: SlimTimeline, result: JoinResult): void {
  const c = result.cancels;
  bump(c.statuses, `${t.status} ${t.aborted ? "aborted" : "not aborted"}`);
  bump(c.stages, `${r.stage} → ${t.stage}`);
  c.tokensGenerated += t.generated;
  if (t.aborted || t.status === 499) c.recorded++;
  else if (t.status === 200 && t.generated === r.maxTokens) c.answeredFirst++;
  else result.mismatches.push({ id: r.id, why: `cancelled by the client (${r.stage}); the timeline says ${t.status}, not aborted, ${t.generated}/${r.maxTokens} tokens` });
}
