/**
 * The study's per-token trace (MindSpore llm-serving's model-side log, as the
 * study printed it): one line per timed stage,
 *
 *     <path>[line:N] - INFO: <label> time is <ms>      (or "<label> is <ms>", "<label> <ms>")
 *
 * indented by depth in the call chain, which a bracketed header names
 * ("[AsyncMaster._run_workers_async -> Worker._predict -> …]"). A parent is
 * logged after its children: at each depth the last line of a step is that
 * depth's total and the other lines are its named parts, the next depth's
 * total being one more. A step ends with the depth-0 total (e-to-e).
 */
import { reading, type RawTrace, type Reading, type TraceNode } from "./stepTrace.js";

interface Timing {
  kind: "timing";
  depth: number;
  label: string;
  reading: Reading;
}

type Event = Timing | { kind: "header"; chain: string[] };

const LOG_LINE = /^(\s*)(.*?) - (?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL): (.*)$/;
/** "pre-process time is 0.08", "post_time is 3.2", "DecodeTime 39.55" (a trailing "ms" allowed). */
const MESSAGE = /^(.*?)\s+(?:time\s+is\s+|is\s+)?([+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)\s*(?:ms)?\s*$/i;
const CHAIN = /^\s*\[([^\]]*->[^\]]*)\]\s*$/;

/** Lines that name a time: other log lines of the server ("loaded 7 shards") would otherwise pass for one. */
const TIMED = /time/i;

/** True when the line is one of the trace's timing lines (for format detection). */
export function isStudyLine(line: string): boolean {
  return parseTiming(line) !== undefined;
}

function parseTiming(line: string): { indent: number; label: string; value: string } | undefined {
  const m = LOG_LINE.exec(line.replace(/\t/g, "    "));
  if (!m || !TIMED.test(m[3])) return undefined;
  const msg = MESSAGE.exec(m[3].trim());
  if (!msg || msg[1].trim() === "") return undefined;
  return { indent: m[1].length, label: msg[1].trim(), value: msg[2] };
}

export function readStudyLog(text: string): RawTrace {
  const { events, skipped } = scan(text);
  const endLabel = lastLabelMode(splitBlocks(events), 0);
  const blocks = splitBlocks(events, endLabel);
  const chain = events.find((e) => e.kind === "header")?.chain ?? [];
  const nodes = treeOf(blocks, chain);
  const steps = blocks.map((b) => new Map(b.map((t) => [keyOf(t), t.reading])));
  return { format: "study", nodes, steps, skipped };
}

const keyOf = (t: { depth: number; label: string }): string => `${t.depth}:${t.label}`;

/** The events of the file, depths in units of the file's own indentation step (the gcd of its indentations). */
function scan(text: string): { events: Event[]; skipped: number } {
  const parsed: Array<Event | { kind: "raw"; indent: number; label: string; value: string }> = [];
  let skipped = 0;
  for (const line of text.split(/\r?\n/)) {
    const chain = CHAIN.exec(line);
    const timing = chain ? undefined : parseTiming(line);
    if (chain) parsed.push({ kind: "header", chain: chain[1].split("->").map((s) => s.trim()) });
    else if (timing) parsed.push({ kind: "raw", ...timing });
    else if (line.trim() !== "") skipped++;
  }
  const unit = parsed.reduce((g, e) => (e.kind === "raw" ? gcd(g, e.indent) : g), 0) || 1;
  const events = parsed.map((e): Event => (e.kind === "raw" ? { kind: "timing", depth: e.indent / unit, label: e.label, reading: reading(e.value) } : e));
  return { events, skipped };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * Steps: a step ends after its depth-0 total (the line labelled `endLabel`,
 * or, before that label is known, a depth-0 line followed by a deeper line);
 * a header, or a label the step already has, starts a new one (so a step
 * whose total was not logged does not swallow the next).
 */
function splitBlocks(events: readonly Event[], endLabel?: string): Timing[][] {
  const blocks: Timing[][] = [];
  let current: Timing[] = [];
  const close = (): void => {
    if (current.length) blocks.push(current);
    current = [];
  };
  events.forEach((e, i) => {
    if (e.kind === "header") return close();
    if (current.some((t) => keyOf(t) === keyOf(e))) close();
    current.push(e);
    if (e.depth !== 0) return;
    const next = events[i + 1];
    const ends = endLabel !== undefined ? e.label === endLabel : next === undefined || next.kind === "header" || next.depth > 0;
    if (ends) close();
  });
  close();
  return blocks;
}

/** The label most often last at `depth` in a step: that depth's total (steps that lack it do not change it). */
function lastLabelMode(blocks: readonly Timing[][], depth: number): string | undefined {
  const counts = new Map<string, number>();
  for (const b of blocks) {
    const last = b.filter((t) => t.depth === depth).at(-1);
    if (last) counts.set(last.label, (counts.get(last.label) ?? 0) + 1);
  }
  let best: string | undefined;
  for (const [label, n] of counts) if (best === undefined || n > counts.get(best)!) best = label;
  return best;
}

/** One level per depth: its total, and as parts the other labels at that depth and the next depth's total. */
function treeOf(blocks: readonly Timing[][], chain: readonly string[]): TraceNode[] {
  const seen = new Map<string, Timing>();
  for (const b of blocks) for (const t of b) if (!seen.has(keyOf(t))) seen.set(keyOf(t), t);
  const maxDepth = Math.max(-1, ...[...seen.values()].map((t) => t.depth));
  const totals = new Map<number, string>();
  for (let d = 0; d <= maxDepth; d++) {
    const label = lastLabelMode(blocks, d);
    if (label !== undefined) totals.set(d, keyOf({ depth: d, label }));
  }
  const totalAbove = (depth: number): string | undefined => {
    for (let d = depth - 1; d >= 0; d--) if (totals.has(d)) return totals.get(d);
    return undefined;
  };
  return [...seen.values()].map((t): TraceNode => {
    const key = keyOf(t);
    const isTotal = totals.get(t.depth) === key;
    const parent = isTotal ? totalAbove(t.depth) : totals.get(t.depth);
    const component = isTotal ? chain[t.depth] : undefined;
    return { key, name: t.label, depth: t.depth, ...(parent ? { parent } : {}), ...(component ? { component } : {}) };
  });
}
