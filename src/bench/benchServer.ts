/** Starts `llm-serving serve` in a child process for a benchmark, and stops it. */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../cli/main.js", import.meta.url));

export interface BenchServer {
  url: string;
  /** CPU time (user + system) the server process has used so far, ms (Linux /proc; 10 ms ticks). */
  cpuMs(): number;
  stop(): Promise<void>;
}

/** utime + stime of a process, from /proc/<pid>/stat, in ms. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticksPerSecond = 100; // Linux USER_HZ
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
}

/** `args` are extra serve flags; resolves once the model is loaded and warmed up. */
export async function startBenchServer(modelPath: string, name: string, args: string[] = []): Promise<BenchServer> {
  const child: ChildProcess = spawn(process.execPath, [cli, "serve", "--model", modelPath, "--model-name", name, "--port", "0", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  while (!stderr.includes(`serving "${name}"`)) {
    if (child.exitCode !== null) throw new Error(`the server exited: ${stderr}`);
    await once(child.stderr!, "data");
  }
  return {
    url: stderr.match(/listening on (http:\/\/\S+)/)![1],
    cpuMs: () => processCpuMs(child.pid!),
    async stop() {
      child.kill("SIGTERM");
      if (child.exitCode === null) await once(child, "exit");
    },
  };
}
