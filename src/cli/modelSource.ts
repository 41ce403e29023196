/** How the CLI describes the model it serves. */
import type { ModelInfo } from "../agent/Agent.js";

/** Says plainly when the text will be meaningless. */
export function describeModelForUser(info: ModelInfo): string {
  const note = info.synthetic
    ? ` — a SYNTHETIC model (${info.preset ?? "custom"} preset, random weights): its text is meaningless; use --model to serve a real GGUF`
    : "";
  return `model: ${info.name}${note}`;
}
