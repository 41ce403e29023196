/** The built `llm-serving` command, run to its end or kept running, for the tests. */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";

/** The command as users run it: its CommonJS entry, which sizes the libuv pool before the CLI loads (src/cli/launch.cts). */
export const cli = join(import.meta.dirname, "..", "..", "src", "cli", "launch.cjs");

export interface CliOutcome {
  code: number | null;
  /** Set when the command was killed (it hung past the timeout). */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the CLI to its end, whatever its exit code; one that hangs is killed after `timeoutMs` (see `signal`), so a hang fails the test instead of stalling the run. */
export function runCli(args: readonly string[], { env = process.env, timeoutMs = 30_000 }: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliOutcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env, timeout: timeoutMs, killSignal: "SIGKILL" }, (err, stdout, stderr) => {
      const failure = err as (Error & { code?: number; signal?: NodeJS.Signals }) | null;
      resolve({ code: failure ? (failure.code ?? null) : 0, signal: failure?.signal ?? null, stdout, stderr, ms: performance.now() - started });
    });
  });
}

export interface CliProcess {
  child: ChildProcess;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** Resolves once stderr matches `pattern`; throws if the process exits first. */
  until(pattern: RegExp): Promise<void>;
  stop(): void;
}

/** Starts the CLI in a child process (stdout ignored, stderr collected). */
export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv = process.env): CliProcess {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "ignore", "pipe"], env });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return {
    child,
    stderr: () => stderr,
    exited,
    async until(pattern) {
      while (!pattern.test(stderr)) {
        const next = await Promise.race([once(child.stderr!, "data"), exited.then(() => "exit")]);
        if (next === "exit" && !pattern.test(stderr)) throw new Error(`the process exited before its stderr matched ${pattern}:\n${stderr}`);
      }
    },
    stop: () => child.kill("SIGKILL"),
  };
}
