#!/usr/bin/env node
/** The llm-serving command line. */
import { Command } from "commander";
import { RequestError } from "../master/errors.js";
import { ModelFileError } from "../model/ggufFile.js";
import { ModelOptionsError } from "../model/SyntheticModel.js";
import { registerGenerate } from "./commands/generate.js";
import { registerAnalyze } from "./commands/analyze.js";
import { registerBench } from "./commands/bench.js";
import { registerMakeModel } from "./commands/makeModel.js";
import { registerSweep } from "./commands/sweep.js";
import { registerServe } from "./commands/serve.js";
import { ConfigError } from "../server/config/configFile.js";

const program = new Command()
  .name("llm-serving")
  .description("An LLM inference server for Node.js that times every stage of every request")
  .showHelpAfterError();

registerMakeModel(program);
registerServe(program);
registerGenerate(program);
registerBench(program);
registerSweep(program);
registerAnalyze(program);

try {
  await program.parseAsync();
} catch (err) {
  const known = err instanceof ModelOptionsError || err instanceof ModelFileError || err instanceof RequestError || err instanceof ConfigError;
  process.stderr.write(`error: ${known ? (err as Error).message : (err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
}
