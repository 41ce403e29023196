/**
 * Everything that records and shows time, in one place: request timelines
 * and steps (ring buffers), runtime events (GC, loop stalls), Prometheus
 * metrics, the per-step debug log, the optional JSONL file and OTLP export.
 * The server creates one unless timing is switched off; then none of it runs.
 */
import { chromeTrace } from "./chromeTrace.js";
import { now } from "./clock.js";
import { JsonlSink } from "./JsonlSink.js";
import { Logger } from "./Logger.js";
import { Metrics, type EngineGauges } from "./Metrics.js";
import { OtelExporter } from "./OtelExporter.js";
import { breakdownRequest, type RequestBreakdown } from "./requestBreakdown.js";
import { RequestTimeline } from "./RequestTimeline.js";
import { gcKindName, RuntimeMonitor } from "./RuntimeMonitor.js";
import { stepLogTree } from "./stepLog.js";
import type { EngineStep } from "./StepRecord.js";
import { StepStore } from "./StepStore.js";
import { requestDetailJson } from "./timelineJson.js";
import { TimelineStore } from "./TimelineStore.js";

/** How often recorded steps reach the metrics and the debug log. */
const FLUSH_INTERVAL_MS = 100;
/**
 * Runtime events reach the monitor after they happened (a stall when its
 * timer finally fires, GC entries asynchronously), so a request's record goes
 * to the file and to OTLP only this long after it ended, with them in.
 */
const SETTLE_MS = 25;

export interface InstrumentationOptions {
  /** Recent request timelines kept. Default 1000. */
  timelines?: number;
  /** Recent steps kept. Default 20000. */
  steps?: number;
  /** Loop stall detection and delay resolution, ms (≤ 5). Default 5. */
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
  /** The last step observed by the metrics and the log (see recordStep). */
  private flushed = 0;
  private readonly flushTimer: NodeJS.Timeout;
  /** Ended requests waiting out SETTLE_MS before they go to the file and OTLP, oldest first. */
  private readonly ended: Array<{ t: RequestTimeline; at: number }> = [];

  constructor(options: InstrumentationOptions) {
    this.timelines = new TimelineStore(options.timelines ?? 1000);
    this.steps = new StepStore(options.steps ?? 20000);
    this.logger = options.logger ?? new Logger();
    this.metrics = new Metrics(options.gauges, () => ({ delay: this.runtime.takeLoopDelay(), utilization: this.runtime.takeUtilization() }), options.model);
    this.runtime = new RuntimeMonitor({
      resolutionMs: options.loopResolutionMs,
      onGc: (kind, ms) => this.metrics.observeGc(gcKindName(kind), ms),
    });
    const say = (level: "warn" | "info", message: string): void => this.logger.log(level, level === "warn" ? `warning: ${message}` : message);
    this.jsonl = options.timelineFile ? new JsonlSink(options.timelineFile, { failed: (message) => say("warn", message), dropped: () => this.metrics.timelineLineDropped() }) : undefined;
    this.otel = options.otlpEndpoint ? new OtelExporter(options.otlpEndpoint, say) : undefined;
    this.flushTimer = setInterval(() => this.flush(), FLUSH_INTERVAL_MS);
    this.flushTimer.unref();
  }

  /**
   * A step is done (the master's step listener). The engine starts its next
   * step right after this returns, so only the O(1) store happens here. The
   * metrics and the log take the recorded steps in batches, every
   * FLUSH_INTERVAL_MS and before every scrape or view: scheduling work per
   * step (even a setImmediate) measurably slowed the engine.
   */
  recordStep(step: EngineStep): void {
    this.steps.add(step);
  }

  /** Observes the steps recorded since the last flush (those still kept), and exports the settled requests. */
  flush(): void {
    this.exportSettled(false);
    this.metrics.rollLoopWindow(now());
    const latest = this.steps.latest;
    const debug = this.logger.enabled("debug");
    for (let id = Math.max(this.flushed + 1, latest - this.steps.capacity + 1); id <= latest; id++) {
      if (!this.steps.has(id)) continue;
      this.metrics.observeStep(this.steps, id);
      if (debug) this.logger.log("debug", stepLogTree(this.steps.get(id)!, this.runtime));
    }
    this.flushed = latest;
  }

  /** A new HTTP request: its timeline, kept in the ring. */
  startRequest(id: string): RequestTimeline {
    const t = new RequestTimeline(id);
    this.timelines.add(t);
    this.runtime.hold(); // released by endRequest
    return t;
  }

  /** Where the request's time went; `detail` adds each step's stages and per-span GC and stalls (debug views). */
  breakdown(t: RequestTimeline, detail = false): RequestBreakdown {
    return breakdownRequest(t, this.steps, this.runtime, undefined, detail);
  }

  /** The response has ended (or its client left): metrics now; the JSONL file and OTLP once its runtime events are in. */
  endRequest(t: RequestTimeline): void {
    this.runtime.release();
    if (t.genAi) this.metrics.observeRequest(this.breakdown(t), t.genAi.operation, t.finishReason);
    if (this.jsonl || this.otel) this.ended.push({ t, at: now() });
  }

  private exportSettled(all: boolean): void {
    const settled = now() - SETTLE_MS;
    let i = 0;
    for (; i < this.ended.length && (all || this.ended[i].at <= settled); i++) {
      const { t } = this.ended[i];
      this.jsonl?.write(requestDetailJson(this.breakdown(t, true), t, this.steps, this.runtime));
      if (t.genAi) this.otel?.export(this.breakdown(t), t, t.genAi);
    }
    this.ended.splice(0, i);
  }

  /** The Prometheus exposition, with every step so far observed. */
  metricsText(): Promise<string> {
    this.flush();
    return this.metrics.render();
  }

  chromeTrace(): object {
    return chromeTrace(this.steps, this.timelines, this.runtime);
  }

  async close(): Promise<void> {
    clearInterval(this.flushTimer);
    this.flush();
    this.exportSettled(true);
    this.runtime.stop();
    await this.jsonl?.close();
    await this.otel?.shutdown();
  }
}
