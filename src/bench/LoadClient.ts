/**
 * The load client: sends generation requests at planned times (open loop) or
 * with a fixed number in flight (closed loop), over keep-alive HTTP, and
 * records each one on the client's monotonic clock: planned and actual send,
 * response headers, first byte, every token's arrival, end, errors, and the
 * request id it sent as x-request-id (the join key with the server's records).
 *
 * Sending on time matters more than anything else it does: everything but
 * the send is prepared before the planned time, the wait is precise
 * (waitUntil.js), and its own lag (actual − planned) is recorded for every
 * request.
 */
import { Agent, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { now } from "../timing/clock.js";
import { waitUntil } from "./waitUntil.js";
import type { BackendTimings } from "../timing/backendTimings.js";
import { wholeBody, type GenerationAsk, type Protocol, type StreamParser } from "./protocols.js";
import type { PromptSpec } from "./prompts.js";

export interface ClientRecord {
  /** The x-request-id sent (our server adopts it as the request's id). */
  id: string;
  /** The request id the server answered with (its x-request-id header), if it sent one. */
  serverId?: string;
  index: number;
  /** ms on the client's clock, from the run's start. NaN where not reached. */
  planned: number;
  sent: number;
  headers: number;
  firstByte: number;
  /** Arrival of each chunk of the body, as the socket delivered it. */
  chunks: number[];
  /** Arrival of each token-bearing event (streamed responses). */
  tokens: number[];
  end: number;
  status: number;
  error?: string;
  /** Sent a second time, on a connection of its own, after this error on a kept-alive connection the server had closed; `sent` is the second send. */
  resent?: string;
  /** Output tokens, as the server reported (or as counted in the stream). */
  outputTokens: number;
  maxTokens: number;
  promptChars: number;
  stream: boolean;
  protocol: string;
  /** What the backend reported about its own time for this request, if it reported anything (absent in records from before it was kept). */
  backend?: BackendTimings;
}

/** The id a request has in the server's records: the one it answered with, else the one sent. */
export function serverIdOf(r: ClientRecord): string {
  return r.serverId ?? r.id;
}

/** A request that generated tokens without error: what the analyses read. */
export function completed(r: ClientRecord): boolean {
  return !r.error && r.outputTokens > 0;
}

export interface LoadOptions {
  url: string;
  protocol: Protocol;
  model: string;
  prompts: readonly PromptSpec[];
  /** Used for prompts without their own. */
  maxTokens: number;
  count: number;
  stream: boolean;
  ignoreEos: boolean;
  greedy: boolean;
  /** Open loop: send request i at plan[i] ms after the start. */
  plan?: readonly number[];
  /** Closed loop: keep this many requests in flight. */
  concurrency?: number;
  /** Prefix of the request ids (x-request-id). */
  idPrefix?: string;
  timeoutMs?: number;
  /** Called when a request ends (for a progress bar). */
  onDone?: (record: ClientRecord) => void;
  /** Called right after request i was sent (tests use it to act while a request is in flight). */
  onSent?: (record: ClientRecord) => void;
}

/** A request ready to go: its record, body and headers made before its planned time. */
interface Prepared {
  r: ClientRecord;
  body: string;
  headers: Record<string, string | number>;
}

export class LoadClient {
  private readonly agent: Agent;
  private readonly base: URL;
  /** Every request goes to the same route. */
  private readonly url: URL;
  private origin = 0;
  /** Unique per run, so that a server's records of an earlier run never join this one's. */
  private readonly idPrefix: string;

  constructor(private readonly o: LoadOptions) {
    this.base = new URL(o.url);
    this.url = new URL(o.protocol.path(o.model, o.stream), this.base);
    this.idPrefix = o.idPrefix ?? `bench-${Date.now().toString(36)}`;
    this.agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  }

  async run(): Promise<ClientRecord[]> {
    const o = this.o;
    if (o.prompts.length === 0) throw new Error("no prompts");
    const records: ClientRecord[] = [];
    const pending: Array<Promise<void>> = [];
    this.origin = now();
    if (o.plan) {
      for (let i = 0; i < o.count; i++) {
        // Everything but the send itself is done before the planned time: the lag is only the send's.
        const prepared = this.prepare(i, o.plan[i], records);
        await waitUntil(this.origin + o.plan[i]);
        pending.push(this.send(prepared));
      }
    } else {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < o.count) await this.send(this.prepare(next++, NaN, records));
      };
      for (let w = 0; w < Math.max(1, o.concurrency ?? 1); w++) pending.push(worker());
    }
    await Promise.all(pending);
    this.agent.destroy();
    return records.sort((a, b) => a.index - b.index);
  }

  private prepare(index: number, planned: number, records: ClientRecord[]): Prepared {
    const o = this.o;
    const spec = o.prompts[index % o.prompts.length];
    const ask: GenerationAsk = { prompt: spec.prompt, maxTokens: spec.maxTokens ?? o.maxTokens, stream: o.stream, ignoreEos: o.ignoreEos, greedy: o.greedy };
    const body = JSON.stringify(o.protocol.body(o.model, ask));
    const r: ClientRecord = {
      id: `${this.idPrefix}-${index}`,
      index,
      planned,
      sent: NaN,
      headers: NaN,
      firstByte: NaN,
      chunks: [],
      tokens: [],
      end: NaN,
      status: 0,
      outputTokens: 0,
      maxTokens: ask.maxTokens,
      promptChars: spec.prompt.length,
      stream: o.stream,
      protocol: o.protocol.name,
    };
    records.push(r);
    const headers = { "content-type": "application/json", "content-length": Buffer.byteLength(body), "x-request-id": r.id };
    return { r, body, headers };
  }

  private send({ r, body, headers }: Prepared): Promise<void> {
    const o = this.o;
    const t = (): number => now() - this.origin;
    return new Promise<void>((resolve) => {
      const finish = (error?: string): void => {
        if (!Number.isNaN(r.end)) return;
        r.end = t();
        if (error) r.error = error;
        o.onDone?.(r);
        resolve();
      };
      const make = this.base.protocol === "https:" ? httpsRequest : httpRequest;
      const attempt = (agent: Agent | undefined | false): void => {
        const req = make(this.url, {
          method: "POST",
          agent,
          headers,
          timeout: o.timeoutMs ?? 600_000,
        });
        let answered = false;
        req.on("response", (res) => {
          answered = true;
          r.headers = t();
          r.status = res.statusCode ?? 0;
          const answeredId = res.headers["x-request-id"];
          if (typeof answeredId === "string") r.serverId = answeredId;
          res.setEncoding("utf8");
          const parser = o.stream && r.status === 200 ? o.protocol.streamParser() : undefined;
          let whole = "";
          res.on("data", (chunk: string) => {
            const at = t();
            if (Number.isNaN(r.firstByte)) r.firstByte = at;
            r.chunks.push(at);
            if (parser) for (let n = parser.push(chunk); n > 0; n--) r.tokens.push(at);
            else whole += chunk;
          });
          res.on("end", () => {
            if (r.status === 200) readAnswer(r, o.protocol, parser, res.headers, whole);
            finish(r.status === 200 ? undefined : `HTTP ${r.status}: ${whole.slice(0, 200)}`);
          });
          res.on("error", (e) => finish(e.message));
        });
        req.on("timeout", () => req.destroy(new Error("timed out")));
        req.on("error", (e: NodeJS.ErrnoException) => {
          // llama-server closes its connection after each streamed answer while saying keep-alive: a request written on
          // that kept socket meets the close ("socket hang up"). It is sent again on a connection of its own, as Node's
          // docs advise; its time counts from then, the time the server had it.
          if (agent !== false && req.reusedSocket && !answered && (e.code === "ECONNRESET" || e.code === "EPIPE")) {
            r.resent = e.message;
            return attempt(false);
          }
          finish(r.resent !== undefined ? `${e.message} (sent again on a new connection after "${r.resent}" on a kept-alive one)` : e.message);
        });
        req.end(body);
        r.sent = t();
      };
      attempt(this.base.protocol === "https:" ? undefined : this.agent);
      o.onSent?.(r);
    });
  }
}

/** A 200 response's output tokens and the backend's own timings, from its stream (parser) or its whole body. */
function readAnswer(r: ClientRecord, p: Protocol, parser: StreamParser | undefined, headers: IncomingHttpHeaders, whole: string): void {
  const body = parser ? undefined : wholeBody(whole);
  r.outputTokens = parser ? (parser.total ?? r.tokens.length) : (p.countTokens(body) ?? 0);
  const backend = parser?.backend ?? p.backend(headers, body);
  if (backend) r.backend = backend;
}
