#!/usr/bin/env node
/**
 * The command's entry point (`llm-serving`, `npm start`). It is CommonJS for
 * one reason: it must run before anything starts the libuv pool, whose size
 * is read once, from UV_THREADPOOL_SIZE, when it starts — and the ESM loader
 * starts it (reading the entry module) before an ES module's first line.
 *
 * With one pool thread the agent queues each step's sampling behind its
 * decode instead of returning to JS in between (src/agent/libuvPool.ts,
 * docs/engine-speed.md). A user's own UV_THREADPOOL_SIZE is kept, and so is
 * the pool of a process whose preloaded modules may already have started it.
 */
const PRELOAD = /(^|\s)(-r|--require|--import|--loader|--experimental-loader)(\s|=|$)/;
/** The commands that run a model in this process; the others (bench, sweep, analyze, dashboard, make-model) keep Node's pool for their file and DNS work. */
const RUN_A_MODEL = new Set(["serve", "generate"]);

function mayStillSizePool(): boolean {
  if (process.env.UV_THREADPOOL_SIZE !== undefined) return false;
  return !PRELOAD.test(process.execArgv.join(" ")) && !PRELOAD.test(process.env.NODE_OPTIONS ?? "");
}

const command = process.argv.slice(2).find((arg) => !arg.startsWith("-"));
if (command !== undefined && RUN_A_MODEL.has(command) && mayStillSizePool()) process.env.UV_THREADPOOL_SIZE = "1";

import("./main.js").catch((err: unknown) => {
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
