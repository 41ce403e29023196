/**
 * `llm-serving dashboard FILE`: the dashboard page on a timelines file
 * (serve --timeline-file writes one), after the server that made it is gone:
 * a small HTTP server for the page and the file, nothing else.
 */
import { access } from "node:fs/promises";
import { basename, resolve } from "node:path";
import type { Command } from "commander";
import Fastify from "fastify";
import { registerDashboardPage } from "../../server/routes/dashboardRoutes.js";
import { integerOption } from "../options.js";

export function registerDashboard(program: Command): void {
  program
    .command("dashboard")
    .description("open a timelines file (serve --timeline-file) in the dashboard, without a server running")
    .argument("<file>", "a JSONL file of request timelines")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--port <n>", "port (0: any free one)", integerOption("--port", 0, 65535), 8091)
    .action(async (file: string, o: { host: string; port: number }) => {
      const path = resolve(file);
      await access(path).catch(() => {
        throw new Error(`cannot read ${file}: no such file`);
      });
      const app = Fastify();
      registerDashboardPage(app, path);
      const url = await app.listen({ host: o.host, port: o.port });
      process.stderr.write(`the dashboard on ${basename(path)}: ${url}/dashboard?offline=${encodeURIComponent(basename(path))} (Ctrl-C to stop)\n`);
      const stop = (): void => void app.close().then(() => process.exit(0));
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}
