/** `llm-serving generate`: loads a model and streams one generation to stdout. */
import type { Command } from "commander";
import { Agent } from "../../agent/Agent.js";
import { contextNote } from "../../agent/contextFit.js";
import { describeSampling } from "../../agent/libuvPool.js";
import { describePlacement, type GpuChoice } from "../../agent/gpu.js";
import { Master } from "../../master/Master.js";
import { collectOption, gpuOption, integerOption, numberOption } from "../options.js";
import { resolveModelPath } from "../../model/modelSource.js";
import { describeModelForUser } from "../modelSource.js";

interface GenerateOptions {
  prompt: string;
  model?: string;
  maxNewTokens: number;
  seed?: number;
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repetitionPenalty: number;
  stop?: string[];
  ignoreEos?: boolean;
  threads: number;
  gpu: GpuChoice;
  contextSize: number;
}

export function registerGenerate(program: Command): void {
  program
    .command("generate")
    .description("generate text from a prompt, streamed as it comes")
    .requiredOption("--prompt <text>", "the prompt")
    .option("--model <path>", "a GGUF model (default: the built-in synthetic model)")
    .option("--max-new-tokens <n>", "most tokens to generate", integerOption("--max-new-tokens", 1), 64)
    .option("--seed <n>", "sampling seed", integerOption("--seed", 0, 0xffffffff))
    .option("--temperature <t>", "0 = greedy", numberOption("--temperature"), 0)
    .option("--top-k <k>", "0 = off", integerOption("--top-k", 0), 0)
    .option("--top-p <p>", "1 = off", numberOption("--top-p"), 1)
    .option("--min-p <p>", "0 = off", numberOption("--min-p"), 0)
    .option("--repetition-penalty <r>", "1 = off", numberOption("--repetition-penalty"), 1)
    .option("--stop <text>", "stop string (repeatable)", collectOption)
    .option("--ignore-eos", "keep generating past the end token")
    .option("--threads <n>", "llama.cpp threads", integerOption("--threads", 1, 256), 1)
    .option("--gpu <auto|cuda|vulkan|off>", "llama.cpp build (as for serve)", gpuOption, "auto")
    .option("--context-size <n>", "tokens per request (prompt + output)", integerOption("--context-size", 16), 2048)
    .action(generate);
}

async function generate(o: GenerateOptions): Promise<void> {
  const log = (line: string): boolean => process.stderr.write(`${line}\n`);
  // Said before the model loads (seconds for a large one), as the server's intake would say it after.
  if (o.prompt === "") throw new Error("--prompt is empty: give the text to continue");
  const modelPath = await resolveModelPath(o.model, log);
  const agent = await Agent.load({ modelPath, rows: 1, contextSize: o.contextSize, threads: o.threads, gpu: o.gpu });
  log(describeModelForUser(agent.info));
  log(`engine: ${describePlacement(agent.placement)}`);
  log(`sampling: ${describeSampling(agent.sampling)}`);
  const note = contextNote(o.contextSize, agent.rowCapacity, agent.info.trainContextSize);
  if (note) log(`note: ${note}`);
  const master = new Master(agent);
  try {
    const stream = await master.submit({
      prompt: o.prompt,
      maxNewTokens: o.maxNewTokens,
      seed: o.seed,
      stop: o.stop,
      ignoreEos: o.ignoreEos,
      sampling: { temperature: o.temperature, topK: o.topK, topP: o.topP, minP: o.minP, repetitionPenalty: o.repetitionPenalty },
    });
    const cancel = (): void => stream.cancel();
    process.once("SIGINT", cancel);
    const started = performance.now();
    for await (const event of stream) {
      if (event.type === "token") process.stdout.write(event.text);
      else {
        process.stdout.write("\n");
        const seconds = (performance.now() - started) / 1000;
        // A greedy generation uses no seed: naming one would suggest another seed gives other text.
        const seed = o.temperature > 0 ? `; seed ${event.seed}` : "";
        log(`finish: ${event.finishReason}${event.error ? ` (${event.error.message})` : ""}; ${event.generatedTokens} ${event.generatedTokens === 1 ? "token" : "tokens"} in ${seconds.toFixed(2)} s (${(event.generatedTokens / seconds).toFixed(1)} tokens/s)${seed}`);
        if (event.finishReason === "error") process.exitCode = 1;
      }
    }
    process.off("SIGINT", cancel);
  } finally {
    await master.close();
    await agent.dispose();
  }
}
