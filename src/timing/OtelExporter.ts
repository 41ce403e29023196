/**
 * OpenTelemetry trace export over OTLP/HTTP (--otlp-endpoint). Each finished
 * request becomes a SERVER span with the GenAI semantic-convention
 * attributes, continuing the caller's W3C trace (traceparent), with child
 * spans for its phases. Spans are built after the fact from the timeline, on
 * the same clock, so exporting costs nothing while the request runs.
 */
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Tracer } from "@opentelemetry/api";
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor, RandomIdGenerator, type IdGenerator, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { performance } from "node:perf_hooks";
import type { RequestBreakdown } from "./requestBreakdown.js";
import { RequestPoint } from "./points.js";
import type { RequestTimeline } from "./RequestTimeline.js";

const propagator = new W3CTraceContextPropagator();
const getter = { get: (c: Record<string, string>, k: string) => c[k], keys: (c: Record<string, string>) => Object.keys(c) };

/** performance.now() time → ms since the epoch, as OpenTelemetry wants. */
const epoch = (t: number): number => performance.timeOrigin + t;

export interface GenAiRequestAttributes {
  operation: string;
  model: string;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  seed?: number;
}

/**
 * Random ids, except the next one when it is set: a relayed request's trace
 * id and its hop's span id were chosen when its traceparent went to the
 * backend, so the spans exported afterwards must carry those same ids for
 * the backend's spans to hang from ours.
 */
class PresetIds implements IdGenerator {
  private readonly random = new RandomIdGenerator();
  traceId: string | undefined;
  spanId: string | undefined;

  generateTraceId(): string {
    const id = this.traceId ?? this.random.generateTraceId();
    this.traceId = undefined;
    return id;
  }

  generateSpanId(): string {
    const id = this.spanId ?? this.random.generateSpanId();
    this.spanId = undefined;
    return id;
  }
}

/**
 * Says when export starts failing, once, and when it works again: the OTLP
 * exporter drops what it cannot send without a word (OpenTelemetry's own
 * diagnostics are off by default), so a collector that is down or a wrong
 * port looked like a server that exports nothing.
 */
class ReportingExporter implements SpanExporter {
  private failing = false;

  constructor(
    private readonly inner: SpanExporter,
    private readonly url: string,
    private readonly report: (level: "warn" | "info", message: string) => void,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      const failed = result.code !== ExportResultCode.SUCCESS;
      if (failed && !this.failing) this.report("warn", `OTLP export to ${this.url} failed: ${result.error?.message ?? "no reason given"}; request spans are dropped until it works (said once)`);
      if (!failed && this.failing) this.report("info", `OTLP export to ${this.url} works again`);
      this.failing = failed;
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/**
 * At shutdown, the spans still queued get this long to reach the collector:
 * the exporter retries a collector that is down or silent for ~10 s, and
 * telemetry must not hold a drained server's exit (nor fail it).
 */
export const SHUTDOWN_FLUSH_MS = 2000;

export class OtelExporter {
  private readonly provider: BasicTracerProvider;
  private readonly tracer: Tracer;
  private readonly ids = new PresetIds();
  private readonly url: string;

  /** `report`: a line for the operator when export starts or stops failing, or when spans are left unsent at shutdown. */
  constructor(
    endpoint: string,
    private readonly report: (level: "warn" | "info", message: string) => void,
    serviceName = "llm-serving",
  ) {
    const url = (this.url = endpoint.endsWith("/v1/traces") ? endpoint : `${endpoint.replace(/\/$/, "")}/v1/traces`);
    this.provider = new BasicTracerProvider({
      idGenerator: this.ids,
      resource: resourceFromAttributes({ "service.name": serviceName }),
      spanProcessors: [new BatchSpanProcessor(new ReportingExporter(new OTLPTraceExporter({ url }), url, report), { scheduledDelayMillis: 200 })],
    });
    this.tracer = this.provider.getTracer("llm-serving");
  }

  export(b: RequestBreakdown, t: RequestTimeline, genAi: GenAiRequestAttributes): void {
    const carrier = t.traceparent ? { traceparent: t.traceparent } : {};
    const parent = propagator.extract(context.active(), carrier, getter);
    const d = b.durations;
    const attributes: Attributes = {
      "gen_ai.operation.name": genAi.operation,
      "gen_ai.provider.name": "llm-serving",
      "gen_ai.request.model": genAi.model,
      "gen_ai.response.model": genAi.model,
      "gen_ai.response.id": t.id,
      "gen_ai.usage.input_tokens": b.promptTokens,
      "gen_ai.usage.output_tokens": b.generatedTokens,
      "http.request.method": t.route.split(" ")[0],
      "http.route": t.route.split(" ")[1] ?? t.route,
      "http.response.status_code": t.status,
      "llm_serving.request_id": t.id,
      "llm_serving.untimed_ms": d.untimed,
      "llm_serving.gc_ms": d.gc,
      "llm_serving.stall_ms": d.stall,
    };
    if (t.finishReason) attributes["gen_ai.response.finish_reasons"] = [t.finishReason];
    if (b.hop) {
      // Served by a remote engine: which one, why, and its time split (the hop's spans are children below).
      attributes["llm_serving.engine"] = b.hop.engine;
      attributes["llm_serving.route_reason"] = b.hop.reason;
      attributes["server.address"] = b.hop.url;
      if (b.hop.backendEngineMs !== null) attributes["llm_serving.backend_engine_ms"] = b.hop.backendEngineMs;
      attributes["llm_serving.ours_ms"] = b.hop.oursMs;
    }
    if (d.ttft !== null) attributes["llm_serving.ttft_ms"] = d.ttft;
    if (d.tpot !== null) attributes["llm_serving.tpot_ms"] = d.tpot;
    for (const [key, value] of [
      ["gen_ai.request.max_tokens", genAi.maxTokens],
      ["gen_ai.request.temperature", genAi.temperature],
      ["gen_ai.request.top_p", genAi.topP],
      ["gen_ai.request.top_k", genAi.topK],
      ["gen_ai.request.seed", genAi.seed],
    ] as const) {
      if (value !== undefined) attributes[key] = value;
    }
    const sent = b.hop?.traceparent?.split("-");
    // No caller trace: ours began with the hop's traceparent, so the root takes its trace id.
    if (sent && !t.traceparent) this.ids.traceId = sent[1];
    const root = this.tracer.startSpan(`${genAi.operation} ${genAi.model}`, { kind: SpanKind.SERVER, startTime: epoch(b.span.start), attributes }, parent);
    if (t.status >= 500 || t.aborted) root.setStatus({ code: SpanStatusCode.ERROR, message: t.aborted ? "client went away" : `HTTP ${t.status}` });
    const inner = trace.setSpan(parent, root);
    const child = (name: string, start: number, end: number): void => {
      if (Number.isNaN(start) || Number.isNaN(end) || end <= start) return;
      this.tracer.startSpan(name, { startTime: epoch(start), kind: SpanKind.INTERNAL }, inner).end(epoch(end));
    };
    // The HTTP phases and the queue as they are; the engine steps as prefill (to the first token) and decode.
    for (const c of b.span.children ?? []) if (c.name !== "step" && c.name !== "loop") child(c.name, c.start, c.end);
    const firstToken = t.trace?.marks.get(RequestPoint.first_token) ?? NaN;
    if (b.hop && sent) {
      // The hop as the backend saw its parent: a CLIENT span with the span id its traceparent named.
      const routed = t.trace?.marks.get(RequestPoint.queued) ?? NaN;
      const finished = t.trace?.marks.get(RequestPoint.finished) ?? NaN;
      if (!Number.isNaN(routed) && !Number.isNaN(finished)) {
        this.ids.spanId = sent[2];
        const attributes: Attributes = { "server.address": b.hop.url, "llm_serving.engine": b.hop.engine, "llm_serving.route_reason": b.hop.reason };
        this.tracer.startSpan(`relay ${b.hop.engine}`, { kind: SpanKind.CLIENT, startTime: epoch(routed), attributes }, inner).end(epoch(finished));
      }
    }
    // Our engine's phases, for a request it ran (a relayed one has its hop's spans and the relay span instead), cut where
    // respond begins and where the request ended (a client that left): the spans under the root do not overlap.
    const firstStep = b.span.children?.find((c) => c.name === "step");
    const respond = b.span.children?.find((c) => c.name === "respond");
    const cut = Math.min(respond?.start ?? Infinity, b.span.end);
    if (firstStep && !b.hop) {
      child("prefill", firstStep.start, Math.min(firstToken, cut));
      child("decode", firstToken, Math.min(firstToken + (b.durations.decode ?? NaN), cut));
    }
    root.end(epoch(b.span.end));
  }

  /** Sends what is queued, for up to SHUTDOWN_FLUSH_MS; never fails: what could not be sent is said in a warning. */
  async shutdown(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), SHUTDOWN_FLUSH_MS)));
    try {
      const outcome = await Promise.race([this.provider.shutdown(), late]);
      if (outcome === "late") this.report("warn", `OTLP: the spans still queued at shutdown were not sent: ${this.url} did not take them within ${SHUTDOWN_FLUSH_MS / 1000} s`);
    } catch (err) {
      this.report("warn", `OTLP: the spans still queued at shutdown were not sent: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The caller's traceparent, if it is a valid W3C one. */
export function readTraceparent(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const extracted = propagator.extract(context.active(), { traceparent: value }, getter);
  return trace.getSpanContext(extracted) ? value : undefined;
}

