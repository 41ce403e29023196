/**
 * The options of `npm run bench:soak`. A bad value is refused with one line
 * naming the option, before anything starts: a soak run takes minutes, and a
 * typo should not cost them.
 */
import { parseArgs } from "node:util";

export interface SoakOptions {
  /** Measured requests (the warm-up comes on top). */
  requests: number;
  concurrency: number;
  seed: number;
  /**
   * Requests sent before the measured run: a fresh server ran its first few
   * hundred requests up to twice as slow (JIT, first touches), which would
   * weigh on the first window alone.
   */
  warmup: number;
  /** Folder for the report files; undefined = a new folder under the OS temp dir. */
  out: string | undefined;
  /** The server's timeline file is hundreds of MB after a full run: deleted after the join unless asked for. */
  keepTimelines: boolean;
  json: boolean;
  help: boolean;
}

/** The first and last tenth are compared: fewer requests than this leave windows too small to mean anything. */
export const MIN_REQUESTS = 100;
/** Above the server's default queue limit plus its rows, requests would be refused with 429. */
export const MAX_CONCURRENCY = 256;

export const USAGE = `usage: npm run bench:soak -- [--requests N (default 20000, ≥ ${MIN_REQUESTS})] [--concurrency C (default 16, 1–${MAX_CONCURRENCY})]
                          [--seed S (default 1)] [--warmup N (default 1000)] [--out DIR] [--keep-timelines] [--json]`;

export class SoakArgsError extends Error {
  override name = "SoakArgsError";
}

function integerIn(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new SoakArgsError(`--${name} must be an integer in [${min}, ${max}], got "${raw}"`);
  }
  return n;
}

export function parseSoakArgs(argv: readonly string[]): SoakOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        requests: { type: "string", default: "20000" },
        concurrency: { type: "string", default: "16" },
        seed: { type: "string", default: "1" },
        warmup: { type: "string", default: "1000" },
        out: { type: "string" },
        "keep-timelines": { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (err) {
    // parseArgs' messages span lines and mention its own API; one line is enough.
    throw new SoakArgsError((err as Error).message.split("\n")[0]);
  }
  const out = values.out as string | undefined;
  if (out !== undefined && out.trim() === "") throw new SoakArgsError("--out must name a folder, got an empty string");
  return {
    requests: integerIn("requests", values.requests as string, MIN_REQUESTS, 10_000_000),
    concurrency: integerIn("concurrency", values.concurrency as string, 1, MAX_CONCURRENCY),
    seed: integerIn("seed", values.seed as string, 0, 0xffffffff),
    warmup: integerIn("warmup", values.warmup as string, 0, 1_000_000),
    out,
    keepTimelines: values["keep-timelines"] === true,
    json: values.json === true,
    help: values.help === true,
  };
}
