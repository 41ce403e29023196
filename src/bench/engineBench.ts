/**
 * `npm run bench:engine`: how much time the engine core adds around llama.cpp.
 * For each preset and batch size it runs `batch` requests to a fixed length and
 * reports, over the pure decode steps, the native decode, the native sampling,
 * and the JS time around them (every other step span plus the loop turn between
 * steps), with tokens/s. Beside it, the same rows driven by a bare
 * node-llama-cpp loop (no master) give the engine's own step time.
 * A benchmark, not a test: the machine is shared and noisy, so it reports medians and p90.
 */
import { Agent } from "../agent/Agent.js";
import { ensureSyntheticModel } from "../model/defaultModel.js";
import { PRESETS, type PresetName } from "../model/presets.js";
import { OUR_SPANS, runBare, runMaster } from "./engineRuns.js";
import { benchArgs, countsArg, presetsArg } from "./benchArgs.js";
import { runWithPool } from "./serverPool.js";
import { quantile } from "./stats.js";

interface BenchConfig {
  tokens: number;
  threads: number;
  logprobs: boolean;
}

const ms = (values: number[], q = 0.5) => quantile(values, q).toFixed(3);

async function benchPreset(preset: PresetName, batches: number[], { tokens, threads, logprobs }: BenchConfig): Promise<object[]> {
  const path = await ensureSyntheticModel({ preset, dtype: "Q8_0", seed: 0 }, (p) => process.stderr.write(`making ${p}…\n`));
  const agent = await Agent.load({ modelPath: path, rows: Math.max(...batches), contextSize: 1024, threads });
  const shape = PRESETS[preset];
  console.log(`\n## ${preset} Q8_0 (vocab ${shape.vocabSize}, ${shape.blockCount} layers, embedding ${shape.embeddingLength}), ${threads} thread(s), ${tokens} tokens per request, logprobs ${logprobs ? "on" : "off"}, sampling ${agent.sampling} (chained as the server runs it; UV_THREADPOOL_SIZE=4 for awaited)\n`);
  console.log("| batch | tokens/s | step p50 (p90) ms | decode p50 ms | sample p50 ms | our JS p50 (p90) ms | our JS / decode | node-llama-cpp dispatch p50 ms | bare step p50 ms | step − bare ms |");
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  const rows: object[] = [];
  for (const batch of batches) {
    const bare = await runBare(agent, batch, tokens);
    const r = await runMaster(agent, batch, tokens, logprobs);
    const decode = quantile(r.spans.decode, 0.5);
    const js = quantile(r.jsMs, 0.5);
    console.log(
      `| ${batch} | ${r.tokensPerSecond.toFixed(1)} | ${ms(r.stepMs)} (${ms(r.stepMs, 0.9)}) | ${decode.toFixed(3)} | ${ms(r.spans.sample)} | ${js.toFixed(3)} (${ms(r.jsMs, 0.9)}) | ${(js / decode).toFixed(3)} | ${ms(r.spans.dispatch)} | ${ms(bare)} | ${(quantile(r.stepMs, 0.5) - quantile(bare, 0.5)).toFixed(3)} |`,
    );
    const spans: Record<string, number> = { loop: +quantile(r.loopMs, 0.5).toFixed(4) };
    for (const [k, v] of Object.entries(r.spans)) spans[k] = +quantile(v, 0.5).toFixed(4);
    rows.push({ preset, batch, sampling: agent.sampling, tokensPerSecond: r.tokensPerSecond, stepP50: quantile(r.stepMs, 0.5), jsP50: js, jsP90: quantile(r.jsMs, 0.9), decodeP50: decode, bareStepP50: quantile(bare, 0.5), spansP50: spans });
  }
  const columns = [...OUR_SPANS, "loop", "dispatch"];
  console.log("\nSpans, p50 ms:\n");
  console.log(`| batch | ${columns.join(" | ")} |`);
  console.log(`|---:|${columns.map(() => "---:").join("|")}|`);
  for (const row of rows as Array<{ batch: number; spansP50: Record<string, number> }>) {
    console.log(`| ${row.batch} | ${columns.map((k) => row.spansP50[k].toFixed(3)).join(" | ")} |`);
  }
  await agent.dispose();
  return rows;
}

async function main(): Promise<number> {
  const values = benchArgs({ tokens: 128, threads: 1 }, ["logprobs", "json"], { presets: "small,medium", batches: "1,4,8" });
  const presets = presetsArg(values.presets);
  const batches = countsArg(values.batches, "batches");
  const results = [];
  console.log(`# bench:engine — node ${process.version}, ${new Date().toISOString()}`);
  const config = { tokens: values.tokens, threads: values.threads, logprobs: values.logprobs };
  for (const preset of presets) results.push(...(await benchPreset(preset, batches, config)));
  console.log(
    "\nour JS = schedule + build + postprocess + deliver + the loop turn to the next step (docs/timing.md); targets: p50 ≤ 0.2 ms at batch 1, ≤ 0.5 ms at batch 8." +
      "\nnode-llama-cpp dispatch (inputs_submitted → decode_start) is the library's own JS: per-row locks and microtasks, building the native batch." +
      "\nbare = the same rows stepped by Agent.runStep alone, without the master.",
  );
  if (values.json) console.log(JSON.stringify(results));
  return 0;
}

await runWithPool("as served", main);
