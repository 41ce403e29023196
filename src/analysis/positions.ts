/**
 * The engine's time per step by output position. A decode step attends to
 * every token before it, so on a long context its time grows with the
 * position; then n × (one typical per-token time) falls short of a long
 * request's engine time by more the longer the request, with no overhead
 * involved. This table shows whether that is so.
 */
import type { ServerTimeline } from "../bench/serverRecords.js";
import { largest, mean } from "./fit.js";

export interface PositionRow {
  /** Output positions from…to (the first output token is position 1, made by the prompt's step). */
  from: number;
  to: number;
  steps: number;
  /** Mean native time (decode + sample) of the request's decode steps at these positions, ms. */
  meanMs: number;
}

const BUCKETS = 8;

export function stepsByPosition(timelines: readonly ServerTimeline[]): PositionRow[] {
  const samples: Array<[position: number, ms: number]> = [];
  for (const t of timelines) {
    let position = 1;
    for (const s of t.steps) {
      if (s.requests.find((r) => r.id === t.id)?.kind !== "decode") continue;
      position++;
      samples.push([position, (s.spans.decode ?? 0) + (s.spans.sample ?? 0)]);
    }
  }
  if (samples.length === 0) return [];
  const last = largest(samples.map(([p]) => p));
  const width = Math.max(1, Math.ceil((last - 1) / BUCKETS));
  const rows: PositionRow[] = [];
  for (let from = 2; from <= last; from += width) {
    const to = Math.min(last, from + width - 1);
    const inBucket = samples.filter(([p]) => p >= from && p <= to).map(([, ms]) => ms);
    if (inBucket.length) rows.push({ from, to, steps: inBucket.length, meanMs: mean(inBucket) });
  }
  return rows;
}
