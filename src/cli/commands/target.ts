/** The server a bench or a sweep measures: its options, and the model name it serves. */
import type { Command } from "commander";
import { PROTOCOLS } from "../../bench/protocols.js";

export interface TargetFlags {
  url: string;
  protocol: string;
  model?: string;
}

/** --url, --protocol and --model, the same for every command that measures a server. */
export function targetOptions(command: Command): Command {
  return command
    .option("--url <url>", "the server", "http://127.0.0.1:8080")
    .option("--protocol <name>", `wire protocol: ${PROTOCOLS.join(", ")}`, "llm-serving")
    .option("--model <name>", "model name (default: the server's, from /v1/models)");
}

/** The model name a server serves, from its /v1/models (ours and OpenAI-compatible servers answer it). */
export async function servedModel(url: string): Promise<string> {
  try {
    const res = await fetch(new URL("/v1/models", url));
    const body = (await res.json()) as { data?: Array<{ id?: string }> };
    const id = body.data?.[0]?.id;
    if (typeof id === "string") return id;
  } catch {
    // not an OpenAI-compatible server: fall through
  }
  throw new Error(`could not learn the model's name from ${url}/v1/models: give --model`);
}
