/**
 * Engines behind HTTP (llama.cpp servers, vLLM, TGI, other llm-serving
 * instances), fronted as one Engine: a request is checked here, routed by
 * the policy to a healthy engine, relayed token by token, and recorded on
 * one timeline (its hop: the engine, why it was chosen, connect, send, first
 * byte, each chunk, last byte, and the backend's own timings). A request
 * that an engine refuses before answering (unreachable, 5xx) goes to another;
 * one cut mid-way ends with an error event. The client's disconnect aborts
 * the backend request, which frees the backend's slot.
 */
import { GREEDY } from "../../agent/Sampling.js";
import { EngineError, RequestError } from "../../master/errors.js";
import { GenerationStream, type FinishReason } from "../../master/GenerationStream.js";
import { validateParams } from "../../master/validate.js";
import { now } from "../../timing/clock.js";
import { HopTrace } from "../../timing/HopTrace.js";
import { RequestPoint } from "../../timing/points.js";
import { RequestTrace } from "../../timing/RequestTrace.js";
import { Arrivals } from "../Arrivals.js";
import { EngineUnavailableError, type Engine, type EngineModel, type EngineRequest, type EngineState, type EngineStats, type EngineTokens } from "../Engine.js";
import type { RemoteRequest } from "../remote/backendProtocol.js";
import type { BackendFailure } from "../remote/BackendCall.js";
import { RemoteBackend, type BackendConfig, type HealthChange } from "../remote/RemoteBackend.js";
import { hopTraceparent } from "../remote/traceparent.js";
import type { LocalEngine } from "../LocalEngine.js";
import { LocalMember } from "./LocalMember.js";
import { Relay } from "./Relay.js";
import { AFFINITY_PREFIX_CHARS, RoutingPolicy, type Choice, type RoutingPolicyName } from "./routingPolicy.js";

export interface RouterOptions {
  /** The name clients use for the model. */
  modelName: string;
  policy: RoutingPolicyName;
  engines: BackendConfig[];
  /** This process's model as one more engine, when the engines list names it (kind local). */
  local?: { name: string; engine: LocalEngine };
  /** Tokens one request can hold, when known (requests that cannot fit are refused here); else the backend decides. */
  contextSize: number | undefined;
  /** Told when an engine goes down or comes back (after its first check), with why it went down. */
  onEngineHealth?: (engine: string, change: HealthChange, why: string | undefined) => void;
}

/** Remote engines have no token table here: formats that show token texts get the text each event carries. */
const NO_TOKENS: EngineTokens = { text: () => "", bytes: () => [], isSpecial: () => false, detokenize: () => "" };

/** An engine a request was sent to, and why it did not serve it; `transient`: unreachable, timed out, busy or restarting. */
interface Tried {
  why: string;
  transient: boolean;
  /** It said it was busy (408, 429): it is up, with no room now. */
  busy?: boolean;
}

interface InFlight {
  stream: GenerationStream;
  cancel(): void;
}

export class RouterEngine implements Engine {
  state: EngineState = "loading";
  failure: Error | undefined;
  readonly ready: Promise<void>;
  readonly backends: RemoteBackend[];
  readonly local: LocalMember | undefined;
  readonly maxPromptBytes = undefined;
  private readonly policy: RoutingPolicy;
  private readonly inFlight = new Set<InFlight>();
  private requestCount = 0;
  private readonly arrivals = new Arrivals();

  constructor(readonly options: RouterOptions) {
    if (options.engines.length === 0) throw new Error("engines: the list is empty");
    this.backends = options.engines.map((c) => new RemoteBackend(c, (b, change) => options.onEngineHealth?.(b.name, change, b.lastError)));
    this.local = options.local ? new LocalMember(options.local.name, options.local.engine) : undefined;
    this.policy = new RoutingPolicy(options.policy);
    // Ready once every engine has been asked once (the local one loaded or failed): requests then go to those that answered.
    const local = this.local?.engine.ready.catch(() => undefined);
    this.ready = Promise.all([...this.backends.map((b) => b.start()), local]).then(() => {
      if (this.state === "loading") this.state = "ready";
    });
  }

  get modelName(): string {
    return this.options.modelName;
  }

  /** The local engine's token table when there is one (remote events carry their own text). */
  get tokens(): EngineTokens {
    return this.local?.engine.tokens ?? NO_TOKENS;
  }

  get model(): EngineModel | undefined {
    if (this.state === "loading") return undefined;
    // The requests taken at once (rows + queueLimit, TGI's max_concurrent_requests): the local engine's, and each remote one's max_outstanding.
    const remoteLimit = this.backends.reduce((a, b) => a + b.config.maxOutstanding, 0);
    const local = this.local?.engine.model;
    if (local) return { ...local, queueLimit: local.queueLimit + remoteLimit };
    const context = this.options.contextSize ?? 0;
    const rows = Math.min(remoteLimit, this.backends.reduce((a, b) => a + (b.load?.capacity ?? 0), 0));
    return { info: undefined, placement: undefined, contextSize: context, requestedContextSize: context, contextNote: undefined, rows, queueLimit: Math.max(0, remoteLimit - rows) };
  }

  ensureAvailable(admitted = false): void {
    if (this.state === "ready" || (admitted && this.state === "draining")) return;
    if (this.state === "loading") throw new EngineUnavailableError("loading", "the engines are being checked; try again shortly", true);
    throw new EngineUnavailableError("shutting_down", "the server is shutting down", true);
  }

  async generate(request: EngineRequest, admitted: boolean): Promise<GenerationStream> {
    this.ensureAvailable(admitted);
    const key = request.sessionKey ?? ("messages" in request ? JSON.stringify(request.messages) : String(request.prompt)).slice(0, AFFINITY_PREFIX_CHARS);
    const first = this.chooseFirst(key);
    // This process's model: the request is served here, on its own timeline.
    if (first.engine instanceof LocalMember) return first.engine.generate(request, admitted);
    const remote = this.intake(request);
    const trace = request.trace ?? new RequestTrace();
    const id = request.id ?? `r-${++this.requestCount}`;
    const seed = remote.seed ?? 0;
    let cancel = (): void => undefined;
    const stream = new GenerationStream(id, [], seed, trace, () => cancel());
    if (request.signal?.aborted) {
      this.finish(stream, "cancelled", "", { promptTokens: 0, generatedTokens: 0 });
      return stream;
    }
    const tried = new Map<RemoteBackend, Tried>();
    // Throws when the chosen engine cannot take it (a 4xx for the client): nothing is in flight then.
    cancel = this.route(remote, stream, key, tried, [], request.traceparent, first as Choice<RemoteBackend>);
    const entry: InFlight = { stream, cancel: () => cancel() };
    this.inFlight.add(entry);
    void stream.completion.then(() => this.inFlight.delete(entry));
    request.signal?.addEventListener("abort", () => stream.cancel(), { once: true });
    return stream;
  }

  /** The request's checks, as far as they can be made without the backend's tokenizer. */
  private intake(request: EngineRequest): RemoteRequest {
    // Unbounded where the backend knows the bound (its vocabulary, its context): it refuses what does not fit.
    const p = validateParams(request, { vocabSize: Infinity, rowCapacity: this.options.contextSize ?? Infinity });
    if (p.topLogprobs > 0) throw new RequestError("invalid_parameter", "top_logprobs: remote engines do not relay alternatives", "top_logprobs");
    if (p.eosTokenIds !== undefined) throw new RequestError("invalid_parameter", "eos_token_id: remote engines use their model's own end tokens", "eos_token_id");
    const base = { maxNewTokens: p.maxNewTokens, sampling: { ...GREEDY, ...p.sampling }, seed: p.seed, stop: p.stop, ignoreEos: p.ignoreEos };
    if ("messages" in request) return { ...base, messages: request.messages };
    const prompt = request.prompt;
    if (typeof prompt === "string" ? prompt.length === 0 : !Array.isArray(prompt) || prompt.length === 0) throw new RequestError("invalid_prompt", "prompt: is empty", "prompt");
    if (typeof prompt !== "string" && !prompt.every((t) => Number.isSafeInteger(t) && t >= 0)) throw new RequestError("invalid_prompt", "prompt: token ids must be non-negative integers", "prompt");
    return { ...base, prompt };
  }

  /** The policy's choice among every engine that can take a request now (a 503 when none can). */
  private chooseFirst(key: string): Choice<RemoteBackend | LocalMember> {
    const all: Array<RemoteBackend | LocalMember> = this.local ? [this.local, ...this.backends] : [...this.backends];
    const open = all.filter((e) => e.healthy && (e instanceof LocalMember || e.outstanding < e.config.maxOutstanding));
    if (open.length === 0) {
      const why = all.map((e) => `${e.name}: ${e instanceof LocalMember ? (e.engine.failure?.message ?? e.engine.state) : e.healthy ? "full" : (e.lastError ?? "not healthy")}`).join("; ");
      // Every one up and full is an overload (429, as TGI answers it): @huggingface/inference resends a 503 at once, without end.
      if (all.every((e) => e.healthy)) throw new EngineUnavailableError("overloaded", `every engine is full (${why}); try again shortly`, true);
      throw new EngineUnavailableError("engine_failed", `no engine is healthy (${why}); they are checked again with backoff`, true);
    }
    return this.policy.choose(open, all, key);
  }

  /** Sends the request to an engine (`choice`, or the policy's); returns its cancel. On a refusal before any answer, tries the next one. */
  private route(remote: RemoteRequest, stream: GenerationStream, key: string, tried: Map<RemoteBackend, Tried>, retries: string[], callerTrace: string | undefined, choice?: Choice<RemoteBackend>): () => void {
    const trace = stream.trace;
    const healthy = this.backends.filter((b) => b.healthy && !tried.has(b) && b.outstanding < b.config.maxOutstanding);
    if (!choice && healthy.length === 0) {
      const reasons = this.backends.map((b) => `${b.name}: ${tried.get(b)?.why ?? (b.healthy ? "full" : (b.lastError ?? "not healthy"))}`);
      if (this.local) reasons.push(`${this.local.name}: not tried (a request a remote engine failed is not retried on this process's model)`);
      const why = `no engine can take the request (${reasons.join("; ")})`;
      // Each one unreachable, timed out, busy, restarting (503) or full: nothing was generated, and soon one may take it. A 500 from each is not
      // that (a request that crashes every backend would take the fleet out again at each retry): no Retry-After then.
      const transient = [...tried.values()].every((t) => t.transient);
      // Every engine up and either full or busy when asked: an overload (429), not an outage.
      const overloaded = this.backends.every((b) => b.healthy && (tried.get(b)?.busy ?? !tried.has(b)));
      this.fail(stream, !transient ? new EngineError(why) : new EngineUnavailableError(overloaded ? "overloaded" : "engine_failed", why, true));
      return () => undefined;
    }
    const { engine, reason } = choice ?? this.policy.choose(healthy, this.backends, key);
    tried.set(engine, { why: "was tried", transient: true });
    let spec: ReturnType<typeof engine.protocol.call>;
    try {
      spec = engine.protocol.call(remote, engine.config.model);
    } catch (err) {
      // The first engine's refusal rejects generate (a 4xx); a retry's ends the stream with it.
      if (retries.length === 0) throw err;
      this.fail(stream, err as Error);
      return () => undefined;
    }
    const hop = new HopTrace(engine.name, reason, engine.urlOf(spec.path));
    hop.retries.push(...retries);
    trace.hop = hop;
    // Routed: a retry's time stays inside the hop's spans (its reason is in `retries`).
    if (Number.isNaN(trace.marks.get(RequestPoint.queued))) trace.marks.set(RequestPoint.queued, now());
    const relay = new Relay(stream, hop, engine.protocol, remote.maxNewTokens, (reason, text, counts, stopString) => this.finish(stream, reason, text, counts, stopString));
    let cancelled = false;
    const abort = engine.relay(spec, hop, {
      event: (data) => relay.event(data),
      end: () => {
        const broken = relay.end();
        if (broken === undefined) return;
        engine.noteFailure(broken);
        this.fail(stream, new EngineError(`engine ${engine.name}: ${broken}`), relay.relayed);
      },
      failed: (err: BackendFailure) => {
        relay.stop();
        if (cancelled) return;
        // Nothing was generated yet: another engine can take it from the start (unreachable, a 5xx, busy, or timed out).
        tried.set(engine, { why: err.message, transient: err.passing, busy: err.kind === "busy" });
        if (relay.tokens === 0 && err.mayGoElsewhere) {
          current = this.route(remote, stream, key, tried, [...retries, `${engine.name}: ${err.message}`], callerTrace);
          return;
        }
        // A token held for the backend's counts still goes out before the error.
        relay.flush();
        // What the backend refused as malformed is the request's fault, said as the backend said it; the rest (auth, model, limits) is ours to fix.
        const message = `engine ${engine.name}: ${err.message}`;
        this.fail(stream, err.kind === "refused" ? new RequestError("invalid_parameter", message) : new EngineError(message), relay.relayed);
      },
    }, (hop.traceparent = hopTraceparent(callerTrace)), stream.id);
    let current = (): void => {
      cancelled = true;
      relay.stop();
      abort();
      this.finish(stream, "cancelled", relay.text, relay.relayed);
    };
    return () => current();
  }

  private finish(stream: GenerationStream, reason: FinishReason, text: string, counts: { promptTokens: number; generatedTokens: number }, stopString?: string): void {
    if (stream.done) return;
    stream.trace.marks.set(RequestPoint.finished, now());
    stream.sink.push({ type: "finish", id: stream.id, finishReason: reason, text, ...(stopString ? { stopString } : {}), ...counts, seed: stream.seed });
  }

  /** `counts`: what the backend had generated before it failed (the tokens already relayed), for the access log and the record. */
  private fail(stream: GenerationStream, error: Error, counts = { promptTokens: 0, generatedTokens: 0 }): void {
    if (stream.done) return;
    stream.trace.marks.set(RequestPoint.finished, now());
    stream.sink.push({ type: "finish", id: stream.id, finishReason: "error", error, text: "", ...counts, seed: stream.seed });
  }

  stats(): EngineStats {
    this.ensureAvailable(true);
    const running = this.backends.reduce((a, b) => a + b.outstanding, 0) + (this.local?.outstanding ?? 0);
    const here = this.local?.healthy ? this.local.engine.stats() : undefined;
    return {
      state: this.state === "ready" ? "running" : this.state === "draining" ? "draining" : "stopped",
      running,
      waiting: here?.waiting ?? 0,
      batchSize: running,
      steps: here?.steps ?? 0,
      kv: here?.kv ?? { blockSize: 0, totalBlocks: 0, usedBlocks: 0, reservedBlocks: 0, paged: false },
      engines: [...(this.local ? [this.local.stats()] : []), ...this.backends.map((b) => ({
        name: b.name,
        kind: b.config.kind,
        url: b.base.href,
        healthy: b.healthy,
        outstanding: b.outstanding,
        served: b.served,
        failures: b.failures,
        lastError: b.lastError ?? null,
        lastFailure: b.lastFailure ?? null,
        load: b.load ?? null,
      }))],
    };
  }

  admit(): boolean {
    return this.arrivals.admit(this.state === "ready");
  }

  settle(): void {
    this.arrivals.settle();
  }

  async drain(timeoutMs: number): Promise<boolean> {
    if (this.state === "loading" || this.state === "ready") this.state = "draining";
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const arrived = this.arrivals.all();
    const all = arrived.then(() => Promise.all([...this.inFlight].map((f) => f.stream.completion))).then(() => true as const);
    // The local engine drains once the admitted requests have arrived: until then it may still be chosen for them.
    const local = arrived.then(() => this.local?.engine.drain(timeoutMs) ?? true);
    const finished = await Promise.race([all, timedOut]);
    clearTimeout(timer);
    if (!finished) for (const f of this.inFlight) f.cancel();
    return (await local) && finished;
  }

  async dispose(): Promise<void> {
    for (const f of this.inFlight) f.cancel();
    await this.local?.engine.dispose();
    for (const b of this.backends) b.stop();
    this.state = "stopped";
  }
}
