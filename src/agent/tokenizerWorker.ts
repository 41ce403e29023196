/**
 * The tokenizer thread: the same GGUF vocabulary loaded on its own (no
 * weights), so that long prompts are tokenized without holding the event
 * loop that writes every other request's tokens. llama.cpp's tokenizer is
 * synchronous; this thread is where its long runs can block.
 */
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

export interface TokenizeJob {
  id: number;
  text: string;
  special: boolean;
}

export type TokenizeResult = { id: number; tokens: Uint32Array } | { id: number; error: string };

/** Sent instead of terminate(): the thread frees its model and ends once it is between jobs (or once loaded). */
export interface CloseRequest {
  close: true;
}

/**
 * On Linux a thread has its own nice value: this one yields the CPU to the
 * event loop and to llama.cpp's threads, so that a long prompt costs the
 * requests already running nothing, even on two cores. (Elsewhere the call
 * would renice the whole process: not done.)
 */
function yieldToTheEngine(): void {
  if (process.platform !== "linux") return;
  try {
    setPriority(19);
  } catch {
    // not allowed here: run at normal priority
  }
}

async function main(): Promise<void> {
  const port = parentPort!;
  const llama = await getLlama({ gpu: false, build: "never", skipDownload: true, usePrebuiltBinaries: true, progressLogs: false, logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: (workerData as { modelPath: string }).modelPath, vocabOnly: true });
  yieldToTheEngine();
  port.postMessage({ ready: true });
  port.on("message", (job: TokenizeJob | CloseRequest) => {
    if ("close" in job) {
      void close(model, llama);
      return;
    }
    let result: TokenizeResult;
    try {
      result = { id: job.id, tokens: Uint32Array.from(model.tokenize(job.text, job.special)) };
    } catch (err) {
      result = { id: job.id, error: (err as Error).message };
    }
    port.postMessage(result, "tokens" in result ? [result.tokens.buffer as ArrayBuffer] : []);
  });
}

/** Native resources freed while the thread can still run their callbacks: tearing the thread down with them alive aborted the process. */
async function close(model: { dispose(): Promise<void> }, llama: { dispose(): Promise<void> }): Promise<void> {
  parentPort!.removeAllListeners("message");
  await model.dispose();
  await llama.dispose();
  process.exit(0);
}

main().catch((err: Error) => parentPort!.postMessage({ failed: err.message }));
