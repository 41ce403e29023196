/**
 * The engine benches measure the agent as the server runs it: on one libuv
 * pool thread, the sampling chained behind each decode (src/cli/launch.cts).
 * The pool's size is fixed when it starts, before a bench's module runs, so a
 * process without the size it needs runs the same script again in a child
 * that has it.
 */
import { spawnSync } from "node:child_process";

/**
 * "one": always one pool thread (bench:sampling compares both hand-offs on it).
 * "as served": one pool thread unless UV_THREADPOOL_SIZE is set, as the
 * launcher does; a set size is kept (UV_THREADPOOL_SIZE=4 measures awaited sampling).
 */
export type PoolRule = "one" | "as served";

export async function runWithPool(rule: PoolRule, main: () => Promise<number>): Promise<void> {
  const size = process.env.UV_THREADPOOL_SIZE;
  if (size === "1" || (rule === "as served" && size !== undefined)) {
    process.exitCode = await main();
    return;
  }
  const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: "inherit", env: { ...process.env, UV_THREADPOOL_SIZE: "1" } });
  process.exitCode = child.status ?? 1;
}
