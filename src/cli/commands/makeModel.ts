/** `llm-serving make-model`: writes a synthetic GGUF model. */
import type { Command } from "commander";
import { DTYPES } from "../../model/gguf/TensorEncoding.js";
import { PRESET_NAMES } from "../../model/presets.js";
import { makeModel, validateMakeModelOptions } from "../../model/SyntheticModel.js";
import { integerOption } from "../options.js";

export function registerMakeModel(program: Command): void {
  program
    .command("make-model")
    .description("write a synthetic LLaMA GGUF model (seeded random weights; same arguments, same bytes)")
    .option("--preset <name>", `model size: ${PRESET_NAMES.join(", ")}`, "tiny")
    .option("--dtype <type>", `weight type: ${DTYPES.join(", ")}`, "Q8_0")
    .option("--seed <n>", "weights seed", integerOption("--seed", 0, 0xffffffff), 0)
    .requiredOption("--out <file>", "where to write the .gguf file")
    .action(async (o: { preset: string; dtype: string; seed: number; out: string }) => {
      const options = validateMakeModelOptions(o);
      const started = performance.now();
      const made = await makeModel(options);
      const mb = (made.bytes / 1e6).toFixed(1);
      const params = (made.parameters / 1e6).toFixed(1);
      process.stderr.write(`wrote ${made.path}: ${options.preset} ${options.dtype}, ${params} M parameters, ${mb} MB in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    });
}
