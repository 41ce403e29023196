#!/usr/bin/env node
/** The llm-serving command line. */
import { inspect } from "node:util";
import { Command } from "commander";
import { VERSION } from "../version.js";
import { registerGenerate } from "./commands/generate.js";
import { registerAnalyze } from "./commands/analyze.js";
import { registerBench } from "./commands/bench.js";
import { registerMakeModel } from "./commands/makeModel.js";
import { registerSweep } from "./commands/sweep.js";
import { registerServe } from "./commands/serve.js";
import { registerDashboard } from "./commands/dashboard.js";

const program = new Command()
  .name("llm-serving")
  .description("An LLM inference server for Node.js that times every stage of every request")
  .version(VERSION, "-V, --version", "print the version")
  // Global, and recognised after the command's name too: commander looks for the program's options anywhere on the line.
  .option("--debug", "on an error, print its stack too")
  .showHelpAfterError();

registerMakeModel(program);
registerServe(program);
registerGenerate(program);
registerBench(program);
registerSweep(program);
registerAnalyze(program);
registerDashboard(program);

try {
  await program.parseAsync();
} catch (err) {
  process.stderr.write(`error: ${errorLine(err)}\n`);
  if (debugging()) process.stderr.write(`${inspect(err)}\n`);
  process.exitCode = 1;
}

/** An error as one line: a user should not have to read a stack to learn that a file is missing. */
function errorLine(err: unknown): string {
  const message = firstLine(messageOf(err));
  const cause = err instanceof Error && err.cause !== undefined ? firstLine(messageOf(err.cause)) : "";
  // A cause is worth its place only when it says something the message does not (fetch's "fetch failed" hides "connection refused" in it).
  return cause && !message.includes(cause) ? `${message}: ${cause}` : message;
}

function messageOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.message) return err.message;
  // Node's AggregateError (a host with several addresses, all refused) has an empty message: its first error or its code says it.
  const errors = (err as { errors?: unknown }).errors;
  if (Array.isArray(errors) && errors[0] instanceof Error) return errors[0].message;
  return (err as NodeJS.ErrnoException).code ?? err.name;
}

/** Multi-line messages (a YAML code frame) keep their first line; --debug shows the rest. */
function firstLine(text: string): string {
  return text.split("\n").find((line) => line.trim() !== "")?.trim() ?? "";
}

function debugging(): boolean {
  return program.opts<{ debug?: boolean }>().debug === true;
}
