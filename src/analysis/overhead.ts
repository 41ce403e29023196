/**
 * Splits a request's overhead into named parts. The overhead is what the
 * client waited beyond the bare engine: client e2e − n × c, where c is the
 * request's typical native time (decode + sample) of one decode step. Every span of the
 * server's timeline goes to one part; GC pauses and event-loop stalls that
 * overlapped a span are taken out of it into their own parts; what the
 * client saw beyond the server's own time is network and HTTP; untimed is
 * the rest (the server's time in no named span). The parts add up to the
 * overhead exactly.
 */
import type { ClientRecord } from "../bench/LoadClient.js";
import type { ServerTimeline, SpanJson } from "../bench/serverRecords.js";
import { mad, mean, median } from "./fit.js";

export const OVERHEAD_PARTS = [
  "network_http",
  "parse_validation",
  "tokenization",
  "queue",
  "prefill_beyond_decode",
  "native_variance",
  "loop",
  "detokenization",
  "writing",
  "remote",
  "gc",
  "stall",
  "untimed",
] as const;

export type OverheadPart = (typeof OVERHEAD_PARTS)[number];

/** What each part means (for the reports). */
export const PART_MEANING: Readonly<Record<OverheadPart, string>> = {
  network_http: "client e2e − server e2e, plus reading the body (receive)",
  parse_validation: "the API family checking its parameters (validate)",
  tokenization: "the master's checks and tokenization, making the request (tokenize, enqueue)",
  queue: "waiting for a row and for the step that admits it",
  prefill_beyond_decode: "native time of the prompt's steps beyond one decode step",
  native_variance: "native time of the decode steps beyond (n − 1) × c: the spikes (a step that also carried another request's prompt, under continuous batching, is one); negative when its steps ran faster than c",
  loop: "per step: schedule, build, dispatch, and the loop turn between steps",
  detokenization: "per step: stop checks and incremental detokenization (postprocess)",
  writing: "per step: delivery to the stream; then the response (respond)",
  remote: "a relayed request: connecting to the backend, sending, its front end, queue and network, beyond its engine's own time (connect, send, wait, stream)",
  gc: "GC pauses that overlapped the request",
  stall: "event-loop stalls that overlapped it, GC pauses aside",
  untimed: "server time in no named span (the remainder)",
};

const PART_OF_SPAN: Readonly<Record<string, OverheadPart | "native">> = {
  receive: "network_http",
  validate: "parse_validation",
  tokenize: "tokenization",
  enqueue: "tokenization",
  queue: "queue",
  loop: "loop",
  respond: "writing",
  schedule: "loop",
  build: "loop",
  dispatch: "loop",
  decode: "native",
  sample: "native",
  postprocess: "detokenization",
  deliver: "writing",
  connect: "remote",
  send: "remote",
  wait: "remote",
  stream: "remote",
};

const finite = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/**
 * What a relayed request's backend says its engine took (the hop's
 * backend_engine_ms, whichever backend said it): its prompt part (llama.cpp
 * prompt_ms, vLLM's TTFT from scheduling) and its time per generated token
 * after the first.
 */
function backendEngine(t: ServerTimeline): { promptMs: number; decodeMs: number; perToken: number } | undefined {
  const total = t.hop?.backend_engine_ms;
  if (total === null || total === undefined) return undefined;
  const raw = t.hop?.backend_timings ?? {};
  const promptMs = Math.min(total, finite(raw.prompt_ms) ?? finite(raw.time_to_first_token_ms) ?? 0);
  const decodeMs = total - promptMs;
  const n = finite(raw.predicted_n) ?? t.generated_tokens;
  return { promptMs, decodeMs, perToken: n > 1 ? decodeMs / (n - 1) : NaN };
}

export type Parts = Record<OverheadPart, number>;

export interface RequestOverhead {
  /** Native ms of one decode step for this request (c). */
  perToken: number;
  overhead: number;
  parts: Parts;
}

/** The native (decode + sample) time of each of the request's steps, prompt steps apart. */
function nativeByStep(t: ServerTimeline): { prompt: number[]; decode: number[] } {
  const prompt: number[] = [];
  const decode: number[] = [];
  for (const s of t.steps) {
    const native = (s.spans.decode ?? 0) + (s.spans.sample ?? 0);
    const row = s.requests.find((r) => r.id === t.id);
    (row?.kind === "prefill" ? prompt : decode).push(native);
  }
  return { prompt, decode };
}

/** Steps slower than the median by more than this many MADs are spikes, not the request's typical step. */
const SPIKE_MADS = 5;

/**
 * c for one request: the mean native time of its decode steps, spikes left
 * out; `fallback` when it has none (one token). A mean, not a median: step
 * time grows with the context, and only the mean times n gives the steps'
 * total; spikes are left out so that they show as native_variance.
 */
export function perTokenNative(t: ServerTimeline, fallback: number): number {
  // A relayed request has no steps here: its backend's own figure is its native time per token.
  const remote = backendEngine(t);
  if (remote && Number.isFinite(remote.perToken)) return remote.perToken;
  const { decode } = nativeByStep(t);
  if (decode.length === 0) return fallback;
  const limit = median(decode) + SPIKE_MADS * mad(decode);
  const typical = decode.filter((ms) => ms <= limit);
  return mean(typical);
}

export function splitOverhead(client: ClientRecord, t: ServerTimeline, fallbackPerToken: number): RequestOverhead {
  const parts = Object.fromEntries(OVERHEAD_PARTS.map((p) => [p, 0])) as Parts;
  const c = perTokenNative(t, fallbackPerToken);
  const n = client.outputTokens || t.generated_tokens;
  let nativeNet = 0;
  let promptNet = 0;
  const visit = (span: SpanJson, promptStep: boolean): void => {
    const gc = span.gc_ms ?? 0;
    const stall = Math.max(0, (span.stall_ms ?? 0) - gc);
    const net = Math.max(0, span.dur - gc - stall);
    parts.gc += gc;
    parts.stall += stall;
    const part = PART_OF_SPAN[span.name];
    if (part === "native") {
      nativeNet += net;
      if (promptStep) promptNet += net;
    } else if (part) {
      parts[part] += net;
    }
  };
  const stepById = new Map(t.steps.map((s) => [s.id, s]));
  for (const child of t.span.children ?? []) {
    if (child.step === undefined) {
      visit(child, false);
      continue;
    }
    const step = stepById.get(child.step);
    const promptStep = step?.requests.find((r) => r.id === t.id)?.kind === "prefill";
    for (const stage of child.children ?? []) visit(stage, promptStep);
  }
  const remote = backendEngine(t);
  if (remote) {
    // The backend's engine ran inside the hop's spans: that much of `remote` is native time.
    const engine = Math.min(parts.remote, remote.promptMs + remote.decodeMs);
    parts.remote -= engine;
    nativeNet += engine;
    promptNet += Math.min(engine, remote.promptMs);
  }
  const clientE2e = client.end - client.sent;
  parts.network_http += clientE2e - t.durations.e2e;
  const promptSampled = promptNet > 0 ? 1 : 0;
  parts.prefill_beyond_decode = promptNet - promptSampled * c;
  parts.native_variance = nativeNet - promptNet - (n - promptSampled) * c;
  // The server's own untimed figure, less the rounding of the spans above: what remains.
  const overhead = clientE2e - n * c;
  parts.untimed = overhead - OVERHEAD_PARTS.reduce((sum, p) => (p === "untimed" ? sum : sum + parts[p]), 0);
  return { perToken: c, overhead, parts };
}
