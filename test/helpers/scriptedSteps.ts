/**
 * A fixed run of engine steps that exercises sampling the ways the server
 * does: rows of different lengths in one step (llama.cpp then reorders its
 * outputs), seeded temperature sampling with logprobs and top alternatives,
 * a penalty window, a prompt chunk that samples nothing, rows that leave.
 * Run by two agents, it must give the same tokens: the run is their witness.
 */
import type { Agent, RowInput, RowOutput } from "../../src/agent/Agent.js";
import type { SamplingParams } from "../../src/agent/Sampling.js";
import type { Row } from "../../src/agent/SequencePool.js";

const WARM: SamplingParams = { temperature: 0.9, topK: 40, topP: 0.95, minP: 0, repetitionPenalty: 1.1, frequencyPenalty: 0, presencePenalty: 0, penaltyLastN: 16 };
const prompt = (first: number, length: number): number[] => Array.from({ length }, (_, i) => first + 7 * i);
const PROMPTS = [prompt(300, 3), prompt(500, 11), prompt(700, 1), prompt(900, 6)];

export type Emitted = Array<{ row: number; token: number; logprob: number; top?: number[] } | { row: number; kind: string }>;

/** Steps every row to `steps` decodes (row k leaves after 10 + 5k of them); what each step returned, row by row. */
export async function runScriptedSteps(agent: Agent, steps = 30): Promise<Emitted[]> {
  const rows: Row[] = [];
  for (let k = 0; k < PROMPTS.length; k++) rows.push(agent.pool.acquire()!);
  const history = PROMPTS.map((p) => [...p]);
  const emitted: Emitted[] = [];
  // A prompt chunk first, sampling nothing, so that the next step's rows start at different positions.
  await agent.runStep([{ row: rows[3], tokens: history[3].slice(0, 2) }]);
  let pending: number[][] = [PROMPTS[0], PROMPTS[1], PROMPTS[2], history[3].slice(2)];
  for (let s = 0; s < steps; s++) {
    const live = rows.map((_, k) => k).filter((k) => s < 10 + 5 * k);
    const inputs: RowInput[] = live.map((k) => ({
      row: rows[k],
      tokens: pending[k],
      sample: { params: WARM, seed: 1000 * k + s, penaltyTokens: history[k].slice(-16), logprob: true, topLogprobs: k === 1 ? 3 : 0 },
    }));
    const { outputs } = await agent.runStep(inputs);
    emitted.push(outputs.map((o, i) => summary(live[i], o)));
    pending = pending.map(() => []);
    outputs.forEach((o, i) => {
      if (o.kind !== "token") return;
      history[live[i]].push(o.token);
      pending[live[i]] = [o.token];
    });
  }
  for (const row of rows) agent.pool.release(row);
  await agent.pool.whenSettled();
  return emitted;
}

function summary(row: number, o: RowOutput): Emitted[number] {
  if (o.kind !== "token") return { row, kind: o.kind };
  return { row, token: o.token, logprob: o.logprob, ...(o.top ? { top: o.top.map((t) => t.id) } : {}) };
}
