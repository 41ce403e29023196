/**
 * `npm run bench:gateway`: what our server adds when it is a gateway in
 * front of llama.cpp's llama-server (engines: in its config). One
 * llama-server, and our server routing to it; the same streamed requests go
 * to each in interleaved rounds (within a round every concurrency level runs
 * both sides back to back; which side goes first alternates by round and
 * level, so that neither is always measured on a warmer machine). Both are
 * asked through the OpenAI completions route, greedy, with ignore_eos, so
 * that both generate exactly --tokens tokens from prompts of the same shape.
 *
 * Per round and level: the added time per request (the p50 of e2e via the
 * gateway − e2e direct, request i against request i), the gateway's own
 * account of it (timings.hop.ours_ms), the added time per streamed token
 * (the mean inter-token gap's difference, and Δe2e p50 / tokens) and the
 * throughput ratio gateway / direct; then medians over rounds (with a distribution-free 95 % interval) beside the
 * targets. Each round also sends --short sets of short requests at c = 1,
 * the sides taking turns (shortRequests.ts): the added time per request apart from
 * its tokens, and with --floor the same through two reference relays
 * (referenceRelay.ts), the floor of any hop on this machine. A report made while other processes loaded the machine is
 * refused. A benchmark, not a test: run it on a quiet machine.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { now } from "../timing/clock.js";
import { ensureSyntheticModel } from "../model/defaultModel.js";
import type { PresetName } from "../model/presets.js";
import { argError, benchArgs, presetArg, zeroOrCount } from "./benchArgs.js";
import { benchServerOf, spawnServer, type BenchServer } from "./benchServer.js";
import { pinning } from "./corePinning.js";
import { LoadClient, type ClientRecord } from "./LoadClient.js";
import { ensureLlamaCppBuild } from "./llamaCppBuild.js";
import { startLlamaServer } from "./llamaServerProcess.js";
import { MachineLoad } from "./machineLoad.js";
import { protocol } from "./protocols.js";
import { startReferenceRelay } from "./referenceRelay.js";
import { HOPS, printShort, shortRequests, type Side, type ShortRun } from "./shortRequests.js";
import { fixed, medianInterval, quantile } from "./stats.js";

const say = (line: string): boolean => process.stderr.write(`bench:gateway: ${line}\n`);

/** Relative to the compiled file, so that it runs from dist/ or any other build folder. */
const CLI = fileURLToPath(new URL("../cli/launch.cjs", import.meta.url));
const LEVELS = [1, 4, 8] as const;
const MODEL_NAME = "bench";
/** Room in each slot for the prompt beside the generated tokens. */
const PROMPT_ROOM = 128;

interface Options {
  rounds: number;
  preset: PresetName;
  tokens: number;
  requests: number;
  threads: number;
  slots: number;
  json: boolean;
  /** Core 0 for llama-server alone; the gateway and the load client on the others (taskset). */
  pin: boolean;
  /** Pairs of short requests per round, alternating side by side (0: none). */
  short: number;
  shortTokens: number;
  /** The short requests also go through the reference relays (referenceRelay.ts): the floor of a hop here. */
  floor: boolean;
}

function options(): Options {
  const { "short-tokens": shortTokens, short, ...o } = benchArgs({ rounds: 6, tokens: 128, requests: 16, threads: 1, slots: 8, "short-tokens": 2 }, ["json", "pin", "floor"], { preset: "small", short: "24" });
  // At least 2 tokens: a per-token gap needs two token arrivals.
  if (o.tokens < 2) argError(`--tokens must be at least 2, got ${o.tokens}`);
  return { ...o, preset: presetArg(o.preset), short: zeroOrCount("short", short, "sets of short requests per round", "none"), shortTokens };
}

/** Our server as a gateway to llama-server: a config file with one engine, served on a free port. */
async function startGateway(llamaUrl: string, folder: string): Promise<BenchServer> {
  const config = join(folder, "gateway.yaml");
  await writeFile(config, [`model_config:`, `  model_name: ${MODEL_NAME}`, `engines:`, `  - name: ls1`, `    url: ${llamaUrl}`, `    kind: llama.cpp`, ``].join("\n"));
  const child = await spawnServer(process.execPath, [CLI, "serve", "--config", config, "--port", "0", "--no-access-log"], {
    name: "the gateway",
    // It says "serving … through" once every engine has been asked once; an engine it could not reach makes the run meaningless.
    ready: (stderr) => {
      if (!stderr.includes(`serving "${MODEL_NAME}" through`)) return undefined;
      if (stderr.includes("not healthy")) throw new Error(`the gateway cannot reach llama-server:\n${stderr}`);
      const url = /listening on (http:\/\/\S+)/.exec(stderr)?.[1];
      if (url === undefined) throw new Error(`no "listening on" line in the gateway's output:\n${stderr}`);
      return url;
    },
    startTimeoutMs: 60_000,
  });
  return benchServerOf(child);
}

/**
 * A prompt never sent before, from its first word (llama-server reuses a
 * slot's cached prefix, cache_prompt), and of the same shape on both sides:
 * six-digit numbers, so that the pair tokenizes alike.
 */
let serial = 100_000;
const prompts = (n: number): string[] => Array.from({ length: n }, () => `${++serial} is the number of this request of the gateway bench: what does the hop add?`);

/** One side's run at one level: its records (by prompt) and the wall time from the first send to the last end. */
interface SideRun {
  records: ClientRecord[];
  wallMs: number;
  /** CPU the server process used meanwhile (10 ms ticks: coarse for short runs). */
  cpuMs: number;
}

/**
 * Closed loop, `concurrency` in flight, each request on a connection of its
 * own (a LoadClient per request): llama-server closes the connection after
 * every streamed response while saying keep-alive, and a client that sends
 * its next request at once on the kept socket gets "socket hang up". Both
 * sides get the same fresh connections, so the comparison stays like for like.
 */
async function load(server: BenchServer, texts: readonly string[], tokens: number, concurrency: number, idPrefix: string): Promise<SideRun> {
  const records: ClientRecord[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < texts.length; i = next++) {
      const client = new LoadClient({ url: server.url, protocol: protocol("openai"), model: MODEL_NAME, prompts: [{ prompt: texts[i] }], maxTokens: tokens, count: 1, stream: true, ignoreEos: true, greedy: true, concurrency: 1, idPrefix: `${idPrefix}-${i}` });
      records[i] = (await client.run())[0];
    }
  };
  const [start, cpu] = [now(), server.cpuMs()];
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { records, wallMs: now() - start, cpuMs: server.cpuMs() - cpu };
}

/** A request that made exactly its tokens; any other is counted as failed and left out of the pairs. */
const ok = (r: ClientRecord): boolean => !r.error && r.status === 200 && r.outputTokens === r.maxTokens && r.tokens.length > 0;
const why = (r: ClientRecord): string => r.error ?? `HTTP ${r.status}, ${r.outputTokens} of ${r.maxTokens} tokens`;

const e2e = (r: ClientRecord): number => r.end - r.sent;
/** First → last token arrival over the tokens between them (the server's count, so that chunks carrying no text do not skew it). */
const meanGap = (r: ClientRecord): number => (r.tokens[r.tokens.length - 1] - r.tokens[0]) / (r.outputTokens - 1);
const mean = (v: readonly number[]): number => v.reduce((a, x) => a + x, 0) / v.length;
/** Delivered tokens per second of wall time: failed requests deliver none. */
const delivered = (run: SideRun): number => run.records.filter(ok).reduce((a, r) => a + r.outputTokens, 0);
const tokensPerS = (run: SideRun): number => delivered(run) / (run.wallMs / 1000);
type Json = Record<string, unknown> | undefined;
/**
 * The gateway's own account: e2e less queued → finished (from routing to the
 * generation's end as the gateway saw it), from the response's timings (taken just before its
 * last bytes go out). A response without backend_ms (none was sent) would
 * make ours_ms the whole e2e: such responses are left out, and counted.
 */
const hopOf = (r: ClientRecord): Json => (r.backend?.raw as { hop?: Json } | undefined)?.hop;
const hasBackendMs = (r: ClientRecord): boolean => typeof hopOf(r)?.backend_ms === "number";
const oursMs = (r: ClientRecord): number => (hasBackendMs(r) && typeof hopOf(r)?.ours_ms === "number" ? (hopOf(r)!.ours_ms as number) : NaN);
/** The prompt tokens llama-server counted (evaluated + reused from its cache), as it reported them to each side: to confirm the pairs match. */
const llamaPromptTokens = (timings: Json): number => Number(timings?.prompt_n) + Number(timings?.cache_n);
const promptTokensDirect = (r: ClientRecord): number => llamaPromptTokens(r.backend?.raw as Json);
const promptTokensGateway = (r: ClientRecord): number => llamaPromptTokens(hopOf(r)?.backend_timings as Json);

/** One level of one round: both sides' figures and the differences. */
interface LevelRound {
  c: number;
  first: "direct" | "gateway";
  directE2eP50: number;
  gatewayE2eP50: number;
  added: number;
  ours: number;
  perTokenGap: number;
  perTokenE2e: number;
  directTps: number;
  gatewayTps: number;
  ratio: number;
  /** Server CPU per delivered token, ms: the gateway's is the price of relaying each token, which the target per token must cover. */
  gatewayCpu: number;
  directCpu: number;
  directFailed: number;
  gatewayFailed: number;
  /** Gateway responses whose timings had no hop.backend_ms (their ours_ms is left out). */
  oursMissing: number;
  /** Pairs whose prompts llama-server counted differently on the two sides (should be 0). */
  promptMismatches: number;
  /** The first failure's reason, per side, for the round's line. */
  failures: string[];
}

/** Pairs are request i of each side (same prompt shape, same length); a pair with a failed side is left out. */
function compare(c: number, first: LevelRound["first"], direct: SideRun, gateway: SideRun, tokens: number): LevelRound {
  const pairs = direct.records.map((d, i) => [d, gateway.records[i]] as const).filter(([d, g]) => ok(d) && ok(g));
  const added = quantile(pairs.map(([d, g]) => e2e(g) - e2e(d)), 0.5);
  const directTps = tokensPerS(direct);
  const gatewayTps = tokensPerS(gateway);
  const failed = (run: SideRun): ClientRecord[] => run.records.filter((r) => !ok(r));
  const [df, gf] = [failed(direct), failed(gateway)];
  return {
    c,
    first,
    directE2eP50: quantile(pairs.map(([d]) => e2e(d)), 0.5),
    gatewayE2eP50: quantile(pairs.map(([, g]) => e2e(g)), 0.5),
    added,
    ours: quantile(pairs.map(([, g]) => oursMs(g)), 0.5),
    perTokenGap: mean(pairs.map(([, g]) => meanGap(g))) - mean(pairs.map(([d]) => meanGap(d))),
    perTokenE2e: added / tokens,
    directTps,
    gatewayTps,
    ratio: gatewayTps / directTps,
    gatewayCpu: gateway.cpuMs / delivered(gateway),
    directCpu: direct.cpuMs / delivered(direct),
    directFailed: df.length,
    gatewayFailed: gf.length,
    oursMissing: pairs.filter(([, g]) => !hasBackendMs(g)).length,
    // Only where both sides say (a gateway response timed before llama-server's last chunk carries no backend timings).
    promptMismatches: pairs.filter(([d, g]) => [promptTokensDirect(d), promptTokensGateway(g)].every(Number.isFinite) && promptTokensDirect(d) !== promptTokensGateway(g)).length,
    failures: [...(df.length ? [`direct: ${why(df[0])}`] : []), ...(gf.length ? [`gateway: ${why(gf[0])}`] : [])],
  };
}

interface Sides {
  direct: BenchServer;
  gateway: BenchServer;
  /** --floor: the reference relays. */
  pipe?: BenchServer;
  relay?: BenchServer;
}

/**
 * The gateway takes an engine out after a failed request until a health
 * check (every 2 s, backing off up to 30 s) finds it again: each level starts
 * with it back, so that one level's failure does not empty the next.
 */
interface EngineStats {
  healthy: boolean;
  lastError: string | null;
}

const engines = async (gateway: BenchServer): Promise<EngineStats[]> => ((await (await fetch(`${gateway.url}/stats`)).json()) as { engines?: EngineStats[] }).engines ?? [];

async function gatewayEngineHealthy(gateway: BenchServer): Promise<void> {
  const deadline = now() + 35_000;
  while (now() < deadline) {
    if ((await engines(gateway)).every((e) => e.healthy)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("the gateway's engine stayed down for 35 s");
}

/** One level: prompts of the same shape and lengths to both, in the given order. */
async function level(sides: Sides, o: Options, c: number, first: LevelRound["first"], tag: string): Promise<LevelRound> {
  const texts = { direct: prompts(o.requests), gateway: prompts(o.requests) };
  const out: Partial<Record<LevelRound["first"], SideRun>> = {};
  for (const side of first === "direct" ? (["direct", "gateway"] as const) : (["gateway", "direct"] as const)) {
    if (side === "gateway") await gatewayEngineHealthy(sides.gateway);
    out[side] = await load(sides[side], texts[side], o.tokens, c, `${side}-${tag}-c${c}`);
  }
  const result = compare(c, first, out.direct!, out.gateway!, o.tokens);
  // A streamed failure reaches the client as a 200 with an error event, which the load client does not keep: the gateway says why.
  if (result.gatewayFailed > 0) result.failures.push(`gateway's engine: ${(await engines(sides.gateway)).map((e) => e.lastError ?? "no error recorded").join(", ")}`);
  return result;
}

async function round(sides: Sides, o: Options, i: number): Promise<LevelRound[]> {
  const out: LevelRound[] = [];
  for (const [k, c] of LEVELS.entries()) out.push(await level(sides, o, c, (i + k) % 2 === 0 ? "direct" : "gateway", `r${i + 1}`));
  return out;
}

/** How round `i`'s short requests are sent: a failed one through the gateway takes its engine out, so the next waits for it to be back. */
function shortSend(sides: Sides, o: Options, i: number): (side: Side, j: number) => Promise<{ ok: boolean; e2e: number }> {
  return async (side, j) => {
    const record = (await load(sides[side]!, prompts(1), o.shortTokens, 1, `${side}-short-r${i + 1}-${j}`)).records[0];
    if (!ok(record) && side === "gateway") await gatewayEngineHealthy(sides.gateway);
    return { ok: ok(record), e2e: e2e(record) };
  };
}

const METRICS: ReadonlyArray<{ key: keyof LevelRound; label: string; target?: { op: "≤" | "≥"; value: number } }> = [
  { key: "added", label: "added per request p50, Δe2e paired (ms)", target: { op: "≤", value: 1 } },
  { key: "ours", label: "added per request p50, gateway's ours_ms (ms)", target: { op: "≤", value: 1 } },
  { key: "perTokenGap", label: "added per token, Δ mean inter-token gap (ms)", target: { op: "≤", value: 0.05 } },
  { key: "perTokenE2e", label: "added per token, Δe2e p50 / tokens (ms)", target: { op: "≤", value: 0.05 } },
  { key: "ratio", label: "throughput gateway / direct", target: { op: "≥", value: 0.98 } },
  { key: "oursMissing", label: "gateway responses without hop.backend_ms", target: { op: "≤", value: 0 } },
  { key: "gatewayFailed", label: "failed requests, gateway", target: { op: "≤", value: 0 } },
  { key: "directFailed", label: "failed requests, direct", target: { op: "≤", value: 0 } },
  { key: "directTps", label: "direct, tokens/s" },
  { key: "gatewayTps", label: "gateway, tokens/s" },
  { key: "gatewayCpu", label: "gateway process CPU per token (ms)" },
  { key: "directCpu", label: "llama-server CPU per token, direct (ms)" },
  { key: "directE2eP50", label: "direct, e2e p50 (ms)" },
  { key: "gatewayE2eP50", label: "gateway, e2e p50 (ms)" },
];

const met = (m: (typeof METRICS)[number], x: number): string => (!m.target || !Number.isFinite(x) ? "" : (m.target.op === "≤" ? x <= m.target.value : x >= m.target.value) ? "met" : "MISSED");

function roundLine(i: number, rounds: number, levels: readonly LevelRound[]): string {
  const one = (l: LevelRound): string => `c=${l.c} (${l.first} first): added ${fixed(l.added)} ms, ours_ms ${fixed(l.ours)}, per token ${fixed(l.perTokenGap, 4)}/${fixed(l.perTokenE2e, 4)} ms, ratio ${fixed(l.ratio)}${l.failures.length ? `, FAILED ${l.directFailed} direct/${l.gatewayFailed} gateway (${l.failures.join("; ")})` : ""}`;
  return `round ${i + 1}/${rounds}: ${levels.map(one).join("; ")}`;
}

function print(o: Options, results: readonly LevelRound[][], machine: MachineLoad): void {
  console.log(`\n## ${o.preset} Q8_0: ${o.threads} thread(s), ${o.slots} slots, ${o.requests} streamed requests × ${o.tokens} tokens per level and side, ${results.length} interleaved rounds${o.pin ? "; llama-server pinned to core 0 alone (--pin)" : ""}\n`);
  for (const [k, c] of LEVELS.entries()) {
    const rows = results.map((r) => r[k]);
    console.log(`### c = ${c}\n`);
    console.log(`| metric | per round | median | its 95 % interval | target | |`);
    console.log(`|---|---|---:|---:|---:|---|`);
    for (const m of METRICS) {
      const values = rows.map((r) => r[m.key] as number);
      const med = quantile(values, 0.5);
      const digits = m.key.startsWith("perToken") || m.key.endsWith("Cpu") ? 4 : m.key.endsWith("Tps") ? 1 : m.key.endsWith("Failed") || m.key === "oursMissing" ? 0 : 3;
      const ci = medianInterval(values);
      console.log(`| ${m.label} | ${values.map((x) => fixed(x, digits)).join(" ")} | ${fixed(med, digits)} | ${fixed(ci.low, digits)} … ${fixed(ci.high, digits)} | ${m.target ? `${m.target.op} ${m.target.value}` : ""} | ${met(m, med)} |`);
    }
    const mismatched = rows.reduce((a, r) => a + r.promptMismatches, 0);
    if (mismatched > 0) console.log(`\nWarning: in ${mismatched} pairs the two sides' servers counted different prompt tokens; those pairs are not like for like.`);
    console.log("");
  }
  console.log(`Every request, on both sides, has a connection of its own (llama-server closes each after a streamed response). Pairs with a failed side are left out of the Δ figures; failed requests count in throughput as no tokens.`);
  console.log(`ours_ms is the gateway's own figure (e2e − queued → finished: from routing to the generation's end as the gateway saw it), as its responses report it: taken before its last bytes are written.`);
  console.log(`Other processes used ${machine.othersPct().toFixed(1)} % of a core on average during the rounds.`);
}

async function main(): Promise<number> {
  const o = options();
  const build = await ensureLlamaCppBuild(say);
  const model = await ensureSyntheticModel({ preset: o.preset, dtype: "Q8_0", seed: 0 });
  console.log(`# bench:gateway — clients → llama-server vs clients → our gateway → the same llama-server; llama.cpp ${build.tag}, node ${process.version}, ${new Date().toISOString()}`);
  const folder = await mkdtemp(join(tmpdir(), "llm-serving-gateway-bench-"));
  const pins = o.pin ? pinning() : undefined;
  if (pins) say(`pinned: llama-server on core 0 alone; the gateway and this load client on cores ${pins.rest}`);
  const direct = await startLlamaServer({ binary: build.server, model, threads: o.threads, slots: o.slots, perSlot: o.tokens + PROMPT_ROOM, under: pins?.server });
  const machine = new MachineLoad();
  const results: LevelRound[][] = [];
  const short: ShortRun[] = [];
  try {
    const gateway = await startGateway(direct.url, folder);
    const sides: Sides = { direct, gateway };
    try {
      if (o.floor && o.short > 0) {
        sides.pipe = await startReferenceRelay("pipe", direct.url);
        sides.relay = await startReferenceRelay("http", direct.url);
      }
      const servers = [direct, gateway, ...(sides.pipe ? [sides.pipe] : []), ...(sides.relay ? [sides.relay] : [])];
      // Unmeasured: the first requests pay page faults, JIT and new sockets; every slot is used once.
      for (const side of ["direct", "gateway"] as const) await load(sides[side], prompts(o.slots), o.tokens, o.slots, `${side}-warm`);
      for (let i = 0; i < o.rounds; i++) {
        machine.start(servers);
        results.push(await round(sides, o, i));
        if (o.short > 0) short.push(await shortRequests((["direct", ...HOPS] as const).filter((side) => sides[side] !== undefined), shortSend(sides, o, i), o.short, i));
        machine.stop();
        say(roundLine(i, o.rounds, results[i]) + (o.short > 0 ? `; short requests: added p50 ${HOPS.filter((h) => short[i].deltas[h]).map((h) => `${h} ${fixed(quantile(short[i].deltas[h]!, 0.5))}`).join(", ")} ms` : ""));
      }
    } finally {
      await Promise.all([gateway.stop(), sides.pipe?.stop(), sides.relay?.stop()]);
    }
  } finally {
    await direct.stop();
    await rm(folder, { recursive: true, force: true });
  }
  print(o, results, machine);
  if (o.short > 0) printShort(o.shortTokens, short);
  if (o.json) console.log(JSON.stringify({ options: o, rounds: results, short, othersPct: machine.othersPct() }));
  const failed = results.flat().reduce((a, l) => a + l.directFailed + l.gatewayFailed, 0) + short.reduce((a, r) => a + r.failed, 0);
  if (failed > 0) console.log(`\nFAILED: ${failed} requests failed (each round's line on stderr says why).`);
  if (machine.othersPct() > MachineLoad.LIMIT_PCT) {
    console.log(`\nREFUSED: other processes loaded the machine (more than ${MachineLoad.LIMIT_PCT} % of a core on average): these figures are not a measurement. Run again on a quiet machine.`);
    return 1;
  }
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`bench:gateway: ${err.message}\n`);
    process.exit(1);
  },
);
