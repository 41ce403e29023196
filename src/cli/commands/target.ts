/** The server a bench or a sweep measures: its options, whether it is up, the model name it serves, and whether the run reached it. */
import type { Command } from "commander";
import type { ClientRecord } from "../../bench/LoadClient.js";
import { BENCH_PROTOCOLS } from "../../bench/protocols.js";
import { checkReachable, unreachable } from "../../bench/serverRecords.js";
import { urlOption } from "../options.js";

export interface TargetFlags {
  url: string;
  protocol: string;
  model?: string;
}

/** How long the model's name may take: a server that accepts connections but never answers should not hang the command. */
const MODELS_TIMEOUT_MS = 10_000;

/** --url, --protocol and --model, the same for every command that measures a server. */
export function targetOptions(command: Command): Command {
  return command
    .option("--url <url>", "the server", urlOption("--url"), "http://127.0.0.1:8080")
    .option("--protocol <name>", `wire protocol: ${BENCH_PROTOCOLS.join(", ")}`, "llm-serving")
    .option("--model <name>", "model name (default: the server's, from /v1/models)");
}

/** The model to ask for, once the server is known to be up: a down server is said first, before anything is sent. */
export async function targetModel(flags: TargetFlags): Promise<string> {
  await checkReachable(flags.url);
  return flags.model ?? (await servedModel(flags.url));
}

/** The model name a server serves, from its /v1/models (ours and OpenAI-compatible servers answer it). */
async function servedModel(url: string): Promise<string> {
  const where = new URL("/v1/models", url).href;
  const res = await fetch(where, { signal: AbortSignal.timeout(MODELS_TIMEOUT_MS) }).catch((err: unknown) => {
    if ((err as Error).name === "TimeoutError") throw new Error(`${where} did not answer in ${MODELS_TIMEOUT_MS / 1000} s: give --model`);
    throw unreachable(url, err) ?? err;
  });
  const id = await res
    .json()
    .then((body) => (body as { data?: Array<{ id?: unknown }> } | null)?.data?.[0]?.id)
    // Not JSON: not an OpenAI-compatible server.
    .catch(() => undefined);
  if (typeof id === "string") return id;
  throw new Error(`could not learn the model's name from ${where} (HTTP ${res.status}${res.ok ? ", no model in the answer" : ""}): give --model`);
}

/** A run where every request failed measured nothing: the command must say so and fail, after its report. */
export function assertSomeSucceeded(records: readonly ClientRecord[]): void {
  const failed = records.filter((r) => r.error !== undefined);
  if (records.length > 0 && failed.length === records.length) throw new Error(`every request failed (${failed.length} of ${records.length}); the first: ${failed[0].error?.replace(/\s+/g, " ")}`);
}
