/**
 * One backend server (llama.cpp, an OpenAI-compatible server such as vLLM,
 * or TGI) as the router sees it: healthy or not, how many of our requests it
 * has outstanding, how loaded it says it is, and a way to relay a request.
 * Health is asked at an interval while it is healthy, and with a backoff
 * while it is not (HealthBackoff); a request that cannot reach it takes it
 * out at once.
 */
import { Agent as HttpAgent, get as httpGet } from "node:http";
import { Agent as HttpsAgent, get as httpsGet } from "node:https";
import type { HopTrace } from "../../timing/HopTrace.js";
import type { BackendCallSpec, BackendKind, BackendLoad, BackendProtocol } from "./backendProtocol.js";
import { remedy, startCall, type CallHandlers } from "./BackendCall.js";
import { HealthBackoff } from "./HealthBackoff.js";
import { SpareConnection } from "./SpareConnection.js";
import { llamaCppProtocol } from "./llamaCppProtocol.js";
import { openAiProtocol } from "./openAiProtocol.js";
import { tgiProtocol } from "./tgiProtocol.js";

const PROTOCOLS: Record<BackendKind, BackendProtocol> = { "llama.cpp": llamaCppProtocol, openai: openAiProtocol, tgi: tgiProtocol };

export interface BackendConfig {
  name: string;
  url: string;
  kind: BackendKind;
  /** The model name the backend wants in OpenAI requests (vLLM checks it). */
  model?: string;
  /** Sent as a bearer token. */
  apiKey?: string;
  /** Requests it may have outstanding at once (beyond it, requests go to another engine, or fail if none can take them). */
  maxOutstanding: number;
  healthIntervalMs: number;
  /** A backend that is down is checked at least this often (default DOWN_CHECK_MAX_MS, HealthBackoff.ts; tests shorten it). */
  downCheckMaxMs?: number;
  firstByteTimeoutMs: number;
  idleTimeoutMs: number;
}

export const BACKEND_DEFAULTS = { maxOutstanding: 256, healthIntervalMs: 2000, firstByteTimeoutMs: 120_000, idleTimeoutMs: 60_000 } as const;

/** A health check that takes longer than this counts as failed. */
const HEALTH_TIMEOUT_MS = 5000;

/** How an engine's health changed: taken out, back, or healthy for the first time (it failed its first check). */
export type HealthChange = "down" | "up" | "first up";

export class RemoteBackend {
  readonly protocol: BackendProtocol;
  readonly base: URL;
  healthy = false;
  /** Why it is out: the last failed health check, or the request that took it out (cleared when a check passes). */
  lastError: string | undefined;
  /**
   * Why its last request failed (unreachable, cut mid-way, a 5xx, our key
   * or model refused), kept until another fails: an operator's first
   * question, which a passing health check does not answer. Not set by
   * refusals of the request itself (400, 413, 422) or busy answers (408, 429).
   */
  lastFailure: string | undefined;
  outstanding = 0;
  load: BackendLoad | undefined;
  /** Requests it served, and that failed. */
  served = 0;
  failures = 0;
  private readonly agent: HttpAgent | HttpsAgent;
  /** For a backend that closes its connection after each answer: the next request's connection, opened ahead. */
  private readonly spare: SpareConnection | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly backoff: HealthBackoff;
  private stopped = false;
  private firstCheck: Promise<void> | undefined;
  /** Whether the first health check is done. */
  private checked = false;
  private everHealthy = false;
  /** Bumped when a request takes it out: a health check begun before then says nothing of the backend since. */
  private downs = 0;

  /** `onHealth`: told when the backend goes down or comes back after its first check (the start line says how that went), for the operator's log. */
  constructor(
    readonly config: BackendConfig,
    private readonly onHealth: (backend: RemoteBackend, change: HealthChange) => void = () => undefined,
  ) {
    this.protocol = PROTOCOLS[config.kind];
    this.base = new URL(config.url.endsWith("/") ? config.url : `${config.url}/`);
    const Agent = this.base.protocol === "https:" ? HttpsAgent : HttpAgent;
    // llama-server closes its connection after each streamed answer: keeping it would only race its close.
    this.agent = new Agent({ keepAlive: config.kind !== "llama.cpp", maxSockets: Infinity, maxFreeSockets: 64 });
    if (config.kind === "llama.cpp" && this.base.protocol === "http:") this.spare = new SpareConnection(this.base.hostname.replace(/^\[(.*)\]$/, "$1"), Number(this.base.port) || 80);
    this.backoff = new HealthBackoff(config.healthIntervalMs, config.downCheckMaxMs);
  }

  get name(): string {
    return this.config.name;
  }

  /** Begins the health checks; resolves after the first. */
  start(): Promise<void> {
    this.firstCheck ??= this.check();
    return this.firstCheck;
  }

  /**
   * Relays a request built by this backend's protocol (`spec`); returns its
   * abort. `requestId` goes as x-request-id, as the client's came to us: a
   * backend that adopts it (ours, vLLM) keeps its record of the request under
   * the same id, so that the two hops' records join.
   */
  relay(spec: BackendCallSpec, hop: HopTrace, handlers: CallHandlers, traceparent: string, requestId: string): () => void {
    this.outstanding++;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      this.outstanding--;
    };
    const abort = startCall(this.url(spec.path), spec.body, hop, {
      event: handlers.event,
      end: () => {
        finish();
        this.served++;
        handlers.end();
      },
      failed: (err) => {
        finish();
        this.failures++;
        if (err.isBackendFailure) this.lastFailure = err.message;
        if (err.takesEngineOut) this.markDown(err.message);
        handlers.failed(err);
      },
    }, {
      agent: this.agent,
      spare: this.spare?.take(),
      headers: { traceparent, "x-request-id": requestId, ...(this.config.apiKey ? { authorization: `Bearer ${this.config.apiKey}` } : {}) },
      firstByteTimeoutMs: this.config.firstByteTimeoutMs,
      idleTimeoutMs: this.config.idleTimeoutMs,
    });
    // The next request's connection, opened once this one's send is under way.
    if (this.spare) setImmediate(() => this.healthy && this.spare!.refill());
    return () => {
      finish();
      abort();
    };
  }

  /** Where a request would go, for the hop's record. */
  urlOf(path: string): string {
    return this.url(path).href;
  }

  /** A route of the backend: relative to its URL, so that a URL with a path prefix keeps it. */
  private url(path: string): URL {
    return new URL(path.replace(/^\//, ""), this.base);
  }

  /** A request it served went wrong after it had answered (its stream ended early or carried an error): kept as its last failure. */
  noteFailure(why: string): void {
    this.lastFailure = why;
  }

  markDown(why: string): void {
    this.lastError = why;
    if (!this.healthy) return;
    this.downs++;
    this.setHealthy(false);
    this.schedule(this.backoff.takenOut(Date.now()));
  }

  private setHealthy(healthy: boolean): void {
    if (healthy === this.healthy) return;
    this.healthy = healthy;
    const first = healthy && !this.everHealthy;
    if (healthy) this.everHealthy = true;
    if (this.checked) this.onHealth(this, !healthy ? "down" : first ? "first up" : "up");
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.check(), ms);
    this.timer.unref();
  }

  private async check(): Promise<void> {
    const downs = this.downs;
    const ok = await this.get(this.protocol.healthPath).then(
      (r) => (r.status === 200 ? undefined : `health answered ${r.status}${remedy(r.status, `GET ${this.url(this.protocol.healthPath).pathname}`, r.body, this.config.apiKey !== undefined)}`),
      // An https URL to a plain-HTTP server fails the TLS handshake (EPROTO, "wrong version number"): say what that means. (A server that just waits cannot be told from a slow one.)
      (err: Error) => `health check failed: ${err.message}${this.base.protocol === "https:" && /EPROTO|wrong version number/.test(err.message) ? " (the url says https: does the backend serve TLS?)" : ""}`,
    );
    // Stopping destroys the check's socket: that is no news of the backend. A request that took it out meanwhile is newer news than this answer (its own check comes after its backoff).
    if (this.stopped || downs !== this.downs) return;
    if (ok === undefined) {
      this.lastError = undefined;
      this.setHealthy(true);
      await this.readLoad();
      this.checked = true;
      // A request that took it out while its load was read has scheduled the next check itself, after its (flap) backoff.
      if (this.stopped || downs !== this.downs) return;
      this.schedule(this.backoff.passed());
    } else {
      this.lastError = ok;
      this.setHealthy(false);
      this.checked = true;
      this.schedule(this.backoff.failed(Date.now()));
    }
  }

  private async readLoad(): Promise<void> {
    const { loadPath, load } = this.protocol;
    if (!loadPath || !load) return;
    const r = await this.get(loadPath).catch(() => undefined);
    this.load = r?.status === 200 ? load(r.body) : undefined;
  }

  private get(path: string): Promise<{ status: number; body: string }> {
    const url = this.url(path);
    const get = url.protocol === "https:" ? httpsGet : httpGet;
    return new Promise((resolve, reject) => {
      const req = get(url, { agent: this.agent, headers: this.config.apiKey ? { authorization: `Bearer ${this.config.apiKey}` } : {} }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          if (body.length < 1 << 20) body += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", reject);
      });
      req.setTimeout(HEALTH_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${HEALTH_TIMEOUT_MS} ms`)));
      req.on("error", (err: NodeJS.ErrnoException) => reject(new Error(err.code ?? err.message)));
    });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.spare?.stop();
    this.agent.destroy();
  }
}
