/** A tiny-model agent shared by a test file, and masters on it that record their steps. */
import assert from "node:assert/strict";
import { after, before } from "node:test";
import type { Agent } from "../../src/agent/Agent.js";
import type { GenerationRequest } from "../../src/master/GenerationRequest.js";
import { collect } from "../../src/master/GenerationStream.js";
import { Master, type MasterOptions } from "../../src/master/Master.js";
import type { Step } from "../../src/master/Step.js";
import { loadTinyAgent } from "./tinyModel.js";

/** Loads the agent before the file's tests and disposes it after; `get()` returns it. */
export function sharedTinyAgent(): { get(): Agent } {
  let agent: Agent | undefined;
  before(async () => {
    agent = await loadTinyAgent({ rows: 4, contextSize: 256 });
  });
  after(async () => {
    await agent?.dispose();
  });
  return { get: () => agent! };
}

/** A master on `agent`, closed after `fn`; its steps are recorded. */
export async function withMaster<T>(agent: Agent, options: MasterOptions, fn: (m: Master, steps: Step[]) => Promise<T>): Promise<T> {
  const master = new Master(agent, options);
  const steps: Step[] = [];
  master.onStep((s) => steps.push(s));
  try {
    return await fn(master, steps);
  } finally {
    await master.close();
    await agent.pool.whenSettled();
  }
}

export async function run(m: Master, r: GenerationRequest) {
  return collect(await m.submit(r));
}

export const ids = (c: { tokens: Array<{ id: number }> }) => c.tokens.map((t) => t.id);

export async function nextToken(it: AsyncIterator<unknown>): Promise<void> {
  const { value } = await it.next();
  assert.equal((value as { type: string }).type, "token");
}

/** The first and last recorded step that carried a request (-1 if none did). */
export function stepsWith(steps: readonly Step[]): { firstWith(id: string): number; lastWith(id: string): number } {
  return {
    firstWith: (id) => steps.findIndex((s) => s.requestIds.includes(id)),
    lastWith: (id) => steps.findLastIndex((s) => s.requestIds.includes(id)),
  };
}
