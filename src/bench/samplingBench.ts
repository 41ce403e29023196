/**
 * `npm run bench:sampling`: the agent's two sampling hand-offs side by side
 * (docs/engine-speed.md). Two agents on the same model in one process with one
 * libuv pool thread, one sampling chained behind each decode, the other after
 * each decode returns to JS; rounds alternate which goes first, and each
 * round's ratio compares runs made seconds apart, which is what a shared,
 * noisy machine allows. The other processes' CPU is measured, and the report
 * refused when they loaded the machine.
 */
import { Agent } from "../agent/Agent.js";
import { ensureSyntheticModel } from "../model/defaultModel.js";
import type { PresetName } from "../model/presets.js";
import { benchArgs, countsArg, presetsArg } from "./benchArgs.js";
import { runMaster, type RunResult } from "./engineRuns.js";
import { MachineLoad } from "./machineLoad.js";
import { median } from "../analysis/fit.js";
import { runWithPool } from "./serverPool.js";
import { quantile } from "./stats.js";

interface Config {
  batches: number[];
  tokens: number;
  rounds: number;
  threads: number;
}

interface Round {
  preset: PresetName;
  batch: number;
  chained: RunResult;
  awaited: RunResult;
}

const ms = (values: number[]): string => quantile(values, 0.5).toFixed(3);

async function loadBoth(preset: PresetName, config: Config): Promise<{ chained: Agent; awaited: Agent }> {
  const modelPath = await ensureSyntheticModel({ preset, dtype: "Q8_0", seed: 0 }, (p) => process.stderr.write(`making ${p}…\n`));
  const options = { modelPath, rows: Math.max(...config.batches), contextSize: 1024, threads: config.threads };
  const chained = await Agent.load({ ...options, sampling: "auto" });
  if (chained.sampling !== "chained") throw new Error("the libuv pool was not seen to have one thread: sampling cannot be chained in this process");
  return { chained, awaited: await Agent.load({ ...options, sampling: "awaited" }) };
}

async function benchPreset(preset: PresetName, config: Config, machine: MachineLoad): Promise<Round[]> {
  const agents = await loadBoth(preset, config);
  const rounds: Round[] = [];
  console.log(`\n## ${preset} Q8_0, ${config.threads} thread(s), ${config.tokens} tokens per request\n`);
  console.log("| batch | round | chained tokens/s | awaited tokens/s | ratio | step p50 chained / awaited ms | sample p50 chained / awaited ms |");
  console.log("|---:|---:|---:|---:|---:|---:|---:|");
  for (const batch of config.batches) {
    for (let r = 0; r < config.rounds; r++) {
      const order = r % 2 === 0 ? (["chained", "awaited"] as const) : (["awaited", "chained"] as const);
      const results: Partial<Record<"chained" | "awaited", RunResult>> = {};
      machine.start([]);
      for (const kind of order) results[kind] = await runMaster(agents[kind], batch, config.tokens, false);
      machine.stop();
      const round: Round = { preset, batch, chained: results.chained!, awaited: results.awaited! };
      rounds.push(round);
      const { chained, awaited } = round;
      console.log(
        `| ${batch} | ${r + 1} | ${chained.tokensPerSecond.toFixed(1)} | ${awaited.tokensPerSecond.toFixed(1)} | ${(chained.tokensPerSecond / awaited.tokensPerSecond).toFixed(3)} | ${ms(chained.stepMs)} / ${ms(awaited.stepMs)} | ${ms(chained.spans.sample)} / ${ms(awaited.spans.sample)} |`,
      );
    }
  }
  await agents.chained.dispose();
  await agents.awaited.dispose();
  return rounds;
}

function summary(rounds: readonly Round[]): object[] {
  const keys = [...new Set(rounds.map((r) => `${r.preset} ${r.batch}`))];
  console.log("\n## Medians of the per-round ratios, chained / awaited (tokens/s: higher is better; step: lower is better)\n");
  console.log("| preset | batch | rounds | tokens/s ratio | step p50 ratio | step p50 chained − awaited ms |");
  console.log("|---|---:|---:|---:|---:|---:|");
  return keys.map((key) => {
    const of = rounds.filter((r) => `${r.preset} ${r.batch}` === key);
    const step = (r: RunResult): number => quantile(r.stepMs, 0.5);
    const row = {
      preset: of[0].preset,
      batch: of[0].batch,
      rounds: of.length,
      throughputRatio: median(of.map((r) => r.chained.tokensPerSecond / r.awaited.tokensPerSecond)),
      stepRatio: median(of.map((r) => step(r.chained) / step(r.awaited))),
      stepDeltaMs: median(of.map((r) => step(r.chained) - step(r.awaited))),
    };
    console.log(`| ${row.preset} | ${row.batch} | ${row.rounds} | ${row.throughputRatio.toFixed(3)} | ${row.stepRatio.toFixed(3)} | ${row.stepDeltaMs.toFixed(3)} |`);
    return row;
  });
}

function parse(): { presets: PresetName[]; config: Config; json: boolean } {
  const args = benchArgs({ tokens: 128, rounds: 8, threads: 1 }, ["json"], { presets: "small,medium", batches: "1,8" });
  const presets = presetsArg(args.presets);
  const batches = countsArg(args.batches, "batches");
  return { presets, config: { batches, tokens: args.tokens, rounds: args.rounds, threads: args.threads }, json: args.json };
}

async function main(): Promise<number> {
  const { presets, config, json } = parse();
  console.log(`# bench:sampling — chained vs awaited sampling, one libuv pool thread, node ${process.version}, ${new Date().toISOString()}`);
  const machine = new MachineLoad();
  const rounds: Round[] = [];
  for (const preset of presets) rounds.push(...(await benchPreset(preset, config, machine)));
  const rows = summary(rounds);
  console.log(`\nOther processes took ${machine.othersPct().toFixed(1)} % of a core while it measured.`);
  if (json) console.log(JSON.stringify(rows));
  if (machine.othersPct() > MachineLoad.LIMIT_PCT) {
    console.log(`\nREFUSED: other processes loaded the machine (more than ${MachineLoad.LIMIT_PCT} % of a core on average): these ratios are not a measurement. Run again on a quiet machine.`);
    return 1;
  }
  return 0;
}

await runWithPool("one", main);
