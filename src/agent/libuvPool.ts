/**
 * Whether this process's libuv pool has a single thread. Native jobs (a
 * decode, a sampling) then run one after the other in the order they were
 * queued, so a sampling queued right behind a decode reads the logits that
 * decode wrote, and the agent can skip a round trip through JS per step
 * (see Agent.step).
 *
 * Node cannot tell a process its pool's size, and the size is fixed when the
 * pool first starts, from UV_THREADPOOL_SIZE at that moment (the ESM loader
 * starts it before an entry module runs, so `src/cli/launch.cts` sets it).
 * So two signals must agree: the variable says 1, and a probe sees two jobs
 * finish in queue order when the second would finish long before the first
 * on a second thread. Either alone could mislead — the variable set too late,
 * or a busy machine delaying a second thread — and a wrong "yes" would give
 * wrong tokens silently, so a "no" from either wins.
 */
import { pbkdf2 } from "node:crypto";

/** Long enough that a second thread, if there is one, finishes the short job first even on a busy machine. */
const LONG_JOB_ITERATIONS = 60_000;

let probed: Promise<boolean> | undefined;

/** True when the libuv pool has one thread, by both signals. Probed once per process (~20–40 ms). */
export function onePoolThread(): Promise<boolean> {
  if (process.env.UV_THREADPOOL_SIZE?.trim() !== "1") return Promise.resolve(false);
  probed ??= jobsRunInOrder();
  return probed;
}

function jobsRunInOrder(): Promise<boolean> {
  return new Promise((resolve) => {
    let longDone = false;
    pbkdf2("probe", "salt", LONG_JOB_ITERATIONS, 32, "sha256", () => void (longDone = true));
    pbkdf2("probe", "salt", 1, 32, "sha256", () => resolve(longDone));
  });
}

/**
 * How a step's sampling follows its decode: "chained" queued behind it on
 * the one pool thread, or "awaited" once the decode's result is back in JS
 * (a second hand-off to the pool per step: `npm run bench:sampling`).
 */
export type SamplingHandOff = "chained" | "awaited";

/** For the start line. */
export function describeSampling(s: SamplingHandOff): string {
  return s === "chained"
    ? "queued behind each decode (one libuv pool thread)"
    : "after each decode returns to JS (the libuv pool was not seen to have one thread; UV_THREADPOOL_SIZE=1 from the start chains it)";
}
