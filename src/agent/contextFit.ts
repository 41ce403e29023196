/**
 * Whether the context asked for fits: its KV cache must fit the machine's
 * memory, checked before llama.cpp allocates it (a `--context-size` with a
 * digit too many made the server swell by 300 MB a second until the machine
 * ran out, answering 503 meanwhile); and what to tell the user when the
 * context differs from what they asked, or runs past what the model was
 * trained on (llama.cpp only warns of that, in its own log).
 */
import { totalmem } from "node:os";
import type { LlamaModel } from "node-llama-cpp";

/** Share of the machine's memory the weights and the context may take together: the rest is the OS's and the server's own. */
const MEMORY_SHARE = 0.9;

/** The memory this process may use: the machine's, or less where a cgroup (a container's memory limit) says so. */
export function usableMemory(): number {
  const limit = process.constrainedMemory?.() ?? 0;
  return limit > 0 ? Math.min(totalmem(), limit) : totalmem();
}

export class ContextTooLargeError extends Error {
  override name = "ContextTooLargeError";
}

export interface ContextShape {
  rows: number;
  contextSize: number;
  batchTokens: number;
  flashAttention: boolean;
}

/**
 * Throws when the context's memory, as node-llama-cpp estimates it from the
 * GGUF, does not fit beside the weights in the memory this process may use.
 * On the CPU the whole estimate is RAM and the weights are in RAM too; with
 * a GPU only the context's RAM part is checked here (node-llama-cpp fits the
 * layers to the video memory itself).
 */
export function assertContextFits(model: LlamaModel, shape: ContextShape, onGpu: boolean, memoryBytes = usableMemory()): void {
  const need = model.fileInsights.estimateContextResourceRequirements({ contextSize: shape.contextSize, modelGpuLayers: model.gpuLayers, sequences: shape.rows, batchSize: shape.batchTokens, flashAttention: shape.flashAttention });
  const ram = need.cpuRam + (onGpu ? 0 : need.gpuVram);
  const weights = onGpu ? 0 : model.size;
  if (ram + weights <= memoryBytes * MEMORY_SHARE) return;
  throw new ContextTooLargeError(
    `${shape.rows} ${shape.rows === 1 ? "row" : "rows"} × ${shape.contextSize} tokens of context need about ${gib(ram)} GiB of memory` +
      (gib(weights) !== "0.00" ? ` besides the model's ${gib(weights)} GiB` : "") +
      `, more than the ${gib(memoryBytes)} GiB this process may use (the machine's, or its container's limit); use a smaller --context-size or fewer --rows (in a config file: model_config.context_size or max_generate_length, and decode_batch_size)` +
      (shape.contextSize > model.trainContextSize ? ` (the model was trained on ${model.trainContextSize} tokens)` : ""),
  );
}

const gib = (bytes: number): string => (bytes / 2 ** 30).toFixed(bytes < 2 ** 30 ? 2 : 1);

/** What to say when the context per request is not what was asked (llama.cpp rounds it), or runs past the model's training context; undefined when neither. */
export function contextNote(asked: number, actual: number, trainContextSize: number): string | undefined {
  const notes: string[] = [];
  if (actual !== asked) notes.push(`the context size asked for (${asked} tokens) is ${actual} tokens per request: ${actual > asked ? "llama.cpp sizes the KV cache in multiples of 256 tokens" : "llama.cpp could not give more"}`);
  if (trainContextSize > 0 && actual > trainContextSize) notes.push(`the model was trained on ${trainContextSize} tokens of context: past that its output degrades`);
  return notes.length > 0 ? notes.join("; ") : undefined;
}
