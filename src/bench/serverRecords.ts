/**
 * The server's records of requests, as the bench and the analysis read them:
 * over HTTP from GET /debug/requests/{id}, or from the JSONL file the server
 * writes with --timeline-file (one such object per line). And, since reading
 * them over HTTP is where a down server shows first, whether it can be
 * reached at all, said in plain words.
 */
import { connect } from "node:net";
import type { RequestRecordJson } from "../timing/recordJson.js";
import { jsonLines, readRecordsFile } from "./clientRecords.js";

/** A request's record as the server writes it (its shape is the timing module's). */
export type ServerTimeline = RequestRecordJson;
export type { RuntimeEventJson, SpanJson, StepJson } from "../timing/recordJson.js";

/** Fetches the timelines of `ids` from a server; ids it does not know (or a server without them) are left out. */
export async function fetchTimelines(url: string, ids: readonly string[]): Promise<Map<string, ServerTimeline>> {
  const out = new Map<string, ServerTimeline>();
  for (const id of ids) {
    const res = await fetch(new URL(`/debug/requests/${encodeURIComponent(id)}`, url)).catch((err: unknown) => {
      throw unreachable(url, err) ?? err;
    });
    if (res.status === 200) out.set(id, (await res.json()) as ServerTimeline);
    else await res.arrayBuffer();
  }
  return out;
}

/** Reads a --timeline-file JSONL file. */
export async function loadTimelines(path: string): Promise<Map<string, ServerTimeline>> {
  const out = new Map<string, ServerTimeline>();
  for (const { value, line } of jsonLines(await readRecordsFile(path, "the server's timelines"), path, "a server timeline")) {
    const t = value as Partial<ServerTimeline> | null;
    if (typeof t?.id !== "string" || typeof t.points !== "object") throw new Error(`${path}:${line}: not a server timeline (no "id" and "points"; serve --timeline-file writes them)`);
    out.set(t.id, t as ServerTimeline);
  }
  return out;
}

/** The engine's own time for a request: queued → finished. */
export function engineMs(t: ServerTimeline): number {
  return (t.points.finished ?? NaN) - (t.points.queued ?? NaN);
}

/** A server that could not be reached: the message says so first, in plain words; `detail` keeps the system's own words. */
export class ServerUnreachableError extends Error {
  override name = "ServerUnreachableError";
  constructor(
    readonly url: string,
    readonly reason: string,
    readonly detail: string,
  ) {
    super(`the server at ${url} cannot be reached: ${reason}`);
  }
}

/** Network error codes, as Node's sockets and fetch (undici) name them, in plain words. */
const REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host not found",
  ETIMEDOUT: "timed out",
  UND_ERR_CONNECT_TIMEOUT: "timed out",
  ECONNRESET: "connection reset",
  EHOSTUNREACH: "no route to host",
  ENETUNREACH: "network unreachable",
};

/** The error as a ServerUnreachableError when it says the server cannot be reached (fetch hides the reason in its cause); else undefined. */
export function unreachable(url: string, err: unknown): ServerUnreachableError | undefined {
  for (let e = err; e instanceof Error; e = e.cause) {
    const reason = REASONS[(e as NodeJS.ErrnoException).code ?? ""];
    if (reason) return new ServerUnreachableError(url, reason, e.message);
  }
  return undefined;
}

/**
 * Throws a ServerUnreachableError unless a TCP connection to the server opens
 * within `timeoutMs`: a quick check before a run, so that a down server is
 * one clear line rather than a run of failed requests. No HTTP request is
 * sent, so the server's records and metrics do not see it.
 */
export async function checkReachable(url: string, timeoutMs = 5000): Promise<void> {
  const u = new URL(url);
  const port = Number(u.port) || (u.protocol === "https:" ? 443 : 80);
  // An IPv6 literal keeps its brackets in a URL's hostname; sockets want it bare.
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once("connect", () => {
      socket.destroy();
      resolve();
    });
    socket.once("timeout", () => {
      socket.destroy();
      reject(new ServerUnreachableError(url, `timed out (no connection in ${timeoutMs / 1000} s)`, "connect timeout"));
    });
    socket.once("error", (err) => reject(unreachable(url, err) ?? err));
  });
}
