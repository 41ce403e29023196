/** One burst of load for the timing benches: `batch` concurrent streamed TGI requests of `tokens` tokens each, with the server's CPU over it. */
import type { BenchServer } from "./benchServer.js";

export interface Burst {
  /** tokens per second */
  rate: number;
  tokens: number;
  /** server CPU time, ms */
  cpuMs: number;
}

export async function burst(server: BenchServer, batch: number, tokens: number): Promise<Burst> {
  const body = JSON.stringify({ inputs: "How much do the time points cost?", parameters: { max_new_tokens: tokens, ignore_eos: true } });
  const cpuBefore = server.cpuMs();
  const started = performance.now();
  const generated = await Promise.all(
    Array.from({ length: batch }, async () => {
      const res = await fetch(`${server.url}/generate_stream`, { method: "POST", headers: { "content-type": "application/json" }, body });
      const text = await res.text();
      return text.split("\n\n").filter((e) => e.startsWith("data:")).length;
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const total = generated.reduce((a, b) => a + b, 0);
  return { rate: total / seconds, tokens: total, cpuMs: server.cpuMs() - cpuBefore };
}
