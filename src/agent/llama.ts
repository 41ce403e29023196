/**
 * The llama.cpp runtime, loaded once per process and GPU choice: one of
 * node-llama-cpp's prebuilt binaries, never built or downloaded (it throws
 * instead).
 */
import { getLlama, LlamaLogLevel, NoBinaryFoundError, type Llama } from "node-llama-cpp";
import { gpuUnavailableReason, GpuUnavailableError, type GpuChoice } from "./gpu.js";

const loading = new Map<GpuChoice, Promise<Llama>>();

export type EngineLogger = (level: "error" | "warn" | "info" | "debug", message: string) => void;

let logger: EngineLogger = (level, message) => {
  if (level === "error" || level === "warn") process.stderr.write(`[llama.cpp ${level}] ${message}\n`);
};

/** Where llama.cpp's own warnings and errors go (default: stderr). */
export function setEngineLogger(next: EngineLogger): void {
  logger = next;
}

function levelName(level: LlamaLogLevel): "error" | "warn" | "info" | "debug" {
  switch (level) {
    case LlamaLogLevel.fatal:
    case LlamaLogLevel.error:
      return "error";
    case LlamaLogLevel.warn:
      return "warn";
    case LlamaLogLevel.info:
      return "info";
    default:
      return "debug";
  }
}

/** "off" is the CPU build; "auto" the best build that loads, else the CPU; "cuda"/"vulkan" that build or a GpuUnavailableError. */
export function loadLlama(gpu: GpuChoice = "off"): Promise<Llama> {
  const known = loading.get(gpu);
  if (known) return known;
  const load = getLlama({
    gpu: gpu === "off" ? false : gpu,
    build: "never",
    skipDownload: true,
    usePrebuiltBinaries: true,
    progressLogs: false,
    logLevel: LlamaLogLevel.warn,
    logger: (level, message) => logger(levelName(level), message.trimEnd()),
  }).catch((err: unknown) => {
    loading.delete(gpu); // let a later call try again
    if (err instanceof NoBinaryFoundError && (gpu === "cuda" || gpu === "vulkan")) throw new GpuUnavailableError(gpuUnavailableReason(gpu), err);
    throw err;
  });
  loading.set(gpu, load);
  return load;
}
