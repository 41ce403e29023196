/**
 * --pin (Linux, taskset): on a small machine a benchmark's own processes (the
 * load client, a relay, a browser) preempt the server it measures. Pinned,
 * the measured server has core 0 alone and everything else runs on the
 * other cores, so that what a side costs is its own work, not its taking
 * the server's core.
 */
import { execFileSync } from "node:child_process";
import { availableParallelism } from "node:os";

export interface Pinning {
  /** A command prefix that starts a process on core 0 alone. */
  server: string[];
  /** The other cores, as taskset writes them ("1", "1-3"). */
  rest: string;
}

/**
 * Moves this process (every thread of it) to the other cores, and so every
 * process it starts from then on (affinity is inherited across fork and
 * exec): the load client, a relay, a browser. Throws where pinning cannot be done.
 */
export function pinning(): Pinning {
  const cores = availableParallelism();
  if (process.platform !== "linux" || cores < 2) throw new Error("--pin needs Linux (taskset) and at least 2 cores");
  const rest = cores === 2 ? "1" : `1-${cores - 1}`;
  pinProcess(process.pid, rest);
  return { server: ["taskset", "-c", "0"], rest };
}

/** Moves a running process, every thread it has, to `cores`; the threads it starts later inherit them. */
export function pinProcess(pid: number, cores: string): void {
  execFileSync("taskset", ["-a", "-pc", cores, String(pid)], { stdio: "ignore" });
}
