/** llama.cpp's llama-server in a child process, as a benchmark runs it: started on a free port, waited for, measured, stopped. */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import type { BenchServer } from "./benchServer.js";
import { processCpuMs } from "./benchServer.js";

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

export interface LlamaServerOptions {
  binary: string;
  model: string;
  threads: number;
  /** Slots (parallel sequences). */
  slots: number;
  /** Tokens per slot: the server's context is slots × this. */
  perSlot: number;
}

/** Resolves once /health answers 200 (the model is loaded). */
export async function startLlamaServer(o: LlamaServerOptions): Promise<BenchServer> {
  const port = await freePort();
  const args = ["-m", o.model, "--host", "127.0.0.1", "--port", String(port), "-t", String(o.threads), "-tb", String(o.threads), "-np", String(o.slots), "-c", String(o.slots * o.perSlot), "--no-webui"];
  const child: ChildProcess = spawn(o.binary, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`llama-server exited (${child.exitCode}): ${stderr.trim().split("\n").at(-1)}`);
    const ok = await fetch(`${url}/health`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`llama-server did not become healthy in 60 s: ${stderr.trim().split("\n").at(-1)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    cpuMs: () => processCpuMs(child.pid!),
    async stop() {
      child.kill("SIGTERM");
      if (child.exitCode === null) await once(child, "exit");
    },
  };
}
