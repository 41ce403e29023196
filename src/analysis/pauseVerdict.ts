/**
 * The run's pauses in one word (absent, periodic, sporadic) and one sentence,
 * both computed from the numbers, so that the sentence never says more than
 * they do.
 */
import type { Periodicity } from "./pausePeriod.js";
import type { PauseOptions, PauseSummary } from "./pauses.js";

export type PauseKind = "absent" | "periodic" | "sporadic";

/**
 * Absent: no pause, or so few and so small that they are noise (below
 * absentShare of gaps and absentTimeShare of the decode time: both, so that
 * three pauses of half a second in ten thousand gaps are not called absent).
 * Periodic: a periodicity explains them. Sporadic: the rest.
 */
export function pauseKind(s: PauseSummary, o: Required<PauseOptions>, periodicIn: "wall time" | "token position" | undefined): PauseKind {
  if (s.count === 0 || (s.share < o.absentShare && s.decodeShare < o.absentTimeShare)) return "absent";
  return periodicIn ? "periodic" : "sporadic";
}

/** 9600 → "9 600": counts of gaps run to the tens of thousands. */
export function grouped(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, " ");
}

/** ms with the digits that matter: 0.4, 8.2, 40, 543, 79 586. */
export function ms(x: number): string {
  return Math.abs(x) >= 10 ? grouped(x) : x.toFixed(1);
}

/** "1 request", "2 requests". */
export function plural(n: number, word: string): string {
  return `${grouped(n)} ${word}${n === 1 ? "" : "s"}`;
}

/** A share as a percentage, with two significant digits below 1 %. */
export function pct(share: number): string {
  const p = share * 100;
  return p >= 1 ? p.toFixed(1) : p.toPrecision(2);
}

function sizeRange(min: number, max: number): string {
  return ms(min) === ms(max) ? `${ms(min)} ms` : `${ms(min)}–${ms(max)} ms`;
}

export function periodText(p: Periodicity): string {
  if (p.unit === "tokens") return `${Math.abs(p.period - Math.round(p.period)) < 0.05 ? Math.round(p.period) : p.period.toFixed(1)} tokens`;
  // 999.6 ms reads better as "1.00 s" than as "1000 ms".
  return Math.round(p.period) >= 1000 ? `${(p.period / 1000).toFixed(2)} s` : `${ms(p.period)} ms`;
}

export interface VerdictInput {
  summary: PauseSummary;
  options: Required<PauseOptions>;
  kind: PauseKind;
  periodicIn: "wall time" | "token position" | undefined;
  wall: Periodicity | undefined;
  position: Periodicity | undefined;
  /** Pauses merged across requests when they overlapped in time. */
  episodes: number;
}

/** The pause rule with its thresholds, as the verdict and the report state it. */
export function ruleText(o: Required<PauseOptions>): string {
  return `gap > typical + max(${o.k} × MAD, ${o.floorMs} ms, ${Number((o.relativeFloor * 100).toFixed(3))} % of typical)`;
}

export function pauseVerdict(v: VerdictInput): string {
  const s = v.summary;
  const count = plural(s.count, "pause");
  const sizes = sizeRange(s.minSize, s.maxSize);
  const cost = `${pct(s.decodeShare)} % of decode time`;
  if (s.count === 0) return `no pause (${ruleText(v.options)}) in ${plural(s.gaps, "gap")} of ${plural(s.requests, "request")}: absent`;
  if (v.kind === "absent") return `${count} of ${sizes} in ${plural(s.gaps, "gap")} (${pct(s.share)} % of gaps, ${cost}): too few to matter, absent`;
  if (v.kind === "periodic" && v.periodicIn === "wall time" && v.wall) {
    const stalls = v.episodes < s.count ? ` (${grouped(v.episodes)} episodes across requests)` : "";
    return `${count}${stalls} of ${sizes} every ~${periodText(v.wall)} of wall time across requests (CV ${v.wall.cv.toFixed(2)}; ${cost}): periodic, GC-shaped`;
  }
  if (v.kind === "periodic" && v.position) {
    return `${count} of ${sizes} every ${periodText(v.position)} within requests (CV ${v.position.cv.toFixed(2)}; ${cost}): periodic in token position, a per-request cause (a buffer flush, a batch boundary), not GC-shaped`;
  }
  return `${count} of ${sizes} at no regular interval (${cost}): sporadic`;
}
