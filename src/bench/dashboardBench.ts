/**
 * `npm run bench:dashboard`: what watching costs. One timed server on the
 * tiny preset takes the same load (8 concurrent streamed requests) in
 * alternating rounds with a watcher attached and without: the watcher asks
 * what the dashboard page asks (GET /debug/stream, read as it comes, GET
 * /debug/steps every second and GET /debug/distributions every 5 s).
 * Reports the paired throughput ratio watched / unwatched (target ≥ 0.99)
 * with a 95 % confidence interval of that median (so that a noisy
 * machine's verdict says when it is undecided), and the server CPU per
 * token either way. A benchmark, not a test: run it on a quiet machine.
 */
import { ensureSyntheticModel } from "../model/defaultModel.js";
import { benchArgs } from "./benchArgs.js";
import { startBenchServer, type BenchServer } from "./benchServer.js";
import { medianInterval, quantile } from "./stats.js";
import { burst, type Burst } from "./streamBurst.js";

/** Starts what the open page does; returns its stop. */
function watch(server: BenchServer): () => Promise<void> {
  const controller = new AbortController();
  let events = 0;
  const feed = (async () => {
    const res = await fetch(`${server.url}/debug/stream`, { signal: controller.signal });
    const reader = res.body!.getReader();
    for (;;) {
      const { done } = await reader.read();
      if (done) return;
      events++;
    }
  })().catch(() => undefined);
  const get = (path: string): void => void fetch(`${server.url}${path}`, { signal: controller.signal }).then((r) => r.arrayBuffer()).catch(() => undefined);
  const polls = [setInterval(() => get("/debug/steps?seconds=5"), 1000), setInterval(() => get("/debug/distributions"), 5000)];
  return async () => {
    for (const poll of polls) clearInterval(poll);
    controller.abort();
    await feed;
    if (events === 0) throw new Error("the watcher got no events: the bench measured nothing");
  };
}

async function watched(server: BenchServer, batch: number, tokens: number): Promise<Burst> {
  const stop = watch(server);
  await new Promise((r) => setTimeout(r, 300)); // the feed is running before the load starts
  try {
    return await burst(server, batch, tokens);
  } finally {
    await stop();
  }
}

async function main(): Promise<void> {
  const { rounds, tokens, batch } = benchArgs({ rounds: 30, tokens: 256, batch: 8 });
  const model = await ensureSyntheticModel({ preset: "tiny", dtype: "Q8_0", seed: 0 });
  const server = await startBenchServer(model, "tiny-watched", ["--rows", String(batch)]);
  try {
    for (let i = 0; i < 3; i++) await burst(server, batch, tokens); // warm-up
    const ratios: number[] = [];
    const cpu = { watched: { ms: 0, tokens: 0 }, alone: { ms: 0, tokens: 0 } };
    console.log(`# bench:dashboard — tiny preset, batch ${batch}, ${tokens} tokens per request, ${rounds} alternating rounds, node ${process.version}, ${new Date().toISOString()}\n`);
    console.log("| round | watched tok/s | unwatched tok/s | watched / unwatched |\n|---:|---:|---:|---:|");
    for (let r = 0; r < rounds; r++) {
      const watchedFirst = r % 2 === 0;
      const a = watchedFirst ? await watched(server, batch, tokens) : await burst(server, batch, tokens);
      const b = watchedFirst ? await burst(server, batch, tokens) : await watched(server, batch, tokens);
      const [w, u] = watchedFirst ? [a, b] : [b, a];
      ratios.push(w.rate / u.rate);
      cpu.watched.ms += w.cpuMs;
      cpu.watched.tokens += w.tokens;
      cpu.alone.ms += u.cpuMs;
      cpu.alone.tokens += u.tokens;
      console.log(`| ${r + 1} | ${w.rate.toFixed(1)} | ${u.rate.toFixed(1)} | ${ratios[r].toFixed(4)} |`);
    }
    const ns = (c: { ms: number; tokens: number }): number => (c.ms * 1e6) / c.tokens;
    const ci = medianInterval(ratios);
    console.log(`\nthroughput watched / unwatched, median of the paired rounds: ${quantile(ratios, 0.5).toFixed(4)} (target ≥ 0.99)`);
    console.log(`95 % confidence interval of that median (distribution-free): ${ci.low.toFixed(4)} … ${ci.high.toFixed(4)}${ci.low >= 0.99 ? " — the target holds" : ci.high < 0.99 ? " — the target is missed" : " — too wide to decide: run more rounds"}`);
    console.log(`server CPU per generated token: watched ${ns(cpu.watched).toFixed(0)} ns, unwatched ${ns(cpu.alone).toFixed(0)} ns (10 ms tick resolution, summed over all rounds)`);
  } finally {
    await server.stop();
  }
}

await main();
