/**
 * Per-step timing trees, whatever log they came from: each level's total,
 * its named parts, and what the parts leave unnamed, with mean and p90 over
 * the steps. The log readers (studyLog.ts, serverStepLog.ts) hand over a
 * RawTrace; summarizeTrace does the arithmetic for both.
 */
import { quantile } from "../../bench/stats.js";
import { largest, mean } from "../fit.js";

export type StepLogFormat = "study" | "llm-serving";

/** A value as logged, with how far its printed rounding may have moved it (half of its last digit). */
export interface Reading {
  value: number;
  half: number;
}

export interface TraceNode {
  /** Unique in the trace (a label may repeat at another depth). */
  key: string;
  name: string;
  depth: number;
  /** The key of the level it is a part of. */
  parent?: string;
  /** The code the level belongs to, when the log names it (the study's call-chain header). */
  component?: string;
}

export interface RawTrace {
  format: StepLogFormat;
  /** In the order the tree is printed: a node's parts in the order they first appear. */
  nodes: TraceNode[];
  /** Per step, node key → reading; a node a step did not log is missing. */
  steps: Array<Map<string, Reading>>;
  /** Non-blank lines that matched nothing. */
  skipped: number;
  /** Per-step series beside the tree (our log's gap, GC and loop stall), in ms; NaN where missing. */
  extras?: Array<{ name: string; values: number[] }>;
  kinds?: { decode: number; prefill: number };
  /** Steps read but left out by the caller's choice of step kind. */
  excluded?: number;
}

/** Values per step (NaN where the step has none); mean and p90 over the steps that have one. */
export interface Series {
  values: number[];
  /** Steps with a value. */
  count: number;
  mean: number;
  p90: number;
}

export interface PartSummary extends Series {
  name: string;
  depth: number;
}

/**
 * Steps where the named parts add up to more than the level: parts lie
 * inside others without the log saying so. Values are Σ parts − total per
 * step (0 where they do not overlap); mean, p90 and max over the steps where
 * they do.
 */
export interface Overlap extends Series {
  steps: number;
  max: number;
  message: string;
}

export interface LevelSummary extends Series {
  name: string;
  depth: number;
  component?: string;
  parts: PartSummary[];
  /** total − Σ parts per step, never negative (see overlap); 0 within the rounding of the logged values. */
  remainder: Series;
  overlap?: Overlap;
}

export interface StepTrace {
  format: StepLogFormat;
  steps: number;
  /** Non-blank lines that matched nothing. */
  skipped: number;
  /** Steps where some level or part was not logged. */
  incomplete: number;
  /** Levels with named parts, in tree order. */
  levels: LevelSummary[];
  /** Per-step figures beside the tree (our log: gap between steps, GC, loop stall). */
  extras: Array<Series & { name: string }>;
  /** Our log only: steps with a prompt (prefill) row and steps of decode rows only. */
  kinds?: { decode: number; prefill: number };
  excluded?: number;
}

export function series(values: number[]): Series {
  const present = values.filter((v) => !Number.isNaN(v));
  return { values, count: present.length, mean: mean(present), p90: quantile(present, 0.9) };
}

export function summarizeTrace(raw: RawTrace): StepTrace {
  const children = (key: string | undefined): TraceNode[] => raw.nodes.filter((n) => n.parent === key);
  const levels: LevelSummary[] = [];
  const visit = (node: TraceNode): void => {
    const parts = children(node.key);
    if (parts.length) levels.push(level(raw, node, parts));
    parts.forEach(visit);
  };
  children(undefined).forEach(visit);
  return {
    format: raw.format,
    steps: raw.steps.length,
    skipped: raw.skipped,
    incomplete: raw.steps.filter((s) => raw.nodes.some((n) => !s.has(n.key))).length,
    levels,
    extras: (raw.extras ?? []).map((e) => ({ name: e.name, ...series(e.values) })),
    ...(raw.kinds ? { kinds: raw.kinds } : {}),
    ...(raw.excluded !== undefined ? { excluded: raw.excluded } : {}),
  };
}

const valuesOf = (raw: RawTrace, key: string): number[] => raw.steps.map((s) => s.get(key)?.value ?? NaN);

function level(raw: RawTrace, node: TraceNode, parts: readonly TraceNode[]): LevelSummary {
  const diffs = raw.steps.map((s) => unnamed(s.get(node.key), parts.map((p) => s.get(p.key))));
  const out: LevelSummary = {
    name: node.name,
    depth: node.depth,
    ...(node.component ? { component: node.component } : {}),
    ...series(valuesOf(raw, node.key)),
    parts: parts.map((p) => ({ name: p.name, depth: p.depth, ...series(valuesOf(raw, p.key)) })),
    remainder: series(diffs.map((d) => (Number.isNaN(d) ? NaN : Math.max(0, d)))),
  };
  const over = diffs.map((d) => (Number.isNaN(d) ? NaN : Math.max(0, -d)));
  const overlapping = over.filter((v) => v > 0);
  if (overlapping.length) {
    const s = series(overlapping);
    const max = largest(overlapping);
    const message = `${node.name}: its named parts add up to ${s.mean.toFixed(3)} ms more than it (mean over the ${overlapping.length} of ${out.remainder.count} steps where they do; max ${max.toFixed(3)} ms): some parts lie inside others, and the log does not say which`;
    out.overlap = { ...s, values: over, steps: overlapping.length, max, message };
  }
  return out;
}

/**
 * total − Σ parts for one step; NaN when something is missing; 0 when the
 * difference is within the rounding of the printed values (and of the sum
 * itself), which is no time at all.
 */
function unnamed(total: Reading | undefined, parts: ReadonlyArray<Reading | undefined>): number {
  if (!total || parts.some((p) => p === undefined)) return NaN;
  let sum = 0;
  let tolerance = total.half;
  for (const p of parts) {
    sum += p!.value;
    tolerance += p!.half;
  }
  const d = total.value - sum;
  tolerance += 16 * Number.EPSILON * (Math.abs(total.value) + Math.abs(sum));
  return Math.abs(d) <= tolerance ? 0 : d;
}

/** A logged number and half of its last printed digit ("2.345" → 0.0005). */
export function reading(text: string): Reading {
  const m = /^[+-]?\d*(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(text.trim());
  const decimals = (m?.[1]?.length ?? 0) - Number(m?.[2] ?? 0);
  return { value: Number(text), half: 0.5 * 10 ** -decimals };
}
