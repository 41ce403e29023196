/**
 * `npm run bench:client`: the load client's own overhead. It sends requests
 * at a planned rate (200/s by default) to a simulated server that answers at
 * once (instantServer.js, in its own process), so that whatever lag there is
 * between a planned and an actual send is the client's own. Reports the send
 * lag (sent − planned) and the round trip, for each arrival pattern, streamed
 * and not. The acceptance figure: send lag p99 below 1 ms at 200 requests/s.
 *
 * A benchmark, not a test: run it on a quiet machine.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { arrivalPlan, type ArrivalPattern } from "./arrivals.js";
import { LoadClient } from "./LoadClient.js";
import { protocol } from "./protocols.js";
import { benchArgs } from "./benchArgs.js";
import { largest } from "../analysis/fit.js";
import { fixed as f, quantile } from "./stats.js";

async function startInstantServer(): Promise<{ url: string; stop(): void }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL("./instantServer.js", import.meta.url))], { stdio: ["ignore", "pipe", "inherit"] });
  const [line] = (await once(child.stdout!, "data")) as [Buffer];
  return { url: line.toString().trim(), stop: () => child.kill("SIGTERM") };
}

async function run(url: string, pattern: ArrivalPattern, stream: boolean, rate: number, seconds: number): Promise<string> {
  const count = Math.round(rate * seconds);
  const cpu = process.cpuUsage();
  const records = await new LoadClient({
    url,
    protocol: protocol("llm-serving"),
    model: "instant",
    prompts: [{ prompt: "the client's own overhead" }],
    maxTokens: 1,
    count,
    stream,
    ignoreEos: false,
    greedy: true,
    plan: arrivalPlan({ rate, pattern, count, seed: 1 }),
  }).run();
  const cpuUsed = process.cpuUsage(cpu);
  const cpuPct = ((cpuUsed.user + cpuUsed.system) / 1000 / (records.at(-1)!.end - records[0].planned)) * 100;
  const errors = records.filter((r) => r.error).length;
  const lag = records.map((r) => r.sent - r.planned);
  const rtt = records.map((r) => r.end - r.sent);
  const achieved = (count - 1) / ((records.at(-1)!.sent - records[0].sent) / 1000);
  return `| ${pattern} | ${stream ? "yes" : "no"} | ${count} | ${errors} | ${achieved.toFixed(1)} | ${f(quantile(lag, 0.5))} | ${f(quantile(lag, 0.9))} | ${f(quantile(lag, 0.99))} | ${f(largest(lag))} | ${f(quantile(rtt, 0.5))} | ${f(quantile(rtt, 0.99))} | ${cpuPct.toFixed(0)} |`;
}

async function main(): Promise<void> {
  const { rate, seconds } = benchArgs({ rate: 200, seconds: 10 });
  const server = await startInstantServer();
  try {
    console.log(`load client against an instantly answering simulated server, ${rate} requests/s for ${seconds} s per row (ms)\n`);
    console.log("| arrivals | streamed | requests | errors | achieved req/s | send lag p50 | p90 | p99 | max | round trip p50 | p99 | client CPU % |");
    console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const pattern of ["constant", "poisson"] as const) {
      for (const stream of [false, true]) console.log(await run(server.url, pattern, stream, rate, seconds));
    }
  } finally {
    server.stop();
  }
}

await main();
