/**
 * One HTTP request to a backend, streamed, with the hop's time points taken
 * where they happen: the socket connected (at once for a kept-alive one), the
 * request written, the response's first byte, and its last. Each SSE `data:`
 * line is handed on as parsed JSON. Aborting destroys the socket, which is
 * how llama.cpp, vLLM and TGI learn that a client left and free its slot.
 */
import { request as httpRequest, type Agent as HttpAgent, type ClientRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest, type Agent as HttpsAgent } from "node:https";
import type { Socket } from "node:net";
import { now } from "../../timing/clock.js";
import type { HopTrace } from "../../timing/HopTrace.js";
import { HopPoint } from "../../timing/points.js";
import type { BackendCallSpec } from "./backendProtocol.js";

/**
 * What a failed call says, read once from what the backend answered; taking
 * the engine out, retrying elsewhere, Retry-After and the client's status all
 * go by it.
 */
export type FailureKind =
  /** No answer: refused, reset, or no response headers in time. */
  | "unreachable"
  /** It had begun answering (200), then broke off or fell silent. */
  | "cut"
  /** 400, 413, 422: the request itself. */
  | "refused"
  /** 408, 429. */
  | "busy"
  /** 503: loading or restarting. */
  | "restarting"
  /** Another 5xx. */
  | "server"
  /** 401, 403, 404: our key, model name or URL. */
  | "ours"
  | "other";

/** Why a call failed; `started`: the backend had begun answering (200), so the request cannot go elsewhere. */
export class BackendFailure extends Error {
  override name = "BackendFailure";
  readonly kind: FailureKind;
  constructor(
    message: string,
    readonly started: boolean,
    /** The backend's HTTP status, when it answered with an error. */
    readonly status?: number,
  ) {
    super(message);
    this.kind = kindOf(status, started);
  }

  /** The backend is at fault or out of reach: out until a health check passes. */
  get takesEngineOut(): boolean {
    return this.kind === "unreachable" || this.kind === "server" || this.kind === "restarting" || this.kind === "ours";
  }

  /** Another engine may serve it, from the start (nothing was generated: the caller checks that too). */
  get mayGoElsewhere(): boolean {
    return this.kind === "unreachable" || this.kind === "server" || this.kind === "restarting" || this.kind === "busy";
  }

  /** Soon over: worth the client's trying again (Retry-After). */
  get passing(): boolean {
    return this.kind === "unreachable" || this.kind === "restarting" || this.kind === "busy";
  }

  /** Says something of the backend, not of the request or of the backend's load. */
  get isBackendFailure(): boolean {
    return this.kind !== "refused" && this.kind !== "busy";
  }
}

function kindOf(status: number | undefined, started: boolean): FailureKind {
  if (status === undefined) return started ? "cut" : "unreachable";
  if (status === 400 || status === 413 || status === 422) return "refused";
  if (status === 408 || status === 429) return "busy";
  if (status === 503) return "restarting";
  if (status >= 500) return "server";
  if (status === 401 || status === 403 || status === 404) return "ours";
  return "other";
}

export interface CallHandlers {
  /** One `data:` event, parsed. */
  event(data: unknown): void;
  /** The stream ended cleanly. */
  end(): void;
  failed(err: BackendFailure): void;
}

export interface CallOptions {
  /** false: a connection of its own, closed after the call. */
  agent: HttpAgent | HttpsAgent | false;
  /** A connection opened ahead for this call (SpareConnection), used instead of the agent's. */
  spare?: Socket;
  headers: Record<string, string>;
  /** Most ms to wait for the response's headers. */
  firstByteTimeoutMs: number;
  /** Most ms of silence between two chunks of a streaming answer. */
  idleTimeoutMs: number;
}

/** The longest error body kept from a backend. */
const MAX_ERROR_BODY = 4096;
/** The longest SSE line accepted: a backend that never ends a line must not grow our memory without bound. */
const MAX_LINE = 8 * 1024 * 1024;

/**
 * Starts the call; returns its abort. The handlers are called at most once to
 * end (end or failed). A kept-alive socket or a spare connection that the
 * backend closed just as we used it (llama-server closes its connection after
 * each streamed answer without saying so, and an idle one after 5 s) fails
 * before any answer: the call is made once more, on a connection of its own,
 * as Node's docs advise.
 */
export function startCall(url: URL, body: BackendCallSpec["body"], hop: HopTrace, handlers: CallHandlers, options: CallOptions): () => void {
  const json = JSON.stringify(body);
  let abort = attempt(url, json, hop, handlers, options, () => {
    abort = attempt(url, json, hop, handlers, { ...options, agent: false, spare: undefined }, undefined);
  });
  return () => abort();
}

function attempt(url: URL, body: string, hop: HopTrace, handlers: CallHandlers, options: CallOptions, retry: (() => void) | undefined): () => void {
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  let settled = false;
  let started = false;
  const settle = (fn: () => void): void => {
    if (settled) return;
    settled = true;
    fn();
  };
  // A failed call ends at once: the backend sees the connection close and frees its slot.
  const fail = (message: string, status?: number): void =>
    settle(() => {
      req.destroy();
      handlers.failed(new BackendFailure(message, started, status));
    });
  const spare = options.spare;
  let req: ClientRequest;
  try {
    req = send(url, {
      method: "POST",
      // No agent at all (agent: false would make a new one, which connects anew): the request goes on the spare.
      ...(spare ? { createConnection: () => spare } : { agent: options.agent }),
      headers: { ...options.headers, "content-type": "application/json", accept: "text/event-stream", "content-length": Buffer.byteLength(body) },
    });
  } catch (err) {
    // A spare the request never took would stay open, with nobody listening for its errors.
    spare?.destroy();
    throw err;
  }
  const marks = hop.marks;
  req.on("socket", (socket) => {
    if (!socket.connecting) marks.set(HopPoint.connected, now());
    else socket.once("connect", () => marks.set(HopPoint.connected, now()));
  });
  req.on("finish", () => marks.set(HopPoint.sent, now()));
  // One listener for both timeouts (each setTimeout call would add another): which one it is depends on the phase.
  req.setTimeout(options.firstByteTimeoutMs, () =>
    fail(started ? `the backend sent nothing for ${options.idleTimeoutMs} ms` : `the backend did not answer within ${options.firstByteTimeoutMs} ms`),
  );
  let answered = false;
  req.on("error", (err: NodeJS.ErrnoException) => {
    if (retry && !settled && !answered && (req.reusedSocket || spare) && (err.code === "ECONNRESET" || err.code === "EPIPE")) {
      settled = true;
      return retry();
    }
    fail(`the backend could not be reached: ${err.code ?? err.message}`);
  });
  req.on("response", (res) => {
    answered = true;
    marks.set(HopPoint.first_byte, now());
    if (res.statusCode !== 200) return readError(res, fail, `POST ${url.pathname}`, options.headers.authorization !== undefined);
    started = true;
    req.setTimeout(options.idleTimeoutMs);
    readEvents(res, handlers, fail, () => settle(() => handlers.end()), () => settled, marks);
  });
  req.end(body);
  return () => {
    settled = true;
    req.destroy();
  };
}

/**
 * What the operator can do about a refusal that is the configuration's, not
 * the request's. `where`: the method and path asked; `said`: the backend's
 * message (vLLM and our own servers answer 404 for a model they do not serve).
 */
export function remedy(status: number | undefined, where: string, said: string, keySent: boolean): string {
  if (status === 404) return /model/i.test(said) ? " (check the engine's model: the name the backend serves)" : ` (${where}: check the engine's url — the server's root, no /v1 — and its kind)`;
  if (status === 401 || status === 403) return keySent ? " (check the engine's api_key in the config: it is what we send it)" : " (the backend wants a key: set api_key in the engine's entry)";
  return "";
}

function readError(res: IncomingMessage, fail: (message: string, status?: number) => void, where: string, keySent: boolean): void {
  let text = "";
  res.setEncoding("utf8");
  res.on("data", (chunk: string) => {
    if (text.length < MAX_ERROR_BODY) text += chunk;
  });
  res.on("error", () => fail(`the backend answered ${res.statusCode} and broke off`, res.statusCode));
  res.on("end", () => {
    const said = errorMessage(text.slice(0, MAX_ERROR_BODY));
    fail(`the backend answered ${res.statusCode}: ${said}${remedy(res.statusCode, where, said, keySent)}`, res.statusCode);
  });
}

/** The message of the backends' error bodies: {"error": "…"} (TGI), {"error": {"message": "…"}} (OpenAI, llama.cpp), else the text. */
function errorMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: unknown; message?: unknown };
    if (typeof body.error === "string") return body.error;
    if (body.error && typeof body.error === "object" && typeof (body.error as { message?: unknown }).message === "string") return (body.error as { message: string }).message;
    if (typeof body.message === "string") return body.message;
  } catch {
    // not JSON
  }
  return text.trim() || "(no body)";
}

function readEvents(res: IncomingMessage, handlers: CallHandlers, fail: (message: string) => void, end: () => void, settled: () => boolean, marks: HopTrace["marks"]): void {
  let pending = "";
  res.setEncoding("utf8");
  const line = (raw: string): void => {
    const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (!text.startsWith("data:")) return; // comments, event names, blank separators
    const payload = text.slice(5).trim();
    if (payload === "" || payload === "[DONE]") return;
    let data: unknown;
    try {
      data = JSON.parse(payload);
    } catch {
      fail(`the backend sent an event that is not JSON: ${payload.slice(0, 200)}`);
      return;
    }
    handlers.event(data);
  };
  res.on("data", (chunk: string) => {
    pending += chunk;
    let at: number;
    while (!settled() && (at = pending.indexOf("\n")) >= 0) {
      line(pending.slice(0, at));
      pending = pending.slice(at + 1);
    }
    if (pending.length > MAX_LINE) {
      fail(`the backend sent a line longer than ${MAX_LINE} bytes`);
      res.destroy();
    }
  });
  res.on("error", () => fail("the backend's stream broke off"));
  res.on("aborted", () => fail("the backend's stream broke off"));
  res.on("end", () => {
    marks.set(HopPoint.last_byte, now());
    if (pending && !settled()) line(pending);
    end();
  });
}
