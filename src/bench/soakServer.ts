/**
 * The server under soak: `llm-serving serve` in a child process on the given
 * model, writing every finished timeline to a file, its stderr kept in a log
 * file for the report. Stopping it is part of the test: SIGTERM, then the
 * exit code and how long the shutdown took.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { fileURLToPath } from "node:url";

/** Relative to the compiled file, so that it works from dist/ and from any other build folder. */
const CLI = fileURLToPath(new URL("../cli/main.js", import.meta.url));

const START_TIMEOUT_MS = 120_000;
/** The server's own shutdown timeout is 30 s; beyond this, it is stuck. */
const STOP_TIMEOUT_MS = 60_000;

export interface SoakServerOptions {
  modelPath: string;
  modelName: string;
  timelineFile: string;
  logFile: string;
}

export interface ServerExit {
  code: number | null;
  signal: string | null;
  /** From SIGTERM to exit. */
  shutdownMs: number;
  /** True if it did not exit in time and was killed. */
  killed: boolean;
}

export interface SoakServer {
  url: string;
  pid: number;
  /** The log's last lines, for error messages. */
  tail(): string;
  stop(): Promise<ServerExit>;
}

function waitForReady(child: ChildProcess, name: string, log: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(`the server was not ready after ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS);
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.stderr!.off("data", check);
      reject(new Error(`${why}:\n${log().slice(-2000)}`));
    };
    const check = (): void => {
      const text = log();
      // "serving" comes once the model is loaded and warmed up; the URL came before it.
      if (!text.includes(`serving "${name}"`)) return;
      const url = /listening on (http:\/\/\S+)/.exec(text)?.[1];
      clearTimeout(timer);
      child.stderr!.off("data", check);
      child.off("exit", exited);
      if (url) resolve(url);
      else reject(new Error(`no "listening on" line in the server's output:\n${text}`));
    };
    const exited = (code: number | null): void => fail(`the server exited (code ${code}) before it was ready`);
    child.stderr!.on("data", check);
    child.once("exit", exited);
  });
}

export async function startSoakServer(o: SoakServerOptions): Promise<SoakServer> {
  const args = [CLI, "serve", "--model", o.modelPath, "--model-name", o.modelName, "--port", "0", "--timeline-file", o.timelineFile];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  const logFile = createWriteStream(o.logFile);
  // Only the start of the log is kept in memory (to find the URL); the whole log goes to the file.
  let head = "";
  let last = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (d: string) => {
    if (head.length < 64 * 1024) head += d;
    last = (last + d).slice(-4000);
    logFile.write(d);
  });
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  let url: string;
  try {
    url = await waitForReady(child, o.modelName, () => head);
  } catch (err) {
    child.kill("SIGKILL");
    logFile.end();
    throw err;
  }
  return {
    url,
    pid: child.pid!,
    tail: () => last,
    async stop(): Promise<ServerExit> {
      const started = performance.now();
      child.kill("SIGTERM");
      let killed = false;
      const timer = setTimeout(() => {
        killed = true;
        child.kill("SIGKILL");
      }, STOP_TIMEOUT_MS);
      const [code, signal] = await exited;
      clearTimeout(timer);
      await new Promise<void>((resolve) => logFile.end(resolve));
      return { code, signal, shutdownMs: performance.now() - started, killed };
    },
  };
}
