/** The tiny synthetic model the tests share (made once into the cache). */
import { Agent, type AgentOptions } from "../../src/agent/Agent.js";
import { ensureSyntheticModel } from "../../src/model/defaultModel.js";
import type { Dtype } from "../../src/model/gguf/TensorEncoding.js";

export function tinyModelPath(dtype: Dtype = "Q8_0"): Promise<string> {
  return ensureSyntheticModel({ preset: "tiny", dtype, seed: 0 });
}

export async function loadTinyAgent(options: Partial<AgentOptions> = {}): Promise<Agent> {
  return Agent.load({ modelPath: await tinyModelPath(), rows: 4, contextSize: 512, ...options });
}
