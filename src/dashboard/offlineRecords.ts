/**
 * What the page opens from disk: the server's timelines (serve
 * --timeline-file: one /debug/requests/{id} JSON per line) and a load
 * client's records (bench / sweep --records: docs/client-record.schema.json),
 * in one file or several, told apart line by line. A request in both is
 * joined by id: its waterfall is the server's, and the client's own e2e is
 * set beside the server's. A request only the client saw (any server's
 * measurements) gets a waterfall of what the client saw: waiting for the
 * answer, the first token, the stream, the end.
 */

import type { RequestRecord, SpanJson } from "./requestRecord.js";

/** The fields of a client record the page reads (times in ms on the client's clock; NaN or null where not reached). */
export interface ClientRecord {
  id: string;
  serverId?: string;
  sent: number;
  headers: number | null;
  firstByte: number | null;
  tokens: number[];
  end: number;
  status: number;
  error?: string;
  outputTokens: number;
  protocol: string;
}

export interface OfflineRun {
  /** Every request, by the id it is listed under (the server's id when the two were joined). */
  requests: Map<string, RequestRecord>;
  /** The client's e2e of the requests it measured, by that id. */
  clientE2e: Map<string, number>;
  servers: number;
  clients: number;
  /** Lines that were neither (reported, not fatal: a file may hold other lines). */
  skipped: number;
}

const isServerRecord = (v: Partial<RequestRecord>): v is RequestRecord => typeof v?.id === "string" && v.span !== undefined && v.durations !== undefined;
const isClientRecord = (v: Partial<ClientRecord>): v is ClientRecord => typeof v?.id === "string" && typeof v.sent === "number" && typeof v.end === "number" && Array.isArray(v.tokens);
const at = (x: number | null | undefined): number | undefined => (typeof x === "number" && Number.isFinite(x) ? x : undefined);

/** The client's view of one request, as a record the waterfall draws (on the client's clock, from when it was sent). */
export function clientAsRecord(c: ClientRecord): RequestRecord {
  const first = at(c.tokens[0]) ?? at(c.firstByte);
  const last = at(c.tokens[c.tokens.length - 1]);
  const answered = at(c.headers) ?? at(c.firstByte);
  const children: SpanJson[] = [];
  let cursor = c.sent;
  const add = (name: string, until: number | undefined): void => {
    if (until === undefined || until < cursor || until > c.end) return;
    children.push({ name, start: cursor, dur: until - cursor });
    cursor = until;
  };
  add("answer", answered);
  add("first token", first);
  add("stream", last);
  add("end", c.end);
  const e2e = c.end - c.sent;
  const ttft = first === undefined ? null : first - c.sent;
  const n = c.tokens.length;
  return {
    id: c.serverId ?? c.id,
    route: `client (${c.protocol})`,
    status: c.status,
    complete: true,
    finish_reason: c.error ?? null,
    prompt_tokens: 0,
    generated_tokens: c.outputTokens,
    durations: { e2e, ttft, tpot: ttft !== null && n > 1 && last !== undefined ? (last - first!) / (n - 1) : null, untimed: 0, coverage: 1, gc: 0, stall: 0 },
    span: { name: "request", start: c.sent, dur: e2e, children },
    steps: [],
    events: [],
  };
}

/**
 * Each line's JSON. A last line that does not parse is left out (a server
 * killed while writing cuts its file mid-line); one before it is an error.
 */
function jsonLines(text: string): { values: unknown[]; cut: boolean } {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const values: unknown[] = [];
  for (const [i, line] of lines.entries()) {
    try {
      values.push(JSON.parse(line));
    } catch (err) {
      if (i === lines.length - 1 && i > 0) return { values, cut: true };
      throw err;
    }
  }
  return { values, cut: false };
}

export function readOfflineRun(texts: readonly string[]): OfflineRun {
  const servers = new Map<string, RequestRecord>();
  const clients = new Map<string, ClientRecord>();
  let skipped = 0;
  for (const text of texts) {
    const trimmed = text.trim();
    if (trimmed === "") continue;
    const lines = trimmed.startsWith("[") ? { values: JSON.parse(trimmed) as unknown[], cut: false } : jsonLines(trimmed);
    if (lines.cut) skipped++;
    for (const v of lines.values) {
      if (isServerRecord(v as Partial<RequestRecord>)) servers.set((v as RequestRecord).id, v as RequestRecord);
      else if (isClientRecord(v as Partial<ClientRecord>)) clients.set((v as ClientRecord).serverId ?? (v as ClientRecord).id, v as ClientRecord);
      else skipped++;
    }
  }
  const requests = new Map(servers);
  const clientE2e = new Map<string, number>();
  for (const [id, c] of clients) {
    clientE2e.set(id, c.end - c.sent);
    if (!requests.has(id)) requests.set(id, clientAsRecord(c));
  }
  return { requests, clientE2e, servers: servers.size, clients: clients.size, skipped };
}
