/**
 * `npm run bench:vs-llama-server`: our server against llama.cpp's own
 * llama-server, built from the same llama.cpp release as our engine, on the
 * same model, threads and slots, in interleaved rounds: each measurement
 * runs on both servers back to back, in an order that flips from one to the
 * next and from round to round. Each round measures on both: the e2e
 * slope over a length sweep (whole responses), c = 1/4/8 streamed
 * throughput, TTFT and inter-token gaps at c = 1, the fixed overhead (e2e −
 * the engine time each server reports), and server CPU per token. Ratios
 * are ours / theirs per round, then their medians. Each round also times
 * the decode step three ways: inside our server (its step records), in our
 * bare engine (bench:engine) and in llama-bench's tg. A report made while
 * other processes loaded the machine is refused. --pairs N adds N tight
 * pairs of the single-stream measurements (tightPairs.ts) after the rounds.
 * A benchmark, not a test: run it on a quiet machine.
 */
import { ensureSyntheticModel } from "../model/defaultModel.js";
import type { PresetName } from "../model/presets.js";
import { largest, linearFit, median, smallest } from "../analysis/fit.js";
import { backendEngineMs } from "../timing/backendTimings.js";
import { benchArgs, presetsArg, zeroOrCount } from "./benchArgs.js";
import { decodeInServer, decodeTriples, engineBenchDecode, llamaBenchDecode, printTriples } from "./decodeWays.js";
import { startBenchServer, type BenchServer } from "./benchServer.js";
import { LoadClient, serverIdOf, type ClientRecord } from "./LoadClient.js";
import { ensureLlamaCppBuild } from "./llamaCppBuild.js";
import { startLlamaServer } from "./llamaServerProcess.js";
import { protocol } from "./protocols.js";
import { quantile } from "./stats.js";
import { printPairs, runPairs, type PairRatios, type PairSide } from "./tightPairs.js";
import { MachineLoad } from "./machineLoad.js";

const say = (line: string): boolean => process.stderr.write(`bench:vs-llama-server: ${line}\n`);

const SLOTS = 8;
const PER_SLOT = 512;
/** llama-server is built for the CPU here, so ours runs on the CPU too (--gpu off), whatever builds are installed. */
const THREADS = 1;
const LENGTHS = [1, 60, 120, 240, 360, 480];
const STREAM_TOKENS = 128;

interface Round {
  slope: number;
  c1: number;
  itl: number;
  ttft: number;
  c4: number;
  c8: number;
  overhead: number;
  cpuPerToken: number;
  /** Ours only: the c = 1 stream's decode span p50 inside the server (its step records, /debug/requests/{id}); NaN for llama-server. */
  serverDecode: number;
}

const METRICS: ReadonlyArray<{ key: keyof Round; label: string; better: "lower" | "higher" }> = [
  { key: "slope", label: "e2e slope, whole responses (ms/token)", better: "lower" },
  { key: "c1", label: "c = 1 streamed (tokens/s)", better: "higher" },
  { key: "itl", label: "c = 1 inter-token gap p50 (ms)", better: "lower" },
  { key: "ttft", label: "c = 1 TTFT (ms)", better: "lower" },
  { key: "c4", label: "c = 4 streamed (tokens/s)", better: "higher" },
  { key: "c8", label: "c = 8 streamed (tokens/s)", better: "higher" },
  { key: "overhead", label: "fixed overhead, e2e − engine (ms)", better: "lower" },
  { key: "cpuPerToken", label: "server CPU per token, c = 1 (ms)", better: "lower" },
];

let sent = 0;

async function load(server: BenchServer, lengths: number[], stream: boolean, concurrency: number): Promise<ClientRecord[]> {
  // A prompt never sent before, from its first word: llama-server reuses a cached prompt prefix (cache_prompt), we do not.
  const prompts = lengths.map((n) => ({ prompt: `${++sent} is the number of this request of the side-by-side: how fast is each server?`, maxTokens: n }));
  return new LoadClient({ url: server.url, protocol: protocol("openai"), model: "bench", prompts, maxTokens: lengths[0], count: lengths.length, stream, ignoreEos: true, greedy: true, concurrency }).run();
}

function check(records: readonly ClientRecord[], who: string): void {
  const bad = records.find((r) => r.error || r.outputTokens !== r.maxTokens);
  if (bad) throw new Error(`${who}: request ${bad.id} ${bad.error ? `failed: ${bad.error}` : `made ${bad.outputTokens} tokens, not ${bad.maxTokens}`}`);
}

const tokensPerS = (records: readonly ClientRecord[]): number => records.reduce((a, r) => a + r.outputTokens, 0) / ((largest(records.map((r) => r.end)) - smallest(records.map((r) => r.sent))) / 1000);

/** The whole-response sweep: the e2e slope, and the fixed cost per request (e2e − the engine time the server reports). */
async function sweepPhase(server: BenchServer, who: string): Promise<Pick<Round, "slope" | "overhead">> {
  const sweep = await load(server, LENGTHS, false, 1);
  check(sweep, who);
  const fit = linearFit(
    sweep.map((r) => r.outputTokens),
    sweep.map((r) => r.end - r.sent),
  );
  const overheads = sweep.map((r) => r.end - r.sent - (r.backend ? (backendEngineMs(r.backend) ?? NaN) : NaN));
  return { slope: fit.b, overhead: median(overheads) };
}

/** One stream alone: throughput, gaps, TTFT, the server's CPU per token and (ours) its decode span. */
async function streamPhase(server: BenchServer, who: string): Promise<Pick<Round, "c1" | "itl" | "ttft" | "cpuPerToken" | "serverDecode">> {
  const cpuBefore = server.cpuMs();
  const [one] = await load(server, [STREAM_TOKENS], true, 1);
  const cpu = server.cpuMs() - cpuBefore;
  check([one], who);
  const gaps = one.tokens.slice(1).map((t, i) => t - one.tokens[i]);
  return {
    c1: tokensPerS([one]),
    itl: quantile(gaps, 0.5),
    ttft: one.tokens[0] - one.sent,
    cpuPerToken: cpu / one.outputTokens,
    serverDecode: who === "ours" ? await decodeInServer(server, one) : NaN,
  };
}

async function concurrentPhase(server: BenchServer, who: string, concurrency: 4 | 8): Promise<Partial<Round>> {
  const records = await load(server, Array(concurrency).fill(STREAM_TOKENS), true, concurrency);
  check(records, who);
  return { [`c${concurrency}`]: tokensPerS(records) };
}

const PHASES: ReadonlyArray<(server: BenchServer, who: string) => Promise<Partial<Round>>> = [
  sweepPhase,
  streamPhase,
  (server, who) => concurrentPhase(server, who, 4),
  (server, who) => concurrentPhase(server, who, 8),
];

/**
 * One round: each phase on both servers back to back, the order flipping from
 * phase to phase and from round to round (ABBA), so that each ratio compares
 * runs seconds apart — the shared host slows down for tens of seconds at a time.
 */
async function measureRound(ours: BenchServer, theirs: BenchServer, round: number): Promise<{ ours: Round; theirs: Round }> {
  const result = { ours: {} as Partial<Round>, theirs: {} as Partial<Round> };
  const sides = [
    { server: ours, who: "ours", into: result.ours },
    { server: theirs, who: "llama-server", into: result.theirs },
  ];
  for (const [i, phase] of PHASES.entries()) {
    for (const side of (round + i) % 2 === 0 ? sides : [...sides].reverse()) Object.assign(side.into, await phase(side.server, side.who));
  }
  return result as { ours: Round; theirs: Round };
}

/** Decode per token of the bare engines, ms: llama-bench's tg, and our bench:engine's decode and whole step p50. */
interface Bare {
  llamaBench: number;
  ours: number;
  oursStep: number;
}

async function bareEngines(binary: string, model: string, preset: PresetName): Promise<Bare> {
  const llamaBench = await llamaBenchDecode(binary, model, STREAM_TOKENS, THREADS, 2);
  const ours = await engineBenchDecode(preset, STREAM_TOKENS, THREADS);
  return { llamaBench, ours: ours.decode, oursStep: ours.step };
}

function ratio(m: (typeof METRICS)[number], ours: Round, theirs: Round): number {
  return ours[m.key] / theirs[m.key];
}

interface RoundResult {
  ours: Round;
  theirs: Round;
  /** The bare engines, measured in the same round (with both servers idle). */
  bare: Bare;
}

interface PresetResult {
  preset: PresetName;
  rounds: RoundResult[];
  /** --pairs: the tight pairs' ratios. */
  pairs?: PairRatios;
  othersPct: number;
}

/** One server as --pairs asks it: a 128-token stream alone, and the sweep's shortest and longest whole responses. */
function pairSide(server: BenchServer, who: string): PairSide {
  return {
    stream: async () => {
      const [one] = await load(server, [STREAM_TOKENS], true, 1);
      check([one], who);
      return { tokensPerS: tokensPerS([one]), gap: quantile(one.tokens.slice(1).map((t, i) => t - one.tokens[i]), 0.5) };
    },
    slope: async () => {
      const records = await load(server, [LENGTHS[0], LENGTHS.at(-1)!], false, 1);
      check(records, who);
      const [short, long] = [...records].sort((a, b) => a.outputTokens - b.outputTokens);
      return (long.end - long.sent - (short.end - short.sent)) / (long.outputTokens - short.outputTokens);
    },
  };
}

/** Ours, as the side-by-side runs it: llama-server's threads, slots and context. */
const startOurs = (model: string): Promise<BenchServer> => startBenchServer(model, "bench", ["--threads", String(THREADS), "--gpu", "off", "--rows", String(SLOTS), "--context-size", String(PER_SLOT), "--no-access-log"]);

async function benchPreset(preset: PresetName, rounds: number, pairs: number, build: { server: string; bench: string }): Promise<PresetResult> {
  const model = await ensureSyntheticModel({ preset, dtype: "Q8_0", seed: 0 });
  const ours = await startOurs(model);
  const theirs = await startLlamaServer({ binary: build.server, model, threads: THREADS, slots: SLOTS, perSlot: PER_SLOT }).catch(async (err: unknown) => {
    await ours.stop();
    throw err;
  });
  const machine = new MachineLoad();
  const results: RoundResult[] = [];
  let tight: PairRatios | undefined;
  try {
    // One unmeasured round: first requests pay page faults and JIT.
    await measureRound(ours, theirs, 0);
    for (let i = 0; i < rounds; i++) {
      machine.start([ours, theirs]);
      const measured = await measureRound(ours, theirs, i);
      machine.stop();
      // Outside the load window: the bare engines are processes of their own.
      const bare = await bareEngines(build.bench, model, preset);
      results.push({ ...measured, bare });
      const r = results.at(-1)!;
      say(`${preset} round ${i + 1}/${rounds}: ${METRICS.map((m) => `${m.key} ${ratio(m, r.ours, r.theirs).toFixed(3)}`).join(", ")}, decode in server / llama-bench ${(r.ours.serverDecode / bare.llamaBench).toFixed(3)}`);
    }
    if (pairs > 0) {
      machine.start([ours, theirs]);
      tight = await runPairs(pairSide(ours, "ours"), pairSide(theirs, "llama-server"), pairs, (line) => say(`${preset} ${line}`));
      machine.stop();
    }
  } finally {
    await ours.stop();
    await theirs.stop();
  }
  print(preset, results, machine);
  if (tight) printPairs(preset, tight);
  return { preset, rounds: results, ...(tight ? { pairs: tight } : {}), othersPct: machine.othersPct() };
}

/**
 * --decode N: only the decode step, three ways in N tight triples
 * (decodeWays.ts); llama-server is not started. Resolves to the share of a
 * core other processes took while our server decoded (the bare engines run
 * alone, each a process of its own).
 */
async function decodeOnly(preset: PresetName, n: number, build: { bench: string }): Promise<number> {
  const model = await ensureSyntheticModel({ preset, dtype: "Q8_0", seed: 0 });
  const ours = await startOurs(model);
  const machine = new MachineLoad();
  try {
    // Unmeasured: a fresh server's first request pays page faults and JIT.
    check(await load(ours, [STREAM_TOKENS], true, 1), "ours");
    const stream = async (): Promise<number> => {
      machine.start([ours]);
      const records = await load(ours, [STREAM_TOKENS], true, 1);
      machine.stop();
      check(records, "ours");
      return decodeInServer(ours, records[0]);
    };
    const measure = { server: stream, bare: async () => (await engineBenchDecode(preset, STREAM_TOKENS, THREADS)).decode, llamaBench: () => llamaBenchDecode(build.bench, model, STREAM_TOKENS, THREADS) };
    printTriples(preset, STREAM_TOKENS, await decodeTriples(measure, n, (line) => say(`${preset} ${line}`)));
  } finally {
    await ours.stop();
  }
  console.log(`Other processes used ${machine.othersPct().toFixed(1)} % of a core on average while our server decoded.`);
  return machine.othersPct();
}

function print(preset: string, results: readonly RoundResult[], machine: MachineLoad): void {
  const med = (v: number[]): number => quantile(v, 0.5);
  console.log(`\n## ${preset} Q8_0: ${THREADS} thread, ${SLOTS} slots × ${PER_SLOT} tokens, ${results.length} interleaved rounds\n`);
  console.log(`| metric | ours (median) | llama-server (median) | ratio per round | median ratio | better |`);
  console.log(`|---|---:|---:|---|---:|---|`);
  for (const m of METRICS) {
    const ratios = results.map((r) => ratio(m, r.ours, r.theirs));
    console.log(`| ${m.label} | ${med(results.map((r) => r.ours[m.key])).toFixed(3)} | ${med(results.map((r) => r.theirs[m.key])).toFixed(3)} | ${ratios.map((x) => x.toFixed(3)).join(" ")} | ${med(ratios).toFixed(3)} | ${m.better} |`);
  }
  const decodes = [
    { label: `llama-bench tg${STREAM_TOKENS}, per token`, of: (r: RoundResult) => r.bare.llamaBench },
    { label: "our bench:engine, decode p50 (batch 1)", of: (r: RoundResult) => r.bare.ours },
    { label: "our server, decode p50 (the c = 1 stream's steps)", of: (r: RoundResult) => r.ours.serverDecode },
  ];
  console.log(`\nThe decode step (ms), per round, and its median ratio to llama-bench's:\n`);
  console.log(`| engine | per round | median | ratio to llama-bench |`);
  console.log(`|---|---|---:|---:|`);
  for (const d of decodes) {
    const values = results.map(d.of);
    console.log(`| ${d.label} | ${values.map((x) => x.toFixed(3)).join(" ")} | ${med(values).toFixed(3)} | ${med(results.map((r) => d.of(r) / r.bare.llamaBench)).toFixed(3)} |`);
  }
  console.log(`\nOur server's decode / bench:engine's: ${med(results.map((r) => r.ours.serverDecode / r.bare.ours)).toFixed(3)} (median of rounds); bench:engine's whole step p50 ${med(results.map((r) => r.bare.oursStep)).toFixed(3)} ms.`);
  console.log(`Other processes used ${machine.othersPct().toFixed(1)} % of a core on average during the rounds.`);
}

async function main(): Promise<number> {
  const values = benchArgs({ rounds: 6 }, ["json"], { presets: "small,medium", decode: "0", pairs: "0" });
  const presets = presetsArg(values.presets);
  const rounds = values.rounds;
  const triples = zeroOrCount("decode", values.decode, "triples", "the rounds instead");
  const pairs = zeroOrCount("pairs", values.pairs, "pairs", "none");
  const build = await ensureLlamaCppBuild(say);
  if (triples > 0) {
    console.log(`# bench:vs-llama-server --decode — the decode step three ways, llama.cpp ${build.tag}, node ${process.version}, ${new Date().toISOString()}`);
    const othersPct = [];
    for (const p of presets) othersPct.push(await decodeOnly(p, triples, build));
    return refused(Math.max(...othersPct));
  }
  console.log(`# bench:vs-llama-server — llama.cpp ${build.tag} (node-llama-cpp's and llama-server's), node ${process.version}, ${new Date().toISOString()}`);
  const out: PresetResult[] = [];
  for (const p of presets) out.push(await benchPreset(p, rounds, pairs, build));
  if (values.json) console.log(JSON.stringify(out));
  return refused(Math.max(...out.map((o) => o.othersPct)));
}

/** The exit code: 1, saying so, when other processes loaded the machine while it measured. */
function refused(othersPct: number): number {
  if (othersPct <= MachineLoad.LIMIT_PCT) return 0;
  console.log(`\nREFUSED: other processes loaded the machine (more than ${MachineLoad.LIMIT_PCT} % of a core on average): these ratios are not a measurement. Run again on a quiet machine.`);
  return 1;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`bench:vs-llama-server: ${err.message}\n`);
    process.exit(1);
  },
);
