/**
 * The decode step timed three ways, for bench:vs-llama-server: inside our
 * server (the decode spans of a c = 1 stream's steps, from its own
 * records), in our bare engine (bench:engine, batch 1) and in llama-bench's
 * tg, each over the same positions from an empty context.
 *
 * `--decode N` measures them in N tight triples, the three one right after
 * the other in an order that turns from triple to triple through all six,
 * so that each ratio compares runs a few seconds apart: this shared host
 * slows the machine down for tens of seconds at a time, which the full
 * rounds (a minute each) cannot outlast.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { PresetName } from "../model/presets.js";
import type { BenchServer } from "./benchServer.js";
import { serverIdOf, type ClientRecord } from "./LoadClient.js";
import { medianInterval, quantile } from "./stats.js";

const run = promisify(execFile);

/** llama-bench's tg over `tokens` positions, ms per token (`repetitions` runs averaged by llama-bench). */
export async function llamaBenchDecode(binary: string, model: string, tokens: number, threads: number, repetitions = 1): Promise<number> {
  const { stdout } = await run(binary, ["-m", model, "-t", String(threads), "-p", "0", "-n", String(tokens), "-r", String(repetitions), "-o", "json"], { maxBuffer: 1 << 24 });
  return 1000 / (JSON.parse(stdout) as Array<{ avg_ts: number }>)[0].avg_ts;
}

/** Our bare engine (bench:engine, batch 1, in a process of its own): its decode span p50 and its whole step p50, ms. */
export async function engineBenchDecode(preset: PresetName, tokens: number, threads: number): Promise<{ decode: number; step: number }> {
  const engineBench = fileURLToPath(new URL("./engineBench.js", import.meta.url));
  // bench:engine sizes its libuv pool as the server's launcher does (src/bench/serverPool.ts): the sampling is chained alike.
  const { stdout } = await run(process.execPath, [engineBench, "--presets", preset, "--batches", "1", "--tokens", String(tokens), "--threads", String(threads), "--json"], { maxBuffer: 1 << 24 });
  const row = (JSON.parse(stdout.trim().split("\n").at(-1)!) as Array<{ decodeP50: number; stepP50: number }>)[0];
  return { decode: row.decodeP50, step: row.stepP50 };
}

/** The p50 of the decode spans of the steps that carried a request, from our server's own records (GET /debug/requests/{id}). */
export async function decodeInServer(server: BenchServer, record: ClientRecord): Promise<number> {
  const response = await fetch(`${server.url}/debug/requests/${encodeURIComponent(serverIdOf(record))}`);
  if (!response.ok) throw new Error(`ours: GET /debug/requests/${serverIdOf(record)} answered ${response.status}`);
  const detail = (await response.json()) as { steps: Array<{ spans: { decode?: number | null } }> };
  const decodes = detail.steps.map((s) => s.spans.decode).filter((d): d is number => typeof d === "number");
  return quantile(decodes, 0.5);
}

export type Way = "server" | "bare" | "llamaBench";
export type Triple = Record<Way, number>;

const WAYS: readonly Way[] = ["server", "bare", "llamaBench"];
const ORDERS: ReadonlyArray<readonly Way[]> = [
  ["server", "bare", "llamaBench"],
  ["bare", "llamaBench", "server"],
  ["llamaBench", "server", "bare"],
  ["llamaBench", "bare", "server"],
  ["bare", "server", "llamaBench"],
  ["server", "llamaBench", "bare"],
];

/** `n` triples, each way right after the others, the order turning through all six. */
export async function decodeTriples(measure: Record<Way, () => Promise<number>>, n: number, say: (line: string) => void): Promise<Triple[]> {
  const triples: Triple[] = [];
  for (let i = 0; i < n; i++) {
    const t = {} as Triple;
    for (const way of ORDERS[i % ORDERS.length]) t[way] = await measure[way]();
    triples.push(t);
    say(`decode triple ${i + 1}/${n}: server ${t.server.toFixed(3)}, bare ${t.bare.toFixed(3)}, llama-bench ${t.llamaBench.toFixed(3)} ms; server / bare ${(t.server / t.bare).toFixed(3)}`);
  }
  return triples;
}

const RATIOS: ReadonlyArray<{ label: string; of: (t: Triple) => number }> = [
  { label: "server / bench:engine", of: (t) => t.server / t.bare },
  { label: "bench:engine / llama-bench", of: (t) => t.bare / t.llamaBench },
  { label: "server / llama-bench", of: (t) => t.server / t.llamaBench },
];

/** Each ratio's median over the triples, with a distribution-free 95 % interval of it, and whether that interval lies within ±3 %. */
export function printTriples(preset: string, tokens: number, triples: readonly Triple[]): void {
  console.log(`\n## ${preset}: the decode step three ways, ${triples.length} tight triples of ${tokens} positions each\n`);
  console.log(`| ways | per triple | median | 95 % interval | within 3 % |`);
  console.log(`|---|---|---:|---|---|`);
  for (const r of RATIOS) {
    const values = triples.map(r.of);
    const { low, high } = medianInterval(values);
    const verdict = Number.isNaN(low) ? "too few triples to say (6 at least)" : low >= 0.97 && high <= 1.03 ? "yes" : high < 0.97 || low > 1.03 ? "no" : "undecided";
    console.log(`| ${r.label} | ${values.map((x) => x.toFixed(3)).join(" ")} | ${quantile(values, 0.5).toFixed(3)} | ${Number.isNaN(low) ? "–" : `${low.toFixed(3)} … ${high.toFixed(3)}`} | ${verdict} |`);
  }
  for (const way of WAYS) console.log(`${way}: median ${quantile(triples.map((t) => t[way]), 0.5).toFixed(3)} ms per decode`);
}
