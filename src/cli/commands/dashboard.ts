/**
 * `llm-serving dashboard FILE…`: the dashboard page on files from disk —
 * a server's timelines (serve --timeline-file) and a load client's records
 * (bench / sweep --records), joined by request id — after the server that
 * made them is gone: a small HTTP server for the page and the files,
 * nothing else.
 */
import { readFile } from "node:fs/promises";
import { basename, resolve } from "node:path";
import type { Command } from "commander";
import Fastify from "fastify";
import { registerDashboardPage } from "../../server/routes/dashboardRoutes.js";
import { integerOption } from "../options.js";

/**
 * Whether a file holds at least one line the page can draw: a JSON object
 * with a request id and a server's durations or a client's send time (the
 * page tells the two apart and skips other lines; src/dashboard/offlineRecords.ts).
 */
function holdsRequests(text: string): boolean {
  return text.split("\n").some((line) => {
    if (!line.trimStart().startsWith("{")) return false;
    try {
      const v = JSON.parse(line) as Record<string, unknown>;
      return typeof v.id === "string" && (v.durations !== undefined || typeof v.sent === "number");
    } catch {
      return false;
    }
  });
}

export function registerDashboard(program: Command): void {
  program
    .command("dashboard")
    .description("open timelines (serve --timeline-file) and client records (bench --records) in the dashboard, without a server running")
    .argument("<files...>", "JSONL files: request timelines, client records, or both")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--port <n>", "port (0: any free one)", integerOption("--port", 0, 65535), 8091)
    .action(async (files: string[], o: { host: string; port: number }) => {
      const paths = files.map((f) => resolve(f));
      // Read once now, so that a missing file, a folder or an unreadable one is said here rather than in the page.
      for (const [i, path] of paths.entries()) {
        const text = await readFile(path, "utf8").catch((err: NodeJS.ErrnoException) => {
          throw new Error(`cannot read ${files[i]}: ${err.code === "ENOENT" ? "no such file" : err.code === "EISDIR" ? "it is a folder" : err.message}`);
        });
        if (!holdsRequests(text)) throw new Error(`${files[i]}: no request timelines or client records in it (JSONL from serve --timeline-file or bench --records)`);
      }
      const app = Fastify();
      registerDashboardPage(app, paths);
      const url = await app.listen({ host: o.host, port: o.port });
      const names = paths.map((p) => basename(p)).join(" + ");
      process.stderr.write(`the dashboard on ${names}: ${url}/dashboard?offline=${encodeURIComponent(names)} (Ctrl-C to stop)\n`);
      const stop = (): void => void app.close().then(() => process.exit(0));
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}
