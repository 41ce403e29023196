/**
 * `npm run bench:timing`: what the time points cost. Two servers on the tiny
 * preset, one with timing on and one with --no-timing, take the same load in
 * alternation (on, off, off, on, …): 8 concurrent streamed requests of
 * `tokens` tokens each (batch 8). Reports throughput on and off and their
 * ratio, paired round by round (target ≥ 0.99); the server CPU per generated
 * token on and off (the cost per token in ns); and the per-token recording
 * work measured directly in-process.
 * A benchmark, not a test: run it on a quiet machine.
 */
import { ensureSyntheticModel } from "../model/defaultModel.js";
import { Instrumentation } from "../timing/Instrumentation.js";
import { Marks } from "../timing/Marks.js";
import { STEP_POINTS } from "../timing/points.js";
import { RequestTimeline } from "../timing/RequestTimeline.js";
import { RequestTrace } from "../timing/RequestTrace.js";
import type { EngineStep } from "../timing/StepRecord.js";
import { now } from "../timing/clock.js";
import { benchArgs } from "./benchArgs.js";
import { startBenchServer } from "./benchServer.js";
import { burst } from "./streamBurst.js";
import { quantile } from "./stats.js";

/** The recording work per token, in-process: per-token trace writes, and per step (shared by the batch) the store and metrics. */
function recordingCostNs(batch: number, steps: number): number {
  const instrumentation = new Instrumentation({ gauges: () => undefined, model: () => "bench" });
  const traces = Array.from({ length: batch }, () => new RequestTrace());
  const timelines = traces.map((_, i) => new RequestTimeline(`r${i}`));
  const rows = traces.map((_, i) => ({ request: { id: `r${i}` }, tokens: [1], kind: "decode" as const, position: 0 }));
  const started = now();
  for (let s = 1; s <= steps; s++) {
    const marks = new Marks(STEP_POINTS.length);
    for (let p = 0; p < STEP_POINTS.length; p++) marks.mark(p);
    const step: EngineStep = { id: s, marks, gap: 0.01, decodes: 1, rows, waiting: 0 };
    instrumentation.recordStep(step);
    for (let i = 0; i < batch; i++) {
      const trace = traces[i];
      trace.steps.push(s);
      trace.tokenDelivered.set(s - 1, now());
      trace.tokenStep.set(s - 1, s);
      timelines[i].tokenWritten.set(s - 1, now());
    }
  }
  instrumentation.flush(); // the metrics and log work recordStep defers
  const ns = ((now() - started) * 1e6) / (steps * batch);
  void instrumentation.close();
  return ns;
}

async function main(): Promise<void> {
  const { rounds, tokens, batch } = benchArgs({ rounds: 40, tokens: 64, batch: 8 });
  const model = await ensureSyntheticModel({ preset: "tiny", dtype: "Q8_0", seed: 0 });
  const on = await startBenchServer(model, "tiny-timed", ["--rows", String(batch)]);
  const off = await startBenchServer(model, "tiny-untimed", ["--rows", String(batch), "--no-timing"]);
  try {
    for (let i = 0; i < 3; i++) {
      await burst(on, batch, tokens);
      await burst(off, batch, tokens); // warm-up: JIT, sockets, page cache
    }
    const onRates: number[] = [];
    const offRates: number[] = [];
    const ratios: number[] = [];
    const cpu = { on: { ms: 0, tokens: 0 }, off: { ms: 0, tokens: 0 } };
    for (let r = 0; r < rounds; r++) {
      // Alternate which goes first, so a slow drift of the machine weighs on both alike.
      const onFirst = r % 2 === 0;
      const a = await burst(onFirst ? on : off, batch, tokens);
      const b = await burst(onFirst ? off : on, batch, tokens);
      const [bOn, bOff] = onFirst ? [a, b] : [b, a];
      onRates.push(bOn.rate);
      offRates.push(bOff.rate);
      ratios.push(bOn.rate / bOff.rate);
      cpu.on.ms += bOn.cpuMs;
      cpu.on.tokens += bOn.tokens;
      cpu.off.ms += bOff.cpuMs;
      cpu.off.tokens += bOff.tokens;
    }
    const onP50 = quantile(onRates, 0.5);
    const offP50 = quantile(offRates, 0.5);
    const cpuNs = (c: { ms: number; tokens: number }): number => (c.ms * 1e6) / c.tokens;
    console.log(`# bench:timing — tiny preset, batch ${batch}, ${tokens} tokens per request, ${rounds} alternating rounds, node ${process.version}, ${new Date().toISOString()}\n`);
    console.log("| round | timing on tok/s | timing off tok/s | on / off |\n|---:|---:|---:|---:|");
    onRates.forEach((_, i) => console.log(`| ${i + 1} | ${onRates[i].toFixed(1)} | ${offRates[i].toFixed(1)} | ${ratios[i].toFixed(4)} |`));
    console.log(`\nthroughput on / off, median of the paired rounds: ${quantile(ratios, 0.5).toFixed(4)} (target ≥ 0.99)`);
    console.log(`throughput p50: on ${onP50.toFixed(1)} tok/s, off ${offP50.toFixed(1)} tok/s (ratio of these medians ${(onP50 / offP50).toFixed(4)}: unpaired, noisier)`);
    console.log(`server CPU per generated token: on ${cpuNs(cpu.on).toFixed(0)} ns, off ${cpuNs(cpu.off).toFixed(0)} ns: timing costs ${(cpuNs(cpu.on) - cpuNs(cpu.off)).toFixed(0)} ns of CPU per token (10 ms tick resolution, summed over all rounds)`);
    console.log(`recording work per token, measured in-process (batch ${batch}): ${recordingCostNs(batch, 20000).toFixed(0)} ns`);
  } finally {
    await Promise.all([on.stop(), off.stop()]);
  }
}

await main();
