/**
 * The server under soak: `llm-serving serve` in a child process on the given
 * model (benchServer.ts starts it), writing every finished timeline to a
 * file, its stderr kept in a log file for the report. Stopping it is part of
 * the test: SIGTERM, then the exit code and how long the shutdown took.
 */
import { createWriteStream } from "node:fs";
import { startServe, type ServerChild, type ServerExit } from "./benchServer.js";

export interface SoakServerOptions {
  modelPath: string;
  modelName: string;
  timelineFile: string;
  logFile: string;
}

export interface SoakServer {
  url: string;
  pid: number;
  /** The log's last lines, for error messages. */
  tail(): string;
  stop(): Promise<ServerExit>;
}

export async function startSoakServer(o: SoakServerOptions): Promise<SoakServer> {
  const logFile = createWriteStream(o.logFile);
  let server: ServerChild;
  try {
    server = await startServe(o.modelPath, o.modelName, ["--timeline-file", o.timelineFile], (d) => logFile.write(d));
  } catch (err) {
    logFile.end();
    throw err;
  }
  return {
    url: server.url,
    pid: server.child.pid!,
    tail: server.tail,
    async stop(): Promise<ServerExit> {
      const exit = await server.stop();
      await new Promise<void>((resolve) => logFile.end(resolve));
      return exit;
    },
  };
}
