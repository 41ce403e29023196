/**
 * The soak's client: sends planned requests with a fixed number in flight
 * over keep-alive HTTP, cancels some at their planned stage by destroying the
 * request (what a client that goes away does to the server), and gives every
 * request exactly one outcome. Its own checks are what a client can see: the
 * status, and for good requests that every asked-for token came (the
 * synthetic model never ends early and ignore_eos is set).
 */
import { Agent, request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import { now } from "../timing/clock.js";
import { protocol, wholeBody, type StreamParser } from "./protocols.js";
import type { CancelStage, SoakKind, SoakRequest } from "./soakPlan.js";

export type Outcome = "completed" | "cancelled" | "rejected" | "error";

export interface SoakRecord {
  index: number;
  id: string;
  kind: SoakKind;
  variant: string;
  stage: CancelStage | undefined;
  stream: boolean;
  maxTokens: number;
  expect: number | undefined;
  /** ms from the run's origin; end is when the outcome was settled. */
  start: number;
  end: number;
  /** 0 if no response headers came. */
  status: number;
  outcome: Outcome;
  tokens: number;
  /** A cancel was planned, but the whole response had come first. */
  cancelMissed: boolean;
  /** Why an outcome is an error, or the start of a refusal's body. */
  detail: string | undefined;
  /** The x-request-id the server answered with. */
  serverId: string | undefined;
}

export interface LoadContext {
  base: URL;
  agent: Agent;
  origin: number;
  timeoutMs: number;
}

/** The outcome of a response that ended before any cancel. */
function judge(r: SoakRequest, rec: SoakRecord, reported: number | undefined): void {
  if (r.kind === "bad") {
    rec.outcome = rec.status >= 400 && rec.status < 500 ? "rejected" : "error";
    if (rec.outcome === "error") rec.detail = `expected a 4xx, got ${rec.status}: ${rec.detail ?? ""}`;
    return;
  }
  if (rec.status !== 200) {
    rec.outcome = "error";
    rec.detail = `HTTP ${rec.status}: ${rec.detail ?? ""}`;
  } else if (reported === undefined) {
    rec.outcome = "error";
    rec.detail = "the response did not report its token count (truncated?)";
  } else if (reported !== r.maxTokens || (r.stream && rec.tokens !== r.maxTokens)) {
    rec.outcome = "error";
    rec.detail = `asked for ${r.maxTokens} tokens, the server reported ${reported}, ${rec.tokens} token events came`;
  } else {
    rec.outcome = "completed";
    rec.detail = undefined;
    rec.cancelMissed = r.kind === "cancel";
  }
}

function newRecord(r: SoakRequest, start: number): SoakRecord {
  return {
    index: r.index,
    id: r.id,
    kind: r.kind,
    variant: r.variant,
    stage: r.cancel?.stage,
    stream: r.stream,
    maxTokens: r.maxTokens,
    expect: r.expect,
    start,
    end: NaN,
    status: 0,
    outcome: "error",
    tokens: 0,
    cancelMissed: false,
    detail: undefined,
    serverId: undefined,
  };
}

/** Sends one request; resolves with its one outcome, whatever happens. */
function sendSoakRequest(r: SoakRequest, ctx: LoadContext): Promise<SoakRecord> {
  const t = (): number => now() - ctx.origin;
  const rec = newRecord(r, t());
  const body = Buffer.from(r.body());
  return new Promise((resolve) => {
    let settled = false;
    let req: ClientRequest | undefined = undefined;
    const settle = (outcome?: Outcome, detail?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      rec.end = t();
      if (outcome) rec.outcome = outcome;
      if (detail !== undefined) rec.detail = detail;
      resolve(rec);
    };
    // Our own abort: the outcome is "cancelled" unless the response was already whole.
    const abort = (): void => {
      if (settled) return;
      settle("cancelled", undefined);
      req?.destroy();
    };
    const timer = setTimeout(() => {
      settle("error", `no outcome after ${ctx.timeoutMs} ms`);
      req?.destroy();
    }, ctx.timeoutMs);

    req = httpRequest(new URL(r.path, ctx.base), {
      method: "POST",
      agent: ctx.agent,
      headers: { "content-type": r.contentType, "content-length": body.length, "x-request-id": r.id },
    });
    req.on("response", (res) => onResponse(r, rec, res, { abort, settle, isSettled: () => settled }));
    // After our own abort, the socket's errors are the abort's echo, not a failure.
    req.on("error", (e) => settle("error", `request error: ${e.message}`));

    const cancel = r.cancel;
    if (cancel?.stage === "body") {
      // The server has the headers and half the body: it waits for the rest, which never comes.
      req.write(body.subarray(0, body.length >> 1), () => setTimeout(abort, cancel.afterMs));
    } else if (cancel?.stage === "queued") {
      req.end(body, () => setTimeout(abort, cancel.afterMs));
    } else {
      req.end(body);
    }
  });
}

interface Settling {
  abort(): void;
  settle(outcome?: Outcome, detail?: string): void;
  isSettled(): boolean;
}

function onResponse(r: SoakRequest, rec: SoakRecord, res: IncomingMessage, { abort, settle, isSettled }: Settling): void {
  rec.status = res.statusCode ?? 0;
  const answered = res.headers["x-request-id"];
  if (typeof answered === "string") rec.serverId = answered;
  res.setEncoding("utf8");
  const parser: StreamParser | undefined = r.stream && rec.status === 200 && r.protocol ? protocol(r.protocol).streamParser() : undefined;
  let whole = "";
  res.on("data", (chunk: string) => {
    if (!parser) {
      whole += chunk;
      return;
    }
    rec.tokens += parser.push(chunk);
    // A chunk that also carried the final count means the stream is whole: too late to cancel.
    if (r.cancel?.stage === "stream" && rec.tokens >= r.cancel.afterTokens && parser.total === undefined) abort();
  });
  res.on("end", () => {
    if (isSettled()) return; // our own abort or the timeout came first
    let reported: number | undefined;
    if (parser) reported = parser.total;
    else if (rec.status === 200 && r.protocol) reported = protocol(r.protocol).countTokens(wholeBody(whole));
    else rec.detail = whole.slice(0, 200);
    if (!parser && reported !== undefined) rec.tokens = reported;
    judge(r, rec, reported);
    settle();
  });
  res.on("error", (e) => settle("error", `response error: ${e.message}`));
  res.on("aborted", () => settle("error", "the server closed the response before its end"));
}

export interface LoadRun {
  url: string;
  count: number;
  concurrency: number;
  plan: (index: number) => SoakRequest;
  /** The run's time origin (now()), shared with the RSS samples. */
  origin: number;
  timeoutMs?: number;
  onDone?: (rec: SoakRecord) => void;
}

/** Closed loop: `concurrency` workers, each sends its next request as soon as its last one has an outcome. */
export async function runSoakLoad(o: LoadRun): Promise<SoakRecord[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: o.concurrency });
  const ctx: LoadContext = { base: new URL(o.url), agent, origin: o.origin, timeoutMs: o.timeoutMs ?? 60_000 };
  const records: SoakRecord[] = new Array(o.count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < o.count) {
      const i = next++;
      records[i] = await sendSoakRequest(o.plan(i), ctx);
      o.onDone?.(records[i]);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  agent.destroy();
  return records;
}
