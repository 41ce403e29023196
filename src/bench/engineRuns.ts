/**
 * The two ways the engine benchmarks drive an agent over the same rows: through
 * the master (as the server does), timing every step span, and bare (one
 * Agent.runStep after another, no scheduling, no postprocessing).
 */
import type { Agent, RowInput } from "../agent/Agent.js";
import { GREEDY } from "../agent/Sampling.js";
import { Master } from "../master/Master.js";
import type { Step } from "../master/Step.js";
import { now } from "../timing/clock.js";
import { STEP_SPANS, StepPoint } from "../timing/points.js";

/** Our own JS per step (the "JS time"): every step span that is neither native work nor node-llama-cpp's queueing, plus the loop turn. */
export const OUR_SPANS = ["schedule", "build", "postprocess", "deliver"] as const;

export interface RunResult {
  batch: number;
  tokensPerSecond: number;
  stepMs: number[];
  spans: Record<string, number[]>;
  /** Loop turn: from one step's `delivered` to the next step's `step_start`. */
  loopMs: number[];
  jsMs: number[];
}

function spanOf(step: Step, name: string): number {
  const s = STEP_SPANS.find((x) => x.name === name)!;
  return step.marks.span(StepPoint[s.from], StepPoint[s.to]);
}

export async function runMaster(agent: Agent, batch: number, tokens: number, logprobs: boolean): Promise<RunResult> {
  const master = new Master(agent, { maxBatchSize: batch });
  const steps: Step[] = [];
  master.onStep((s) => steps.push(s));
  const started = now();
  const streams = await Promise.all(Array.from({ length: batch }, (_, i) => master.submit({ prompt: `request number ${i} of the benchmark`, maxNewTokens: tokens, ignoreEos: true, logprobs })));
  const done = await Promise.all(streams.map((s) => s.completion));
  const elapsed = (now() - started) / 1000;
  await master.close();
  await agent.pool.whenSettled();
  const generated = done.reduce((n, c) => n + c.generatedTokens, 0);
  const decodeSteps = steps.filter((s, i) => i > 0 && s.rows.length === batch && s.rows.every((r) => r.kind === "decode") && i + 1 < steps.length);
  const result: RunResult = { batch, tokensPerSecond: generated / elapsed, stepMs: [], spans: {}, loopMs: [], jsMs: [] };
  for (const span of STEP_SPANS) result.spans[span.name] = decodeSteps.map((s) => spanOf(s, span.name));
  for (const s of decodeSteps) {
    const next = steps[steps.indexOf(s) + 1];
    const loop = next.marks.get(StepPoint.step_start) - s.marks.get(StepPoint.delivered);
    result.loopMs.push(loop);
    result.stepMs.push(next.marks.get(StepPoint.step_start) - s.marks.get(StepPoint.step_start));
    result.jsMs.push(OUR_SPANS.reduce((t, name) => t + spanOf(s, name), loop));
  }
  return result;
}

/** The same rows driven directly: one runStep after another, no scheduling, no postprocessing. */
export async function runBare(agent: Agent, batch: number, tokens: number): Promise<number[]> {
  const rows = Array.from({ length: batch }, () => agent.pool.acquire()!);
  const last = rows.map((_, i) => agent.tokenize(`request number ${i} of the benchmark`));
  const stepMs: number[] = [];
  let previous = NaN;
  for (let t = 0; t < tokens; t++) {
    const start = now();
    if (t > 1) stepMs.push(start - previous);
    previous = start;
    const inputs: RowInput[] = rows.map((row, i) => ({ row, tokens: last[i], sample: { params: GREEDY, seed: t } }));
    const { outputs } = await agent.runStep(inputs);
    outputs.forEach((o, i) => (last[i] = [o.kind === "token" ? o.token : 300]));
  }
  for (const row of rows) agent.pool.release(row);
  await agent.pool.whenSettled();
  return stepMs;
}
