/**
 * `npm run bench:soak`: a long mixed load against one server, to see whether
 * it stays correct and steady. 20 000 requests (by default) at concurrency
 * 16 on the tiny preset: all three API families, streamed and not, with
 * client cancels at three stages and invalid bodies among them. Then it
 * checks that nothing went wrong besides the intended 4xx and cancels, that
 * every request has exactly one timeline in the server's --timeline-file,
 * that latency and RSS at the end are within 10 % of the start, that the
 * engine is idle afterwards and that the server exits 0 on SIGTERM.
 *
 * Options: --requests N, --concurrency C, --seed S, --warmup N, --out DIR,
 * --keep-timelines, --json (see --help). The folder gets report.md (with
 * latency.svg and rss.svg), report.html (self-contained), summary.json,
 * records.jsonl (one line per request) and server.log. Exit code 0 if every
 * criterion passes, 1 if one fails, 2 for a bad option. A benchmark, not a
 * test: a full run takes about four minutes on two cores.
 */
import { appendFile, copyFile, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { ensureSyntheticModel } from "../model/defaultModel.js";
import { makeFolder } from "../model/makeFolder.js";
import { now } from "../timing/clock.js";
import { parseSoakArgs, SoakArgsError, USAGE, type SoakOptions } from "./soakArgs.js";
import { runSoakLoad, type SoakRecord } from "./soakClient.js";
import { joinTimelines } from "./soakJoin.js";
import { planRequest, roundSize } from "./soakPlan.js";
import { ProcSampler } from "./soakProc.js";
import { writeSoakReport, type SoakResult } from "./soakReport.js";
import type { ServerExit } from "./benchServer.js";
import { startSoakServer, type SoakServer } from "./soakServer.js";
import { judgeSoak, type EngineStats } from "./soakVerdict.js";

const MODEL_NAME = "soak";
const SAMPLE_INTERVAL_MS = 250;
/** Cancelled rows leave the batch at the next step, so /stats may lag the last response: it gets this long to show an idle engine. */
const IDLE_WAIT_MS = 3000;

const log = (line: string): void => void process.stderr.write(`bench:soak: ${line}\n`);

async function engineStats(url: string): Promise<EngineStats | undefined> {
  const deadline = now() + IDLE_WAIT_MS;
  let last: EngineStats | undefined;
  do {
    try {
      last = (await (await fetch(`${url}/stats`)).json()) as EngineStats;
      if (last.running === 0 && last.waiting === 0) return last;
    } catch {
      return last;
    }
    await new Promise((r) => setTimeout(r, 100));
  } while (now() < deadline);
  return last;
}

function progress(total: number, origin: number, sampler: ProcSampler): (r: SoakRecord) => void {
  let done = 0;
  let errors = 0;
  const step = Math.max(1, Math.round(total / 10));
  return (r) => {
    done++;
    if (r.outcome === "error") errors++;
    if (done % step !== 0 && done !== total) return;
    const mib = sampler.samples.at(-1)?.rssMiB ?? NaN;
    log(`${done}/${total} requests, ${((now() - origin) / 1000).toFixed(0)} s, server RSS ${mib.toFixed(0)} MiB, errors so far ${errors}`);
  };
}

interface Run {
  warm: SoakRecord[];
  measured: SoakRecord[];
  /** Requests per round (a tenth of the measured run). */
  round: number;
  runStart: number;
  runEnd: number;
  statsAfter: EngineStats | undefined;
}

async function load(o: SoakOptions, server: SoakServer, origin: number, sampler: ProcSampler): Promise<Run> {
  const round = roundSize(o.requests);
  // Unique per run, so that no earlier run's timeline can ever join this one's requests.
  const idPrefix = `soak-${o.seed}-${Date.now().toString(36)}`;
  const plan = (prefix: string) => (i: number) => planRequest({ seed: o.seed, model: MODEL_NAME, idPrefix: prefix, round }, i);
  log(`warm-up: ${o.warmup} requests`);
  const warm = await runSoakLoad({ url: server.url, count: o.warmup, concurrency: o.concurrency, plan: plan(`${idPrefix}-warm`), origin });
  log(`run: ${o.requests} requests at concurrency ${o.concurrency}`);
  const runStart = now() - origin;
  const measured = await runSoakLoad({ url: server.url, count: o.requests, concurrency: o.concurrency, plan: plan(idPrefix), origin, onDone: progress(o.requests, origin, sampler) });
  const runEnd = now() - origin;
  return { warm, measured, round, runStart, runEnd, statsAfter: await engineStats(server.url) };
}

function setupLine(o: SoakOptions, modelPath: string): string {
  const cpu = cpus();
  return `${new Date().toISOString()}; node ${process.version}; ${cpu.length} CPUs (${cpu[0]?.model.trim() ?? "unknown"}); model ${basename(modelPath)} (tiny preset), default serve options; ${o.requests} requests at concurrency ${o.concurrency}, seed ${o.seed}, ${o.warmup} warm-up requests; max_tokens 1–32.`;
}

/**
 * Where the server writes its timeline file (~18 KB per request, 360 MB for
 * a full run): a memory-backed folder when the machine has one. Written to
 * disk, the file's writeback made the server's CPU per request swing by
 * ±30 % between stretches of the run, which the latency drift then measured.
 */
async function scratchDir(): Promise<string> {
  const memory = "/dev/shm";
  const base = await stat(memory).then((s) => (s.isDirectory() ? memory : tmpdir()), () => tmpdir());
  return mkdtemp(join(base, "llm-serving-soak-"));
}

/** Starts the server, sends the load, stops the server: whatever happens, the server is stopped before this returns or throws. */
async function serveAndLoad(o: SoakOptions, dir: string, modelPath: string, timelineFile: string): Promise<{ run: Run; exit: ServerExit; sampler: ProcSampler }> {
  const server = await startSoakServer({ modelPath, modelName: MODEL_NAME, timelineFile, logFile: join(dir, "server.log") });
  log(`server pid ${server.pid} at ${server.url}`);
  const origin = now();
  const sampler = new ProcSampler(server.pid, origin);
  sampler.start(SAMPLE_INTERVAL_MS);
  let run: Run | undefined;
  let failure: unknown;
  try {
    run = await load(o, server, origin, sampler);
  } catch (err) {
    failure = err;
  }
  sampler.stop();
  log("stopping the server (SIGTERM)");
  const exit = await server.stop();
  log(`the server exited with code ${exit.code}${exit.signal ? ` (signal ${exit.signal})` : ""} after ${(exit.shutdownMs / 1000).toFixed(2)} s`);
  if (exit.code !== 0) log(`the end of its log:\n${server.tail()}`);
  if (!run) throw failure;
  return { run, exit, sampler };
}

async function writeRecords(path: string, records: readonly SoakRecord[]): Promise<void> {
  await writeFile(path, "");
  for (let i = 0; i < records.length; i += 1000) await appendFile(path, records.slice(i, i + 1000).map((r) => `${JSON.stringify(r)}\n`).join(""));
}

async function main(): Promise<number> {
  let o: SoakOptions;
  try {
    o = parseSoakArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof SoakArgsError)) throw err;
    process.stderr.write(`bench:soak: ${err.message} (--help for the options)\n`);
    return 2;
  }
  if (o.help) {
    console.log(USAGE);
    return 0;
  }
  const benchStart = now();
  const dir = o.out ? resolve(o.out) : await mkdtemp(join(tmpdir(), "llm-serving-soak-"));
  await makeFolder(dir);
  log(`report files go to ${dir}`);
  const modelPath = await ensureSyntheticModel({ preset: "tiny", dtype: "Q8_0", seed: 0 }, (p) => log(`making the tiny model at ${p}`));
  const scratch = await scratchDir();
  const timelineFile = join(scratch, "timelines.jsonl");
  const { run, exit, sampler } = await serveAndLoad(o, dir, modelPath, timelineFile);

  const all = [...run.warm, ...run.measured];
  await writeRecords(join(dir, "records.jsonl"), all);
  log("joining the client's records with the server's timelines");
  const joined = await joinTimelines(all, timelineFile);
  const timelineBytes = (await stat(timelineFile).catch(() => ({ size: 0 }))).size;
  if (o.keepTimelines) await copyFile(timelineFile, join(dir, "timelines.jsonl"));
  await rm(scratch, { recursive: true, force: true });
  const { round } = run;
  const verdict = judgeSoak({ records: all, measured: run.measured, round, join: joined, samples: sampler.samples, statsAfter: run.statsAfter, exit });
  const result: SoakResult = {
    title: "bench:soak — llm-serving under a long mixed load",
    setup: setupLine(o, modelPath),
    requests: o.requests,
    concurrency: o.concurrency,
    warmup: o.warmup,
    all,
    measured: run.measured,
    round,
    runStart: run.runStart,
    runEnd: run.runEnd,
    benchS: (now() - benchStart) / 1000,
    samples: sampler.samples,
    timelineNote: `written to ${dirname(timelineFile).startsWith("/dev/shm") ? "memory (/dev/shm), so that disk writeback does not add noise" : "the temporary folder"}; ${o.keepTimelines ? "kept as timelines.jsonl" : "deleted after the join; --keep-timelines keeps it"}`,
    join: joined,
    exit,
    statsAfter: run.statsAfter,
    timelineBytes,
    verdict,
  };
  const summary = summaryOf(result, dir);
  const paths = await writeSoakReport(result, dir, summary);
  if (o.json) console.log(JSON.stringify(summary, null, 2));
  else printText(result, paths.markdown, paths.html);
  return verdict.pass ? 0 : 1;
}

/** What --json prints and summary.json holds: the figures, not the per-request records (records.jsonl has those). */
function summaryOf(r: SoakResult, dir: string): object {
  const v = r.verdict;
  return {
    pass: v.pass,
    criteria: v.criteria,
    setup: r.setup,
    requests: r.requests,
    concurrency: r.concurrency,
    warmup: r.warmup,
    durationS: (r.runEnd - r.runStart) / 1000,
    benchS: r.benchS,
    outcomes: v.outcomes,
    errors: v.errors,
    errorSamples: v.errorSamples,
    intended: { rejected: v.rejected, cancelled: v.cancelled, cancelMissed: v.cancelMissed },
    timelineOddities: r.join.oddities,
    lost: { lost: r.join.lost.length, duplicated: r.join.duplicated.length, unreadableLines: r.join.unreadableLines, unexpected: r.join.unexpected },
    cancels: r.join.cancels,
    badStatuses: v.badStatuses,
    latencyMs: v.latency,
    rssMiB: v.rss,
    server: { exit: r.exit, statsAfter: r.statsAfter, timelineLines: r.join.timelineLines, timelineBytes: r.timelineBytes },
    dir,
  };
}

function printText(r: SoakResult, markdown: string, html: string): void {
  const v = r.verdict;
  const { start, end } = v.latency;
  console.log(r.setup);
  console.log(`run: ${((r.runEnd - r.runStart) / 1000).toFixed(1)} s for ${r.requests} requests; whole bench ${r.benchS.toFixed(1)} s`);
  console.log(`outcomes: ${Object.entries(v.outcomes).map(([k, n]) => `${k} ${n}`).join(", ")}; planned cancels too late: ${v.cancelMissed}`);
  console.log(`cancelled requests' server statuses: ${Object.entries(r.join.cancels.statuses).map(([k, n]) => `${k} × ${n}`).join(", ") || "none"}`);
  console.log(`latency p50 ${start.p50.toFixed(1)} → ${end.p50.toFixed(1)} ms, p99 ${start.p99.toFixed(1)} → ${end.p99.toFixed(1)} ms; RSS ${v.rss.start.toFixed(1)} → ${v.rss.end.toFixed(1)} MiB (peak ${v.rss.peak.toFixed(1)})`);
  const cpu = (w: typeof start): string => (w.cpu ? `server ${w.cpu.server.toFixed(0)} %, client ${w.cpu.client.toFixed(0)} %, other processes ${w.cpu.others.toFixed(0)} %, server ${w.serverCpuPerRequestMs.toFixed(2)} ms CPU per request` : "not measured");
  console.log(`CPU (% of one core), first tenth: ${cpu(start)}; last tenth: ${cpu(end)}`);
  for (const c of v.criteria) console.log(`${c.pass ? "PASS" : "FAIL"}  ${c.name}: ${c.value} (target ${c.target})`);
  if (v.errorCount) for (const e of v.errorSamples) console.log(`  ${e}`);
  console.log(`${v.pass ? "PASS" : "FAIL"}; report: ${markdown} and ${html}`);
}

process.exitCode = await main();
