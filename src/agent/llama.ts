/**
 * The llama.cpp runtime, loaded once per process: the prebuilt CPU binary of
 * node-llama-cpp, never built or downloaded (it throws instead).
 */
import { getLlama, LlamaLogLevel, type Llama } from "node-llama-cpp";

let loading: Promise<Llama> | undefined;

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

export function loadLlama(): Promise<Llama> {
  loading ??= getLlama({
    gpu: false,
    build: "never",
    skipDownload: true,
    usePrebuiltBinaries: true,
    progressLogs: false,
    logLevel: LlamaLogLevel.warn,
    logger: (level, message) => logger(levelName(level), message.trimEnd()),
  });
  loading.catch(() => (loading = undefined)); // let a later call try again
  return loading;
}
