/**
 * The real `llm-serving serve` in a child process, on the tiny model: for
 * tests that need the server's event loop to itself (stall measurements) or
 * its process behaviour (signals, exit codes).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { tinyModelPath } from "./tinyModel.js";

export const cli = join(import.meta.dirname, "..", "..", "src", "cli", "main.js");

export interface CliServer {
  url: string;
  child: ChildProcess;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop(): void;
}

/** Starts the server with `args` (after --model and --port) and waits until it serves. */
export async function startCliServer(args: string[] = [], env: NodeJS.ProcessEnv = process.env): Promise<CliServer> {
  const child = spawn(process.execPath, [cli, "serve", "--model", await tinyModelPath(), "--model-name", "llama2", "--port", "0", "--no-access-log", ...args], { stdio: ["ignore", "ignore", "pipe"], env });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = once(child, "exit").then(([code]) => code as number | null);
  while (!/serving "llama2"/.test(stderr)) {
    const next = await Promise.race([once(child.stderr!, "data"), exited.then(() => "exit")]);
    if (next === "exit") throw new Error(`the server exited before serving:\n${stderr}`);
  }
  return { url: stderr.match(/listening on (http:\/\/\S+)/)![1], child, stderr: () => stderr, exited, stop: () => child.kill("SIGKILL") };
}
