/** llama.cpp's llama-server in a child process, as a benchmark runs it: started on a free port, waited for, measured, stopped. */
import { benchServerOf, spawnServer, type BenchServer } from "./benchServer.js";

export interface LlamaServerOptions {
  binary: string;
  /** A command it runs under (e.g. ["taskset", "-c", "0"]: pinned to core 0). */
  under?: readonly string[];
  model: string;
  threads: number;
  /** Slots (parallel sequences). */
  slots: number;
  /** Tokens per slot: the server's context is slots × this. */
  perSlot: number;
}

/**
 * Resolves once the model is loaded: with --port 0, llama-server binds a
 * free port and says "listening on http://…" once it is ready
 * (tools/server/server.cpp, after the model has loaded).
 */
export async function startLlamaServer(o: LlamaServerOptions): Promise<BenchServer> {
  const args = ["-m", o.model, "--host", "127.0.0.1", "--port", "0", "-t", String(o.threads), "-tb", String(o.threads), "-np", String(o.slots), "-c", String(o.slots * o.perSlot), "--no-webui"];
  const [command, ...prefix] = [...(o.under ?? []), o.binary];
  const server = await spawnServer(command, [...prefix, ...args], {
    name: "llama-server",
    // Up to the line's end: a chunk of stderr may end inside the URL.
    ready: (stderr) => /listening on (http:\/\/\S+)\s/.exec(stderr)?.[1],
    startTimeoutMs: 60_000,
  });
  return benchServerOf(server);
}
