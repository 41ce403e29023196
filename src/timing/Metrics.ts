/**
 * GET /metrics, in Prometheus text format (prom-client): OpenTelemetry's
 * GenAI server metrics (time to first token, time per output token, request
 * duration), our request phases, per-stage step histograms with buckets down
 * to 10 µs, GC pauses by kind, event-loop delay and utilisation, batch size,
 * KV blocks, running and waiting requests; and prom-client's process
 * metrics (RSS, CPU, heap, handles, event-loop lag).
 */
import { performance } from "node:perf_hooks";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { now } from "./clock.js";
import type { RequestBreakdown } from "./requestBreakdown.js";
import { STEP_SPANS, StepPoint } from "./points.js";
import type { StepStore } from "./StepStore.js";

/** What the metrics read from the engine at scrape time. */
export interface EngineGauges {
  running: number;
  waiting: number;
  kv: { usedBlocks: number; reservedBlocks: number; totalBlocks: number };
  /** Remote engines, each as the router sees it and as it says it is loaded. */
  engines?: ReadonlyArray<{ name: string; healthy: boolean; outstanding: number; served: number; failures: number; load: { running?: number; waiting?: number; kvUsage?: number } | null }>;
}

const s = (ms: number): number => ms / 1000;

/** The event loop's delay (ms) and utilisation over one window. */
export interface LoopWindow {
  delay: { p50: number; p99: number; max: number; mean: number };
  utilization: number;
}

/** The event-loop gauges' window: shorter than a usual scrape interval (15–60 s), long enough to hold a spike until it is read. */
export const LOOP_WINDOW_MS = 10_000;

/** Step stages last from microseconds (tiny models) to seconds (prefill of long prompts). */
const STAGE_BUCKETS = [1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1, 2.5];
// OpenTelemetry's advised buckets for the GenAI metrics, extended below for fast CPU models.
const TTFT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const TPOT_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5];
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

let processMetrics: Registry | undefined;

/**
 * prom-client's process metrics, in a registry of their own made once per
 * process: they start monitors (GC, event-loop delay) that cannot be
 * stopped, so a process that makes several servers (tests) must not make
 * them again for each.
 */
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly ttft: Histogram<string>;
  private readonly tpot: Histogram<string>;
  private readonly duration: Histogram<string>;
  private readonly phase: Histogram<string>;
  private readonly stage: Histogram<string>;
  /** Per stage, the histogram's child bound to its label: observing one builds no label key. */
  private readonly stageChildren: ReturnType<Histogram<string>["labels"]>[];
  private readonly gapChild: ReturnType<Histogram<string>["labels"]>;
  private readonly batch: Histogram<string>;
  private readonly gc: Histogram<string>;
  private readonly requests: Counter<string>;
  private readonly responses: Counter<string>;
  private readonly tokens: Counter<string>;
  private readonly timelineDropped: Counter<string>;
  private readonly hop: Histogram<string>;
  private readonly views: Counter<string>;
  private readonly loop: () => LoopWindow;
  private loopWindow: LoopWindow = { delay: { p50: 0, p99: 0, max: 0, mean: 0 }, utilization: 0 };
  private windowStart = now();

  constructor(
    gauges: () => EngineGauges | undefined,
    loop: () => LoopWindow,
    private readonly model: () => string,
  ) {
    const registers = [this.registry];
    // Made now, so that its monitors have samples by the first scrape.
    processRegistry();
    const genAi = ["gen_ai_operation_name", "gen_ai_request_model"];
    this.ttft = new Histogram({ name: "gen_ai_server_time_to_first_token_seconds", help: "Time to generate the first token (OpenTelemetry gen_ai.server.time_to_first_token)", labelNames: genAi, buckets: TTFT_BUCKETS, registers });
    this.tpot = new Histogram({ name: "gen_ai_server_time_per_output_token_seconds", help: "Time per output token after the first (OpenTelemetry gen_ai.server.time_per_output_token)", labelNames: genAi, buckets: TPOT_BUCKETS, registers });
    this.duration = new Histogram({ name: "gen_ai_server_request_duration_seconds", help: "Server request duration (OpenTelemetry gen_ai.server.request.duration)", labelNames: [...genAi, "error_type"], buckets: DURATION_BUCKETS, registers });
    this.phase = new Histogram({ name: "llm_serving_request_phase_seconds", help: "Request phases: queue, prefill, decode, respond, overhead, untimed", labelNames: ["phase"], buckets: DURATION_BUCKETS, registers });
    this.stage = new Histogram({ name: "llm_serving_step_stage_seconds", help: "Engine step stages (docs/timing.md), and the gap between steps", labelNames: ["stage"], buckets: STAGE_BUCKETS, registers });
    this.stageChildren = STEP_SPANS.map((span) => this.stage.labels({ stage: span.name }));
    this.gapChild = this.stage.labels({ stage: "gap" });
    this.batch = new Histogram({ name: "llm_serving_step_batch_size", help: "Rows per engine step", buckets: [1, 2, 4, 8, 16, 32, 64, 128], registers });
    this.gc = new Histogram({ name: "llm_serving_gc_pause_seconds", help: "GC pauses by kind", labelNames: ["kind"], buckets: STAGE_BUCKETS, registers });
    this.requests = new Counter({ name: "llm_serving_requests_total", help: "Finished HTTP generation requests by finish reason", labelNames: ["finish_reason"], registers });
    this.tokens = new Counter({ name: "llm_serving_tokens_total", help: "Prompt and generated tokens", labelNames: ["kind"], registers });
    this.responses = new Counter({ name: "llm_serving_http_requests_total", help: "Every HTTP request answered, by route (its pattern; unmatched for a path the server does not have) and status: refusals (401, 413, 422, 429, 503…) and clients gone (499) too", labelNames: ["route", "status"], registers });
    this.timelineDropped = new Counter({ name: "llm_serving_timeline_lines_dropped_total", help: "Request timelines not written to --timeline-file: the file failed, or fell too far behind the disk", registers });
    const gauge = (name: string, help: string, read: (g: EngineGauges) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const g = gauges();
          if (g) this.set(read(g));
        },
      });
    };
    gauge("llm_serving_requests_running", "Requests in the batch", (g) => g.running);
    gauge("llm_serving_requests_waiting", "Requests waiting for a row", (g) => g.waiting);
    gauge("llm_serving_kv_blocks_used", "KV blocks holding tokens", (g) => g.kv.usedBlocks);
    gauge("llm_serving_kv_blocks_reserved", "KV blocks promised to running requests", (g) => g.kv.reservedBlocks);
    gauge("llm_serving_kv_blocks_total", "KV blocks in all rows", (g) => g.kv.totalBlocks);
    type EngineRead = (e: NonNullable<EngineGauges["engines"]>[number]) => number | undefined;
    /**
     * One series per remote engine, read from the router at each scrape. Counts
     * since start are counters (rate() and increase() read them, and a restart
     * is a counter reset): reset and incremented to the router's count.
     */
    const perEngine = (name: string, help: string, read: EngineRead, kind: "gauge" | "counter" = "gauge"): void => {
      const each = (write: (engine: string, v: number) => void): void => {
        for (const e of gauges()?.engines ?? []) {
          const v = read(e);
          if (v !== undefined) write(e.name, v);
        }
      };
      const config = { name, help, labelNames: ["engine"], registers };
      if (kind === "counter") {
        new Counter({
          ...config,
          collect() {
            this.reset();
            each((engine, v) => this.inc({ engine }, v));
          },
        });
      } else {
        new Gauge({
          ...config,
          collect() {
            this.reset();
            each((engine, v) => this.set({ engine }, v));
          },
        });
      }
    };
    perEngine("llm_serving_engine_up", "1 while a remote engine passes its health checks", (e) => (e.healthy ? 1 : 0));
    perEngine("llm_serving_engine_outstanding_requests", "Our requests in flight on a remote engine", (e) => e.outstanding);
    perEngine("llm_serving_engine_served_requests_total", "Requests a remote engine served to the end", (e) => e.served, "counter");
    perEngine("llm_serving_engine_failed_requests_total", "Requests that failed on a remote engine", (e) => e.failures, "counter");
    perEngine("llm_serving_engine_backend_running", "Requests running on a remote engine, as it reports (llama.cpp /slots, vLLM /metrics)", (e) => e.load?.running);
    perEngine("llm_serving_engine_backend_waiting", "Requests waiting on a remote engine, as it reports (vLLM /metrics)", (e) => e.load?.waiting);
    perEngine("llm_serving_engine_backend_kv_usage", "KV cache use of a remote engine, 0-1, as it reports (vLLM /metrics)", (e) => e.load?.kvUsage);
    this.hop = new Histogram({ name: "llm_serving_hop_seconds", help: "A relayed request's time by part: ours, network_and_front (network, the backend's front end and queue), backend_engine (as the backend reports)", labelNames: ["engine", "part"], buckets: DURATION_BUCKETS, registers });
    this.views = new Counter({ name: "llm_serving_debug_view_seconds_total", help: "Main-thread time spent on the dashboard's feeds (view=stream|steps|distributions): building their JSON, and for the stream writing it to every watcher; what watching costs", labelNames: ["view"], registers });
    this.loop = loop;
    const window = (): LoopWindow => this.loopWindow;
    new Gauge({
      name: "llm_serving_event_loop_delay_seconds",
      help: `Event-loop delay over the last complete ${LOOP_WINDOW_MS / 1000} s window (monitorEventLoopDelay; 0 until the first ends)`,
      labelNames: ["stat"],
      registers,
      collect() {
        for (const [stat, v] of Object.entries(window().delay)) this.set({ stat }, s(v));
      },
    });
    new Gauge({
      name: "llm_serving_event_loop_utilization",
      help: `Event-loop utilisation over the last complete ${LOOP_WINDOW_MS / 1000} s window (0-1; 0 until the first ends)`,
      registers,
      collect() {
        this.set(window().utilization);
      },
    });
    let busy = performance.eventLoopUtilization().active;
    new Counter({
      name: "llm_serving_event_loop_busy_seconds_total",
      help: "Time the event loop was busy (not waiting for I/O); its rate is the utilisation over any window",
      registers,
      collect() {
        const now = performance.eventLoopUtilization().active;
        this.inc(Math.max(0, now - busy) / 1000);
        busy = now;
      },
    });
  }

  /**
   * Ends the event-loop window once it is LOOP_WINDOW_MS long (called every
   * 100 ms): the gauges show the last whole window, the same to every
   * scraper, however many scrape and however often (taken at each scrape,
   * a second scraper stole the first one's window).
   */
  rollLoopWindow(at: number): void {
    if (at - this.windowStart < LOOP_WINDOW_MS) return;
    this.loopWindow = this.loop();
    this.windowStart = at;
  }

  observeStep(steps: StepStore, id: number): void {
    for (let i = 0; i < STEP_SPANS.length; i++) {
      const d = steps.mark(id, StepPoint[STEP_SPANS[i].to]) - steps.mark(id, StepPoint[STEP_SPANS[i].from]);
      if (!Number.isNaN(d)) this.stageChildren[i].observe(s(d));
    }
    const gap = steps.gap(id);
    if (!Number.isNaN(gap)) this.gapChild.observe(s(gap));
    this.batch.observe(steps.rows(id));
  }

  /** Time the server spent on a dashboard feed (its JSON and its writes). */
  observeView(view: "stream" | "steps" | "distributions", durationMs: number): void {
    this.views.inc({ view }, s(durationMs));
  }

  /** `route`: the route's pattern, never the URL sent (a label per URL would grow without bound). */
  countResponse(route: string, status: number): void {
    this.responses.inc({ route, status: String(status) });
  }

  timelineLineDropped(): void {
    this.timelineDropped.inc();
  }

  observeGc(kind: string, durationMs: number): void {
    this.gc.observe({ kind }, s(durationMs));
  }

  observeRequest(b: RequestBreakdown, operation: string, finishReason: string): void {
    const labels = { gen_ai_operation_name: operation, gen_ai_request_model: this.model() };
    const d = b.durations;
    const failed = b.status >= 400 || b.aborted;
    // A client that left cancelled its request: not an error of the server's.
    this.duration.observe({ ...labels, error_type: failed ? (b.aborted ? "cancelled" : String(b.status)) : "" }, s(d.e2e));
    this.requests.inc({ finish_reason: b.aborted ? "cancelled" : finishReason || (failed ? "error" : "unknown") });
    if (failed) return;
    if (d.ttft !== null) this.ttft.observe(labels, s(d.ttft));
    if (d.tpot !== null) this.tpot.observe(labels, s(d.tpot));
    for (const [phase, v] of [["queue", d.queue], ["prefill", d.prefill], ["decode", d.decode], ["respond", d.respond], ["overhead", d.overhead], ["untimed", d.untimed]] as const) {
      if (v !== null && v >= 0) this.phase.observe({ phase }, s(v));
    }
    const h = b.hop;
    if (h) {
      for (const [part, v] of [["ours", h.oursMs], ["network_and_front", h.networkAndFrontMs], ["backend_engine", h.backendEngineMs]] as const) {
        if (v !== null && v >= 0) this.hop.observe({ engine: h.engine, part }, s(v));
      }
    }
    this.tokens.inc({ kind: "prompt" }, b.promptTokens);
    this.tokens.inc({ kind: "generated" }, b.generatedTokens);
  }

  async render(): Promise<string> {
    return (await this.registry.metrics()) + (await processRegistry().metrics());
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
