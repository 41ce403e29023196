/** `llm-serving bench`: the load client. */
import type { Command } from "commander";
import cliProgress from "cli-progress";
import { arrivalPlan, type ArrivalPattern } from "../../bench/arrivals.js";
import { writeClientRecords } from "../../bench/clientRecords.js";
import { LoadClient } from "../../bench/LoadClient.js";
import { loadPrompts, syntheticPrompts } from "../../bench/prompts.js";
import { protocol } from "../../bench/protocols.js";
import { formatReport, lagWarning, summarize, type Slo } from "../../bench/report.js";
import { integerOption, numberOption } from "../options.js";
import { assertSomeSucceeded, targetModel, targetOptions, type TargetFlags } from "./target.js";

interface BenchFlags extends TargetFlags {
  stream?: boolean;
  rate?: number;
  duration?: number;
  count?: number;
  concurrency?: number;
  arrival: string;
  burstiness: number;
  seed: number;
  prompts?: string;
  inputWords: number;
  maxTokens: number;
  ignoreEos?: boolean;
  sampling?: boolean;
  slo?: string;
  records?: string;
  json?: boolean;
  progress: boolean;
}

export function registerBench(program: Command): void {
  targetOptions(program.command("bench"))
    .description("send load to a server (ours, or any llm-serving, TGI, OpenAI-compatible, llama.cpp or Ollama one) and report latencies and throughput")
    .option("--stream", "stream the responses")
    .option("-X, --rate <requests/s>", "open loop: requests per second", numberOption("--rate"))
    .option("-T, --duration <seconds>", "with --rate: run this long (sends rate × duration requests)", numberOption("--duration"))
    .option("-n, --count <n>", "number of requests (default: rate × duration with -T, else 100)", integerOption("--count", 1))
    .option("--concurrency <c>", "closed loop: keep c requests in flight (instead of a rate)", integerOption("--concurrency", 1))
    .option("--arrival <pattern>", "with --rate: constant, poisson or gamma", "constant")
    .option("--burstiness <b>", "gamma arrivals: shape (1 = Poisson, < 1 burstier)", numberOption("--burstiness"), 1)
    .option("--seed <n>", "seed for arrivals and synthetic prompts", integerOption("--seed", 0), 0)
    .option("--prompts <file.jsonl>", 'prompts, one {"prompt": …, "max_new_tokens"?: …} per line')
    .option("--input-words <n>", "synthetic prompts of about n words", integerOption("--input-words", 1), 32)
    .option("--max-tokens <n>", "max_new_tokens (unless a prompt gives its own)", integerOption("--max-tokens", 1), 64)
    .option("--ignore-eos", "ask the server to ignore end tokens (fixed output lengths)")
    .option("--sampling", "sample instead of greedy decoding")
    .option("--slo <list>", "goodput SLOs in ms, e.g. ttft=200,tpot=50,e2e=5000")
    .option("--records <file.jsonl>", "write every request's record (for llm-serving analyze)")
    .option("--json", "print the report as JSON")
    .option("--no-progress", "no progress bar")
    .action(bench);
}

function parseSlo(text: string | undefined): Slo | undefined {
  if (!text) return undefined;
  const slo: Slo = {};
  for (const part of text.split(",")) {
    const [key, value] = part.split("=");
    if (!["ttft", "tpot", "e2e"].includes(key) || !(Number(value) > 0)) throw new Error(`--slo: "${part}" is not ttft=, tpot= or e2e= a positive number of ms`);
    slo[key as keyof Slo] = Number(value);
  }
  return slo;
}

/** Options that only mean something with others, or that contradict each other: said, not silently dropped (a new user's -T without -X ran 100 requests). */
function checkLoadShape(flags: BenchFlags): void {
  if (flags.duration !== undefined && flags.rate === undefined) throw new Error("-T/--duration goes with -X/--rate (an open loop); a closed loop is -n with --concurrency");
  if (flags.rate !== undefined && flags.concurrency !== undefined) throw new Error("give -X/--rate (an open loop: requests sent on a schedule) or --concurrency (a closed loop: c in flight), not both");
  if (flags.rate !== undefined && flags.duration !== undefined && flags.count !== undefined) throw new Error("give -T/--duration or -n/--count with --rate, not both (the run sends rate × duration requests, or n)");
  if (flags.arrival !== "constant" && flags.rate === undefined) throw new Error(`--arrival ${flags.arrival} goes with -X/--rate`);
  if (flags.burstiness !== 1 && flags.arrival !== "gamma") throw new Error("--burstiness goes with --arrival gamma");
}

async function bench(flags: BenchFlags): Promise<void> {
  const proto = protocol(flags.protocol);
  const slo = parseSlo(flags.slo);
  if (slo && (slo.ttft !== undefined || slo.tpot !== undefined) && flags.stream !== true) throw new Error("--slo ttft= and tpot= need --stream: a whole response does not show when its first token arrived");
  if (!["constant", "poisson", "gamma"].includes(flags.arrival)) throw new Error(`--arrival must be constant, poisson or gamma, got "${flags.arrival}"`);
  checkLoadShape(flags);
  const count = flags.count ?? (flags.rate && flags.duration ? Math.floor(flags.rate * flags.duration) : 100);
  if (count < 1) throw new Error("no requests to send (rate × duration < 1)");
  const prompts = flags.prompts ? await loadPrompts(flags.prompts) : syntheticPrompts(flags.inputWords, Math.min(count, 1000), flags.seed);
  const model = await targetModel(flags);
  const plan = flags.rate ? arrivalPlan({ rate: flags.rate, pattern: flags.arrival as ArrivalPattern, burstiness: flags.burstiness, count, seed: flags.seed }) : undefined;
  const bar = flags.progress && !flags.json ? new cliProgress.SingleBar({ stream: process.stderr, format: "bench [{bar}] {value}/{total} requests, {errors} errors, {eta_formatted} left" }, cliProgress.Presets.shades_classic) : undefined;
  let errors = 0;
  bar?.start(count, 0, { errors });
  const client = new LoadClient({
    url: flags.url,
    protocol: proto,
    model,
    prompts,
    maxTokens: flags.maxTokens,
    count,
    stream: flags.stream === true,
    ignoreEos: flags.ignoreEos === true,
    greedy: flags.sampling !== true,
    plan,
    concurrency: plan ? undefined : (flags.concurrency ?? 1),
    onDone: (r) => {
      if (r.error) errors++;
      bar?.increment(1, { errors });
    },
  });
  const records = await client.run();
  bar?.stop();
  if (flags.records) await writeClientRecords(flags.records, records);
  const report = summarize(records, slo);
  process.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : `${formatReport(report)}\n`);
  const warning = lagWarning(report);
  if (warning && flags.json) process.stderr.write(`${warning}\n`);
  assertSomeSucceeded(records);
}
