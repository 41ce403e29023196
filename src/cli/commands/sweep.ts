/** `llm-serving sweep`: the study's measurement, by output length, one request at a time. */
import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import cliProgress from "cli-progress";
import { explain } from "../../analysis/explain.js";
import { htmlReport, markdownReport } from "../../analysis/report.js";
import { writeClientRecords } from "../../bench/clientRecords.js";
import { protocol } from "../../bench/protocols.js";
import { formatSweep, runSweep, STUDY_LENGTHS } from "../../bench/sweep.js";
import { integerOption, numberOption } from "../options.js";
import { assertSomeSucceeded, targetModel, targetOptions, type TargetFlags } from "./target.js";

interface SweepFlags extends TargetFlags {
  lengths: string;
  repetitions: number;
  stream?: boolean;
  prompt: string;
  records?: string;
  report?: string;
  html?: string;
  k: number;
  progress: boolean;
}

export function registerSweep(program: Command): void {
  targetOptions(program.command("sweep"))
    .description("the study's sweep: output lengths one request at a time; tables by length and per step")
    .option("--lengths <list>", "output lengths", STUDY_LENGTHS.join(","))
    .option("--repetitions <r>", "requests per length", integerOption("--repetitions", 1), 3)
    .option("--stream", "stream the responses (default: whole responses, like curl)")
    .option("--prompt <text>", "the prompt", "Where did the time go?")
    .option("--records <file.jsonl>", "write the client's records")
    .option("--report <file.md>", "also analyze, and write the Markdown report here")
    .option("--html <file.html>", "also analyze, and write the HTML report here")
    .option("--k <k>", "outliers: residual beyond k × MAD", numberOption("--k"), 5)
    .option("--no-progress", "no progress bar")
    .action(sweep);
}

async function sweep(flags: SweepFlags): Promise<void> {
  const lengths = flags.lengths.split(",").map((x) => Number(x.trim()));
  if (lengths.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--lengths must be positive integers, got "${flags.lengths}"`);
  const model = await targetModel(flags);
  const total = lengths.length * flags.repetitions;
  const bar = flags.progress ? new cliProgress.SingleBar({ stream: process.stderr, format: "sweep [{bar}] {value}/{total} requests" }, cliProgress.Presets.shades_classic) : undefined;
  bar?.start(total, 0);
  const result = await runSweep({ url: flags.url, protocol: protocol(flags.protocol), model, lengths, repetitions: flags.repetitions, stream: flags.stream === true, prompt: flags.prompt, onDone: () => bar?.increment() });
  bar?.stop();
  if (flags.records) await writeClientRecords(flags.records, result.records);
  const tables = formatSweep(result);
  process.stdout.write(`${tables}\n`);
  // Nothing to analyze: the report files would only hide the failure.
  assertSomeSucceeded(result.records);
  if (flags.report || flags.html) {
    const explanation = explain({ records: { list: result.records, source: `a sweep of ${flags.url}: ${result.records.length} requests, ${result.timelines.size > 0 ? `${result.timelines.size} of their timelines from the server` : "no timelines from the server (GET /debug/requests/{id} answered nothing)"}`, timelines: result.timelines }, k: flags.k });
    const input = { explanation, preface: tables };
    if (flags.report) await writeFile(flags.report, markdownReport(input));
    if (flags.html) await writeFile(flags.html, htmlReport(input));
  }
}
