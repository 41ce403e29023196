/**
 * Sending hostile requests byte for byte. fetch normalizes bodies and headers
 * (it would re-encode strings and fix a wrong Content-Length), so requests go
 * through node:http, and broken framing through node:net. Every send has a
 * deadline: a request the server never answers is a hang, reported as such.
 */
import http from "node:http";
import net from "node:net";

/** A request that takes longer than this is a hang. */
const REQUEST_TIMEOUT_MS = 10_000;

export interface Reply {
  /** 0 when the connection closed without any response. */
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  bytes: Buffer;
  /** The body decoded as UTF-8 (invalid sequences replaced). */
  text: string;
  ms: number;
}

export interface HttpRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  /** Sent as they are: a string is UTF-8 encoded, a Buffer is not touched. */
  body?: string | Buffer;
  /** A keep-alive agent for the runner's own checks; fuzz requests get a connection each. */
  agent?: http.Agent;
}

/** One request on its own connection, the body and headers exactly as given. */
export function sendHttp(baseUrl: string, req: HttpRequest): Promise<Reply> {
  const started = performance.now();
  const target = new URL(baseUrl);
  const body = req.body === undefined ? undefined : typeof req.body === "string" ? Buffer.from(req.body, "utf8") : req.body;
  const headers: Record<string, string> = { ...(req.headers ?? {}) };
  if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === "content-length")) headers["content-length"] = String(body.length);
  return new Promise((resolve, reject) => {
    const r = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.path, headers, agent: req.agent ?? false, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (e) => reject(hangOr(e, req)));
        res.on("end", () => {
          const bytes = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: flatHeaders(res.headers), bytes, text: bytes.toString("utf8"), ms: performance.now() - started });
        });
      },
    );
    r.on("error", (e) => reject(hangOr(e, req)));
    r.end(body);
  });
}

function hangOr(e: Error, req: HttpRequest): Error {
  if (e.name === "AbortError" || e.name === "TimeoutError") return new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms to ${req.method} ${req.path}: the server hangs`);
  return e;
}

function flatHeaders(h: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(", ") : v;
  return out;
}

export interface RawOptions {
  /** Half-close after writing (the client sent everything it ever will). */
  halfClose?: boolean;
  /** Keep the connection open this long after writing, then drop it (the server may answer nothing). */
  holdMs?: number;
}

/** The first response on a raw connection, and all of them (pipelined requests). */
export interface RawReply extends Reply {
  all: Reply[];
}

/**
 * Writes `bytes` on a fresh TCP connection and reads until the server closes
 * it (the request should ask for Connection: close). Status 0 when nothing
 * came back.
 */
export function sendRaw(baseUrl: string, bytes: string | Buffer, options: RawOptions = {}): Promise<RawReply> {
  const started = performance.now();
  const target = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(target.port), target.hostname);
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(hold);
      socket.destroy();
      if (err) reject(err);
      else {
        const all = parseResponses(Buffer.concat(chunks), performance.now() - started);
        resolve({ ...(all[0] ?? { status: 0, headers: {}, bytes: Buffer.alloc(0), text: "", ms: performance.now() - started }), all });
      }
    };
    const deadline = setTimeout(() => finish(new Error(`raw request: no close within ${REQUEST_TIMEOUT_MS} ms: the server hangs`)), REQUEST_TIMEOUT_MS);
    const hold = options.holdMs === undefined ? undefined : setTimeout(() => finish(), options.holdMs);
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("close", () => finish());
    // A reset after the server answered and closed is fine; what it wrote is kept.
    socket.on("error", () => finish());
    socket.write(bytes);
    if (options.halfClose) socket.end();
  });
}

/** Every complete response in raw bytes (pipelined requests get one each, in order; chunked bodies decoded). */
function parseResponses(wire: Buffer, ms: number): Reply[] {
  const replies: Reply[] = [];
  let rest = wire;
  for (;;) {
    const one = parseOne(rest, ms);
    if (!one) return replies;
    if (one.reply.status !== 100) replies.push(one.reply);
    rest = rest.subarray(one.length);
  }
}

function parseOne(wire: Buffer, ms: number): { reply: Reply; length: number } | undefined {
  const headEnd = wire.indexOf("\r\n\r\n");
  if (wire.length === 0 || headEnd < 0) return undefined;
  const [statusLine, ...headerLines] = wire.subarray(0, headEnd).toString("latin1").split("\r\n");
  const status = Number(statusLine.split(" ")[1] ?? 0);
  // An interim 100 Continue precedes the real response.
  if (status === 100) return { reply: { status, headers: {}, bytes: Buffer.alloc(0), text: "", ms }, length: headEnd + 4 };
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = wire.subarray(headEnd + 4);
  let body: Buffer;
  let used: number;
  if (/chunked/i.test(headers["transfer-encoding"] ?? "")) [body, used] = dechunk(rest);
  else if (headers["content-length"] !== undefined) [body, used] = [rest.subarray(0, Number(headers["content-length"])), Number(headers["content-length"])];
  else [body, used] = [rest, rest.length];
  return { reply: { status, headers, bytes: body, text: body.toString("utf8"), ms }, length: headEnd + 4 + used };
}

function dechunk(body: Buffer): [Buffer, number] {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < body.length) {
    const lineEnd = body.indexOf("\r\n", at);
    if (lineEnd < 0) break;
    const size = parseInt(body.subarray(at, lineEnd).toString("latin1"), 16);
    if (!Number.isFinite(size)) break;
    if (size === 0) return [Buffer.concat(parts), lineEnd + 4];
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return [Buffer.concat(parts), body.length];
}

/** An HTTP/1.1 request as bytes, Connection: close, with a Content-Length unless `headers` sets framing itself. */
export function rawRequest(method: string, path: string, headers: Record<string, string>, body: string | Buffer = ""): Buffer {
  const payload = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  const framed = Object.keys(headers).some((h) => /^(content-length|transfer-encoding)$/i.test(h));
  const all = { host: "localhost", connection: "close", ...(framed || (method === "GET" && payload.length === 0) ? {} : { "content-length": String(payload.length) }), ...headers };
  const head = `${method} ${path} HTTP/1.1\r\n${Object.entries(all)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("")}\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), payload]);
}
