/**
 * `npm run bench:http`: the time the HTTP server adds to the engine's own.
 * Starts `llm-serving serve` on the tiny preset in a child process, sends
 * requests one at a time, and reads each request's timeline back from
 * /debug/requests/{id} (server and engine marks on the server's one clock):
 *
 * - max_new_tokens = 1, not streamed: added = server time (received →
 *   response_ended) − engine time (queued → finished);
 * - streamed: per token, written − delivered (engine event → socket), and
 *   the whole request's added time divided by its tokens.
 *
 * A benchmark, not a test: run it on a quiet machine.
 */
import { ensureSyntheticModel } from "../model/defaultModel.js";
import { startBenchServer } from "./benchServer.js";
import { engineMs, type ServerTimeline as Timeline } from "./serverRecords.js";
import { benchArgs } from "./benchArgs.js";
import { largest, smallest } from "../analysis/fit.js";
import { fixed as f, quantile } from "./stats.js";

async function timed(url: string, path: string, id: string, body: object): Promise<{ clientMs: number; timeline: Timeline }> {
  const started = performance.now();
  const res = await fetch(url + path, { method: "POST", headers: { "content-type": "application/json", "x-request-id": id }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  const clientMs = performance.now() - started;
  if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
  const timeline = (await (await fetch(`${url}/debug/requests/${id}`)).json()) as Timeline;
  return { clientMs, timeline };
}

function row(name: string, values: number[]): string {
  return `| ${name} | ${f(quantile(values, 0.5))} | ${f(quantile(values, 0.9))} | ${f(quantile(values, 0.99))} | ${f(smallest(values))} | ${f(largest(values))} |`;
}

async function main(): Promise<void> {
  const { requests: n, streams, tokens } = benchArgs({ requests: 300, streams: 60, tokens: 64 });
  const model = await ensureSyntheticModel({ preset: "tiny", dtype: "Q8_0", seed: 0 });
  const server = await startBenchServer(model, "tiny", ["--rows", "8"]);
  const url = server.url;
  try {
    const one = { inputs: "How long does the server take?", parameters: { max_new_tokens: 1 } };
    for (let i = 0; i < 30; i++) await timed(url, "/generate", `warm-${i}`, one); // JIT and sockets warm

    const added: number[] = [];
    const engine: number[] = [];
    const server: number[] = [];
    const client: number[] = [];
    for (let i = 0; i < n; i++) {
      const { clientMs, timeline } = await timed(url, "/generate", `one-${i}`, one);
      added.push(timeline.durations.e2e - engineMs(timeline));
      engine.push(engineMs(timeline));
      server.push(timeline.durations.e2e);
      client.push(clientMs);
    }

    const perTokenWrite: number[] = [];
    const perTokenAdded: number[] = [];
    const streamBody = { inputs: "Stream a while.", parameters: { max_new_tokens: tokens, ignore_eos: true } };
    for (let i = 0; i < streams; i++) {
      const { timeline } = await timed(url, "/generate_stream", `stream-${i}`, streamBody);
      for (const t of timeline.tokens) if (t.written !== null && t.delivered !== null) perTokenWrite.push(t.written - t.delivered);
      perTokenAdded.push((timeline.durations.e2e - engineMs(timeline)) / timeline.tokens.length);
    }

    console.log(`# bench:http — tiny preset, node ${process.version}, ${new Date().toISOString()}\n`);
    console.log(`## max_new_tokens = 1, not streamed (TGI /generate), ${n} requests one at a time\n`);
    console.log("| ms | p50 | p90 | p99 | min | max |\n|---|---:|---:|---:|---:|---:|");
    console.log(row("server added (server − engine)", added));
    console.log(row("engine (queued → finished)", engine));
    console.log(row("server (received → response_ended)", server));
    console.log(row("client round trip", client));
    console.log(`\n## streamed (TGI /generate_stream), ${streams} requests × ${tokens} tokens\n`);
    console.log("| ms | p50 | p90 | p99 | min | max |\n|---|---:|---:|---:|---:|---:|");
    console.log(row("per token: delivered → written", perTokenWrite));
    console.log(row("per token: (server − engine) / tokens", perTokenAdded));
    console.log("\nTargets: server added p50 ≤ 2 ms at max_new_tokens = 1; added per streamed token p50 ≤ 0.1 ms.");
  } finally {
    await server.stop();
  }
}

await main();
