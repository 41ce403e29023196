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
// The page's own reader (DOM-free): compiled here too, by the server's build, beside the page's build of it.
import { readOfflineRun } from "../../dashboard/offlineRecords.js";
import { registerDashboardPage } from "../../server/routes/dashboardRoutes.js";
import { integerOption } from "../options.js";

/**
 * Why the page could not draw a file, or undefined when it can: read as the
 * page reads it (JSON lines or one JSON array, server timelines and client
 * records told apart), so that the command line refuses what the page would.
 */
function unreadable(text: string): string | undefined {
  try {
    const run = readOfflineRun([text]);
    return run.servers + run.clients > 0 ? undefined : "no request timelines or client records in it";
  } catch (err) {
    return `not JSON lines or a JSON array (${(err as Error).message})`;
  }
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
        const why = unreadable(text);
        if (why !== undefined) throw new Error(`${files[i]}: ${why} (JSONL from serve --timeline-file or bench --records)`);
      }
      const app = Fastify();
      registerDashboardPage(app, paths);
      const names = paths.map((p) => basename(p)).join(" + ");
      const page = `/dashboard?offline=${encodeURIComponent(names)}`;
      // The address alone, as users type it, opens the page rather than a 404.
      app.get("/", (_request, reply) => reply.redirect(page));
      const url = await app.listen({ host: o.host, port: o.port });
      process.stderr.write(`the dashboard on ${names}: ${url}${page} (Ctrl-C to stop)\n`);
      const stop = (): void => void app.close().then(() => process.exit(0));
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}
