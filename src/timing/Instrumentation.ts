/**
 * Everything that records and shows time, in one place: request timelines
 * and steps (ring buffers), runtime events (GC, loop stalls), Prometheus
 * metrics, the per-step debug log, the optional JSONL file and OTLP export.
 * The server creates one unless timing is switched off; then none of it runs.
 */
import { chromeTrace } from "./chromeTrace.js";
import { JsonlSink } from "./JsonlSink.js";
import { Logger } from "./Logger.js";
import { Metrics, type EngineGauges } from "./Metrics.js";
import { OtelExporter } from "./OtelExporter.js";
import { breakdownRequest, type RequestBreakdown } from "./requestBreakdown.js";
import { RequestTimeline } from "./RequestTimeline.js";
import { gcKindName, RuntimeMonitor } from "./RuntimeMonitor.js";
import { stepLogTree } from "./stepLog.js";
import type { StepRecord } from "./StepRecord.js";
import { StepStore } from "./StepStore.js";
import { requestDetailJson } from "./timelineJson.js";
import { TimelineStore } from "./TimelineStore.js";

export interface InstrumentationOptions {
  /** Recent request timelines kept. Default 1000. */
  timelines?: number;
  /** Recent steps kept. Default 20000. */
  steps?: number;
  /** Loop stall detection and delay resolution, ms (≤ 5). Default 2. */
  loopResolutionMs?: number;
  /** Append each finished request's timeline to this JSONL file. */
  timelineFile?: string;
  /** Export request spans over OTLP/HTTP to this endpoint. */
  otlpEndpoint?: string;
  logger?: Logger;
  /** The engine's gauges at scrape time (undefined while loading). */
  gauges: () => EngineGauges | undefined;
  model: () => string;
}

export class Instrumentation {
  readonly timelines: TimelineStore;
  readonly steps: StepStore;
  readonly runtime: RuntimeMonitor;
  readonly metrics: Metrics;
  readonly logger: Logger;
  private readonly jsonl: JsonlSink | undefined;
  private readonly otel: OtelExporter | undefined;

  constructor(options: InstrumentationOptions) {
    this.timelines = new TimelineStore(options.timelines ?? 1000);
    this.steps = new StepStore(options.steps ?? 20000);
    this.logger = options.logger ?? new Logger();
    this.metrics = new Metrics(options.gauges, () => ({ delay: this.runtime.takeLoopDelay(), utilization: this.runtime.takeUtilization() }), options.model);
    this.runtime = new RuntimeMonitor({
      resolutionMs: options.loopResolutionMs,
      onGc: (kind, ms) => this.metrics.observeGc(gcKindName(kind), ms),
    });
    this.jsonl = options.timelineFile ? new JsonlSink(options.timelineFile) : undefined;
    this.otel = options.otlpEndpoint ? new OtelExporter(options.otlpEndpoint) : undefined;
  }

  /** A step is done (the master's step listener). */
  recordStep(step: StepRecord): void {
    this.steps.add(step);
    this.metrics.observeStep(step);
    this.logger.debug(() => stepLogTree(step, this.runtime));
  }

  /** A new HTTP request: its timeline, kept in the ring. */
  startRequest(id: string): RequestTimeline {
    const t = new RequestTimeline(id);
    this.timelines.add(t);
    return t;
  }

  breakdown(t: RequestTimeline, at?: number): RequestBreakdown {
    return breakdownRequest(t, this.steps, this.runtime, at);
  }

  /** The response has ended (or its client left): metrics, the JSONL file, OTLP. */
  endRequest(t: RequestTimeline): void {
    const b = this.breakdown(t);
    if (t.genAi) this.metrics.observeRequest(b, t.genAi.operation, t.finishReason);
    this.jsonl?.write(requestDetailJson(b, t, this.steps, this.runtime));
    if (t.genAi) this.otel?.export(b, t, t.genAi);
  }

  chromeTrace(): object {
    return chromeTrace(this.steps, this.timelines, this.runtime);
  }

  async close(): Promise<void> {
    this.runtime.stop();
    await this.jsonl?.close();
    await this.otel?.shutdown();
  }
}
