/**
 * The real `llm-serving serve` in a child process, on the tiny model: for
 * tests that need the server's event loop to itself (stall measurements) or
 * its process behaviour (signals, exit codes). Started and waited for as the
 * benchmarks start theirs (src/bench/benchServer.ts).
 */
import { once } from "node:events";
import { startServe } from "../../src/bench/benchServer.js";
import type { CliProcess } from "./cli.js";
import { tinyModelPath } from "./tinyModel.js";

export interface CliServer extends Omit<CliProcess, "until"> {
  url: string;
}

/** Starts the server with `args` (after --model and --port) and waits until it serves. */
export async function startCliServer(args: string[] = []): Promise<CliServer> {
  let stderr = "";
  const server = await startServe(await tinyModelPath(), "llama2", ["--no-access-log", ...args], (text) => (stderr += text));
  const child = server.child;
  const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve(child.exitCode) : once(child, "exit").then(([code]) => code as number | null);
  return { url: server.url, child, stderr: () => stderr, exited, stop: () => child.kill("SIGKILL") };
}
