/**
 * `llm-serving analyze`: explains where the time went, from whatever was
 * measured — client records (with our server's timelines, with the timings
 * the backend reported, or alone), a table of measurements, a step log, a
 * known step time — and says what the data cannot tell.
 */
import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { explain, type ExplainInput } from "../../analysis/explain.js";
import { readStepLogForT, type StepLogFormat } from "../../analysis/input/stepLog.js";
import { describeTable, readTable } from "../../analysis/input/table.js";
import { htmlReport, markdownReport } from "../../analysis/report.js";
import { readClientRecords, readRecordsFile } from "../../bench/clientRecords.js";
import { completed, serverIdOf } from "../../bench/LoadClient.js";
import { fetchTimelines, loadTimelines } from "../../bench/serverRecords.js";
import { collectOption, numberOption, onceOption, urlOption } from "../options.js";

interface AnalyzeFlags {
  records?: string;
  url?: string;
  timelines?: string;
  table?: string;
  lengthColumn?: string;
  e2eColumn?: string;
  units?: string;
  span?: string[];
  ignoreColumn?: string[];
  stepLog?: string;
  stepFormat?: string;
  stepMs?: number;
  k: number;
  report?: string;
  html?: string;
}

export function registerAnalyze(program: Command): void {
  program
    .command("analyze")
    .description("explain where the time went: from client records (with or without server timelines or backend timings), or a table; with a step log or a known step time")
    .option("--records <file.jsonl>", "the client's records (bench --records, sweep --records), against any server")
    .option("--url <url>", "with --records: read our server's timelines from its /debug/requests/{id}", urlOption("--url"))
    .option("--timelines <file.jsonl>", "with --records: read our server's timelines from its --timeline-file", onceOption("--timelines", "one server's --timeline-file: a gateway's and its backend's records share the request ids, analyze one hop at a time"))
    .option("--table <file>", "a table of measurements instead: CSV, TSV or Markdown, one row per request or per length")
    .option("--length-column <name>", "with --table: the output-length column (default: detected)")
    .option("--e2e-column <name>", "with --table: the end-to-end time column (default: detected)")
    .option("--units <ms|s>", "with --table: the unit of time columns that do not name one (default: detected)")
    .option("--span <header=label>", "with --table: a server-side column to show, and its label (repeatable)", collectOption)
    .option("--ignore-column <name>", "with --table: a column not to read (repeatable)", collectOption)
    .option("--step-log <file>", "a per-step trace from a server's log (the study's format, or ours at --log-level debug)")
    .option("--step-format <study|llm-serving>", "the step log's format (default: detected)")
    .option("--step-ms <ms>", "a known time per token, when there is no step log", numberOption("--step-ms"))
    .option("--k <k>", "outliers and events: beyond k × MAD", numberOption("--k"), 5)
    .option("--report <file.md>", "write the Markdown report here (default: print it)")
    .option("--html <file.html>", "write the self-contained HTML report here")
    .action(run);
}

function check(flags: AnalyzeFlags): void {
  if (!flags.records === !flags.table) throw new Error("give what was measured: --records FILE or --table FILE (one of them)");
  if (flags.url && flags.timelines) throw new Error("give the server's timelines once: --url or --timelines");
  if (flags.table && (flags.url || flags.timelines)) throw new Error("--url and --timelines go with --records, not with --table");
  if (flags.units !== undefined && flags.units !== "ms" && flags.units !== "s") throw new Error(`--units must be ms or s, got "${flags.units}"`);
  if (flags.stepFormat !== undefined && flags.stepFormat !== "study" && flags.stepFormat !== "llm-serving") throw new Error(`--step-format must be study or llm-serving, got "${flags.stepFormat}"`);
  if (flags.stepMs !== undefined && !(flags.stepMs > 0)) throw new Error(`--step-ms must be a positive number of ms, got ${flags.stepMs}`);
  if (flags.stepMs !== undefined && flags.stepLog) throw new Error("give the time per token once: --step-log or --step-ms");
}

async function tableInput(flags: AnalyzeFlags): Promise<ExplainInput["table"]> {
  const data = readTable(await readRecordsFile(flags.table!, "the table"), {
    length: flags.lengthColumn,
    e2e: flags.e2eColumn,
    units: flags.units as "ms" | "s" | undefined,
    spans: flags.span?.join(","),
    ignore: flags.ignoreColumn,
    optionNames: { length: "--length-column", e2e: "--e2e-column" },
  });
  return { data, source: `${flags.table}: ${describeTable(data)}` };
}

async function recordsInput(flags: AnalyzeFlags): Promise<ExplainInput["records"]> {
  const list = await readClientRecords(flags.records!);
  const timelines = flags.timelines ? await loadTimelines(flags.timelines) : flags.url ? await fetchTimelines(flags.url, list.map(serverIdOf)) : undefined;
  // Asked for and none came: the join is what they are for (a --timelines file that holds other ids is refused by the join
  // itself). Records that all failed are said as such by explain, first.
  if (timelines?.size === 0 && list.some(completed)) {
    const where = flags.url ? `${flags.url} has no timeline for ${list.length === 1 ? "the record" : `any of the ${list.length} records`} (GET /debug/requests/{id} answered nothing: is it our server, with timing on, and are the records from a run against it?)` : `${flags.timelines} holds no timeline`;
    throw new Error(`join rate 0 %: ${where}`);
  }
  const streamed = list.filter((r) => r.stream).length;
  const withBackend = list.filter((r) => r.backend).length;
  const server = timelines ? `, with ${timelines.size} server timelines from ${flags.timelines ?? flags.url}` : "";
  return { list, timelines, source: `${flags.records}: ${list.length} client records (${streamed} streamed, ${withBackend} with timings the backend reported)${server}.` };
}

async function stepLogInput(path: string, format: StepLogFormat | undefined): Promise<ExplainInput["stepLog"]> {
  return { ...readStepLogForT(await readRecordsFile(path, "the step log"), format), source: path };
}

async function run(flags: AnalyzeFlags): Promise<void> {
  check(flags);
  const stepLog = flags.stepLog ? await stepLogInput(flags.stepLog, flags.stepFormat as StepLogFormat | undefined) : undefined;
  const explanation = explain({ table: flags.table ? await tableInput(flags) : undefined, records: flags.records ? await recordsInput(flags) : undefined, stepLog, stepMs: flags.stepMs, k: flags.k });
  const input = { explanation };
  const markdown = markdownReport(input);
  if (flags.report) await writeFile(flags.report, markdown);
  else process.stdout.write(markdown);
  if (flags.html) await writeFile(flags.html, htmlReport(input));
}
