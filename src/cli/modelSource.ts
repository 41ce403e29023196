/** Which model a command serves: the one the user names, or the built-in default (made on first use). */
import { ensureDefaultModel } from "../model/defaultModel.js";
import { assertGgufFile } from "../model/ggufFile.js";
import type { ModelInfo } from "../agent/Agent.js";

export async function resolveModelPath(path: string | undefined, log: (line: string) => void): Promise<string> {
  if (path) {
    await assertGgufFile(path);
    return path;
  }
  return ensureDefaultModel((p) => log(`making the built-in default model (first use): ${p}`));
}

/** Says plainly when the text will be meaningless. */
export function describeModelForUser(info: ModelInfo): string {
  const note = info.synthetic
    ? ` — a SYNTHETIC model (${info.preset ?? "custom"} preset, random weights): its text is meaningless; use --model to serve a real GGUF`
    : "";
  return `model: ${info.name}${note}`;
}
