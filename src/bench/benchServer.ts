/**
 * A benchmark's server in a child process: started, waited for until it
 * says on stderr that it is ready (and where), measured, stopped.
 * `llm-serving serve` (here, and the soak's soakServer.ts) and llama.cpp's
 * llama-server (llamaServerProcess.ts) are started and stopped alike.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { processCpuMs } from "./procStat.js";

/** Relative to the compiled file, so that it works from dist/ and from any other build folder. */
const CLI = fileURLToPath(new URL("../cli/launch.cjs", import.meta.url));

/** `llm-serving serve` loads and warms up its model in this time, or is stuck. */
const SERVE_START_TIMEOUT_MS = 120_000;
/** Our server's own shutdown timeout is 30 s; beyond this, a server is stuck. */
const STOP_TIMEOUT_MS = 60_000;
/** The end of a server's stderr kept for error messages. */
const TAIL_CHARS = 4000;

export interface BenchServer {
  url: string;
  pid: number;
  /** CPU time (user + system) the server process has used so far, ms (Linux /proc; 10 ms ticks). */
  cpuMs(): number;
  stop(): Promise<void>;
}

export interface ServerExit {
  code: number | null;
  signal: string | null;
  /** From SIGTERM to exit. */
  shutdownMs: number;
  /** True if it did not exit in time and was killed. */
  killed: boolean;
}

export interface ServerChild {
  child: ChildProcess;
  url: string;
  /** The last lines of its stderr, for error messages. */
  tail(): string;
  /** SIGTERM, then SIGKILL if it has not exited after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<ServerExit>;
}

export interface SpawnOptions {
  /** What errors call it ("the server", "llama-server"). */
  name: string;
  /** Its URL once its stderr so far says it is ready; undefined until then (throws if it is ready but says no URL). */
  ready(stderr: string): string | undefined;
  startTimeoutMs: number;
  /** Sees all of its stderr, as it comes. */
  onStderr?(text: string): void;
}

function waitForReady(child: ChildProcess, o: SpawnOptions, stderr: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(`${o.name} was not ready after ${o.startTimeoutMs / 1000} s`), o.startTimeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      child.stderr!.off("data", check);
      child.off("exit", exited);
      child.off("error", failedToStart);
    };
    const fail = (why: string): void => {
      done();
      reject(new Error(`${why}:\n${stderr().slice(-2000)}`));
    };
    const check = (): void => {
      let url: string | undefined;
      try {
        url = o.ready(stderr());
      } catch (err) {
        done();
        reject(err as Error);
        return;
      }
      if (url === undefined) return;
      done();
      resolve(url);
    };
    const exited = (code: number | null): void => fail(`${o.name} exited (code ${code}) before it was ready`);
    const failedToStart = (err: Error): void => fail(`${o.name} could not be started: ${err.message}`);
    child.stderr!.on("data", check);
    child.once("exit", exited);
    child.once("error", failedToStart);
  });
}

/** Spawns a server and resolves once it is ready; if it is not, it is killed and the error carries the end of what it wrote. */
export async function spawnServer(command: string, args: readonly string[], o: SpawnOptions): Promise<ServerChild> {
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
  // "close": it has exited and its stderr has ended, so that nothing comes after.
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once("close", (code, signal) => resolve([code, signal])));
  // Its stderr is kept whole only until it is ready (to find the URL); after that, only the tail.
  let startup: string | undefined = "";
  let last = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (d: string) => {
    if (startup !== undefined) startup += d;
    last = (last + d).slice(-TAIL_CHARS);
    o.onStderr?.(d);
  });
  let url: string;
  try {
    url = await waitForReady(child, o, () => startup ?? "");
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  } finally {
    startup = undefined;
  }
  return {
    child,
    url,
    tail: () => last,
    async stop(timeoutMs = STOP_TIMEOUT_MS): Promise<ServerExit> {
      const started = performance.now();
      child.kill("SIGTERM");
      let killed = false;
      const timer = setTimeout(() => {
        killed = true;
        child.kill("SIGKILL");
      }, timeoutMs);
      const [code, signal] = await exited;
      clearTimeout(timer);
      return { code, signal, shutdownMs: performance.now() - started, killed };
    },
  };
}

/** `llm-serving serve` on the model, as `name`, on a free port, with `args` (extra serve flags); ready once the model is loaded and warmed up. */
export function startServe(modelPath: string, name: string, args: readonly string[], onStderr?: (text: string) => void): Promise<ServerChild> {
  return spawnServer(process.execPath, [CLI, "serve", "--model", modelPath, "--model-name", name, "--port", "0", ...args], {
    name: "the server",
    // "serving" comes once the model is loaded and warmed up; the URL came before it.
    ready: (stderr) => {
      if (!stderr.includes(`serving "${name}"`)) return undefined;
      const url = /listening on (http:\/\/\S+)/.exec(stderr)?.[1];
      if (url === undefined) throw new Error(`no "listening on" line in the server's output:\n${stderr}`);
      return url;
    },
    startTimeoutMs: SERVE_START_TIMEOUT_MS,
    onStderr,
  });
}

/** The server as a benchmark measures it: its URL, its CPU time, and a stop. */
export function benchServerOf(s: ServerChild): BenchServer {
  return {
    url: s.url,
    pid: s.child.pid!,
    cpuMs: () => processCpuMs(s.child.pid!),
    async stop() {
      await s.stop();
    },
  };
}

/** `args` are extra serve flags; resolves once the model is loaded and warmed up. */
export async function startBenchServer(modelPath: string, name: string, args: string[] = []): Promise<BenchServer> {
  return benchServerOf(await startServe(modelPath, name, args));
}
