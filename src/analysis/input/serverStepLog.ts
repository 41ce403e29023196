/**
 * Our own step log (`serve --log-level debug`, src/timing/stepLog.ts): per
 * step a header
 *
 *     [step 12] rows=1 requests=a,b(prefill 7) gap 0.021 ms, gc 1.2 ms, loop stall 3.4 ms
 *
 * then one line per STEP_TREE level, indented two spaces per depth (plus
 * two), parent first: "  master.step 2.345 ms". "-" is a value the step did
 * not have. Other lines of the server's output (access-log JSON, warnings)
 * are skipped, even between a header and its levels.
 */
import { reading, type RawTrace, type Reading, type TraceNode } from "./stepTrace.js";

export type StepKind = "decode" | "prefill";

const VALUE = "(-|[+-]?(?:\\d+\\.?\\d*|\\.\\d+)(?:e[+-]?\\d+)?)";
const HEADER = new RegExp(`^\\[step (\\d+)\\] rows=(\\d+) requests=(.*?) gap ${VALUE} ms(?:, gc ${VALUE} ms)?(?:, loop stall ${VALUE} ms)?\\s*$`, "i");
const LEVEL = new RegExp(`^((?:  )+)([A-Za-z_][\\w.]*) ${VALUE} ms\\s*$`, "i");

export function isServerStepHeader(line: string): boolean {
  return HEADER.test(line);
}

interface Step {
  kind: StepKind;
  readings: Map<string, Reading>;
  gap: number;
  gc: number;
  stall: number;
  /** The last node seen at each depth, to find a line's parent. */
  path: string[];
}

const number = (text: string | undefined, absent: number): number => (text === undefined ? absent : text === "-" ? NaN : Number(text));

/** `only` keeps the steps of one kind (a step with any prompt row is a prefill step); the others are counted as excluded. */
export function readServerStepLog(text: string, only?: StepKind): RawTrace {
  const nodes = new Map<string, TraceNode>();
  const steps: Step[] = [];
  let skipped = 0;
  let current: Step | undefined;
  for (const line of text.split(/\r?\n/)) {
    const header = HEADER.exec(line);
    if (header) {
      current = { kind: header[3].includes("(prefill ") ? "prefill" : "decode", readings: new Map(), gap: number(header[4], NaN), gc: number(header[5], 0), stall: number(header[6], 0), path: [] };
      steps.push(current);
      continue;
    }
    const level = LEVEL.exec(line);
    if (!current || !level || !addLevel(current, nodes, level[1].length / 2 - 1, level[2], level[3])) {
      if (line.trim() !== "") skipped++;
    }
  }
  const kept = steps.filter((s) => only === undefined || s.kind === only);
  return {
    format: "llm-serving",
    nodes: [...nodes.values()],
    steps: kept.map((s) => s.readings),
    skipped,
    extras: [
      { name: "gap (between two steps)", values: kept.map((s) => s.gap) },
      { name: "gc", values: kept.map((s) => s.gc) },
      { name: "loop stall", values: kept.map((s) => s.stall) },
    ],
    kinds: { decode: steps.filter((s) => s.kind === "decode").length, prefill: steps.filter((s) => s.kind === "prefill").length },
    excluded: steps.length - kept.length,
  };
}

/** False when the line does not fit the step's tree (no parent at the depth above, or a level logged twice): it is skipped. */
function addLevel(step: Step, nodes: Map<string, TraceNode>, depth: number, name: string, value: string): boolean {
  const parent = depth > 0 ? step.path[depth - 1] : undefined;
  if (depth > step.path.length || (depth > 0 && parent === undefined)) return false;
  const key = `${depth}:${name}`;
  if (step.readings.has(key) || step.path.includes(key)) return false;
  step.path.length = depth;
  step.path.push(key);
  if (!nodes.has(key)) nodes.set(key, { key, name, depth, ...(parent ? { parent } : {}) });
  if (value !== "-") step.readings.set(key, reading(value));
  return true;
}
