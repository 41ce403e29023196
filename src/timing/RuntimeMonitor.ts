/**
 * Runtime events on the same clock as every mark: each GC pause (a
 * PerformanceObserver on 'gc': kind and duration) and each event-loop stall
 * (a timer every `resolutionMs` that records how late it fired, as an
 * interval), plus Node's own event-loop delay histogram and utilisation.
 * Requests and steps are charged with whatever of these overlaps them.
 *
 * The stall timer runs only while something is held (a request in flight):
 * a stall while nothing is in flight overlaps no request (one that arrives
 * during it is received when it ends) and no step, and 200 wake-ups a
 * second cost an idle server ~1 % of a core for nothing.
 */
import { constants as perfConstants, monitorEventLoopDelay, performance, PerformanceObserver, type IntervalHistogram } from "node:perf_hooks";
import { now } from "./clock.js";
import { EventRing } from "./EventRing.js";

const { NODE_PERFORMANCE_GC_MAJOR, NODE_PERFORMANCE_GC_MINOR, NODE_PERFORMANCE_GC_INCREMENTAL, NODE_PERFORMANCE_GC_WEAKCB } = perfConstants;

/** A GC entry's kind (detail.kind) by name. */
export function gcKindName(kind: number): string {
  switch (kind) {
    case NODE_PERFORMANCE_GC_MINOR:
      return "minor";
    case NODE_PERFORMANCE_GC_MAJOR:
      return "major";
    case NODE_PERFORMANCE_GC_INCREMENTAL:
      return "incremental";
    case NODE_PERFORMANCE_GC_WEAKCB:
      return "weakcb";
    default:
      return "other";
  }
}

export interface RuntimeMonitorOptions {
  /** Stall detection and loop-delay sampling resolution (ms, ≤ 5). Default 5: each tick wakes the event loop. */
  resolutionMs?: number;
  /** Events kept per kind. Default 8192. */
  capacity?: number;
  onGc?: (kind: number, durationMs: number) => void;
}

export class RuntimeMonitor {
  readonly gc: EventRing;
  readonly stalls: EventRing;
  readonly resolutionMs: number;
  private readonly observer: PerformanceObserver;
  private readonly delay: IntervalHistogram;
  private timer: NodeJS.Timeout | undefined;
  private lastTick = now();
  private holds = 0;
  private eluMark = performance.eventLoopUtilization();

  constructor(options: RuntimeMonitorOptions = {}) {
    this.resolutionMs = options.resolutionMs ?? 5;
    if (!(this.resolutionMs > 0 && this.resolutionMs <= 5)) throw new RangeError(`resolutionMs must be in (0, 5], got ${this.resolutionMs}`);
    const capacity = options.capacity ?? 8192;
    this.gc = new EventRing(capacity);
    this.stalls = new EventRing(capacity);
    this.observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const kind = (entry as { detail?: { kind?: number } }).detail?.kind ?? 0;
        this.gc.add(entry.startTime, entry.startTime + entry.duration, kind);
        options.onGc?.(kind, entry.duration);
      }
    });
    this.observer.observe({ entryTypes: ["gc"] });
    this.delay = monitorEventLoopDelay({ resolution: Math.max(1, Math.round(this.resolutionMs)) });
    this.delay.enable();
  }

  /** Something that stalls would hold up has begun (a request): stalls are watched for until every hold is released. */
  hold(): void {
    this.holds++;
    if (this.timer) return;
    this.lastTick = now();
    this.timer = setInterval(() => this.tick(), this.resolutionMs);
    this.timer.unref();
  }

  /** The timer stops at its next tick, not now: that tick still finds a stall the last request's end was caught in. */
  release(): void {
    if (this.holds > 0) this.holds--;
  }

  /** Whether stalls are being watched for now. */
  get watching(): boolean {
    return this.timer !== undefined;
  }

  /**
   * A tick later than one period after the previous one means the loop was
   * blocked in between. The block began at some unknown time within the
   * period after the previous tick: its midpoint is the estimate, so a stall's
   * start is off by at most half a period.
   */
  private tick(): void {
    const t = now();
    const late = t - (this.lastTick + this.resolutionMs);
    if (late >= this.resolutionMs) this.stalls.add(this.lastTick + this.resolutionMs / 2, t);
    this.lastTick = t;
    if (this.holds === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Event-loop delay since the last call (ms): Node's histogram, then reset. */
  takeLoopDelay(): { p50: number; p99: number; max: number; mean: number } {
    const h = this.delay;
    const ms = (ns: number): number => (Number.isFinite(ns) ? ns / 1e6 : 0);
    const snapshot = { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), mean: ms(h.mean) };
    h.reset();
    return snapshot;
  }

  /** Event-loop utilisation (0…1) since the last call. */
  takeUtilization(): number {
    const current = performance.eventLoopUtilization();
    const u = performance.eventLoopUtilization(current, this.eluMark).utilization;
    this.eluMark = current;
    return u;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.observer.disconnect();
    this.delay.disable();
  }
}
