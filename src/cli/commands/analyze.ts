/** `llm-serving analyze`: joins the client's records with the server's timelines and explains where the time went. */
import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { analyze } from "../../analysis/analyze.js";
import { htmlReport, markdownReport } from "../../analysis/report.js";
import { readClientRecords } from "../../bench/clientRecords.js";
import { serverIdOf } from "../../bench/LoadClient.js";
import { fetchTimelines, loadTimelines } from "../../bench/serverRecords.js";
import { numberOption, urlOption } from "../options.js";

interface AnalyzeFlags {
  records: string;
  url?: string;
  timelines?: string;
  k: number;
  report?: string;
  html?: string;
}

export function registerAnalyze(program: Command): void {
  program
    .command("analyze")
    .description("join client records with the server's timelines: fit, reconciliation, overhead parts, outliers")
    .requiredOption("--records <file.jsonl>", "the client's records (bench --records, sweep --records)")
    .option("--url <url>", "read the server's timelines from its /debug/requests/{id}", urlOption("--url"))
    .option("--timelines <file.jsonl>", "read the server's timelines from its --timeline-file")
    .option("--k <k>", "outliers: residual beyond k × MAD", numberOption("--k"), 5)
    .option("--report <file.md>", "write the Markdown report here (default: print it)")
    .option("--html <file.html>", "write the self-contained HTML report here")
    .action(run);
}

async function run(flags: AnalyzeFlags): Promise<void> {
  if (!flags.url === !flags.timelines) throw new Error("give the server's timelines: --url or --timelines (one of them)");
  const records = await readClientRecords(flags.records);
  const timelines = flags.timelines ? await loadTimelines(flags.timelines) : await fetchTimelines(flags.url!, records.map(serverIdOf));
  const input = { analysis: analyze(records, timelines, { k: flags.k }), source: flags.records };
  const markdown = markdownReport(input);
  if (flags.report) await writeFile(flags.report, markdown);
  else process.stdout.write(markdown);
  if (flags.html) await writeFile(flags.html, htmlReport(input));
}
