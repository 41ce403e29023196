/**
 * `npm run bench:dashboard`: what watching costs. One timed server on the
 * tiny preset takes the same load (8 concurrent streamed requests) in
 * alternating rounds with a watcher attached and without: the watcher asks
 * what the dashboard page asks (GET /debug/stream, read as it comes, GET
 * /debug/steps every second for the steps after the newest it has, and GET
 * /debug/distributions every 5 s). The watcher's opening (the page's load,
 * its first full step window and charts) is done before each watched
 * round's load starts: what is measured is a dashboard left open.
 * Reports the paired throughput ratio watched / unwatched (target ≥ 0.99)
 * with a 95 % confidence interval of that median (so that a noisy
 * machine's verdict says when it is undecided), the server CPU per token
 * either way, and the server's own count of its time on the feeds
 * (llm_serving_debug_view_seconds_total) per second watched and while
 * nobody watched. --page watches with the page itself in headless Chromium
 * instead; --control watches with nothing (an A/A run: what the bench reads
 * when watching costs nothing, its own bias and spread), and with --page
 * opens a blank page in the same browser (what the browser costs with
 * nothing to draw). A benchmark, not a test: run it on a quiet machine.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { ensureSyntheticModel } from "../model/defaultModel.js";
import { benchArgs } from "./benchArgs.js";
import { startBenchServer, type BenchServer } from "./benchServer.js";
import { medianInterval, quantile } from "./stats.js";
import { burst, type Burst } from "./streamBurst.js";

/** Starts watching; resolves to its stop. */
type Watch = (server: BenchServer) => Promise<() => Promise<void>>;

/** Asks what the open page asks, with fetch (the page's own drawing is not the server's cost, and would share this machine's cores). */
async function fetchWatch(server: BenchServer): Promise<() => Promise<void>> {
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
  // As the page: the steps after the newest one it holds.
  let after = 0;
  const steps = (): Promise<unknown> =>
    fetch(`${server.url}/debug/steps?seconds=5&after=${after}`, { signal: controller.signal })
      .then((r) => r.json() as Promise<{ steps: Array<{ id: number }> }>)
      .then((w) => (after = Math.max(after, ...w.steps.map((s) => s.id))))
      .catch(() => undefined);
  const distributions = (): Promise<unknown> => fetch(`${server.url}/debug/distributions`, { signal: controller.signal }).then((r) => r.json()).catch(() => undefined);
  // As the page does once it is live: the whole step window and the charts, at once (opening is not watching: this is done before the load starts).
  await Promise.all([steps(), distributions()]);
  // Then each poll at a random phase of its period, so that over the rounds it is asked during the load as often as the page asks it.
  const timers: NodeJS.Timeout[] = [];
  for (const [poll, period] of [[steps, 1000], [distributions, 5000]] as const) {
    timers.push(
      setTimeout(() => {
        void poll();
        timers.push(setInterval(() => void poll(), period));
      }, Math.random() * period),
    );
  }
  return async () => {
    for (const t of timers) clearTimeout(t); // clears intervals too
    controller.abort();
    await feed;
    if (events === 0) throw new Error("the watcher got no events: the bench measured nothing");
  };
}

/** --control: a watcher that asks nothing; the rounds are otherwise the same. */
const noWatch: Watch = async () => async () => undefined;

/** The server's own count of its time on the dashboard's feeds (llm_serving_debug_view_seconds_total, all views), ms. */
async function viewMs(server: BenchServer): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  let total = 0;
  for (const m of text.matchAll(/^llm_serving_debug_view_seconds_total\{[^}]*\} (\S+)$/gm)) total += Number(m[1]) * 1000;
  return total;
}

interface WatchedBurst extends Burst {
  /** The server's time on the feeds meanwhile, and how long it was watched, ms. */
  viewMs: number;
  watchedMs: number;
}

/**
 * --page: the page itself, in headless Chromium (Debian's, or CHROMIUM_PATH;
 * playwright-core is a dev dependency, loaded only here). The browser's
 * rendering runs on this machine's cores too: the ratio then holds the
 * browser's cost as well as the server's.
 */
async function pageWatch(blank: boolean): Promise<{ watch: Watch; close: () => Promise<void> }> {
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
  const watch: Watch = async (server) => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    if (blank) {
      // --page --control: the same browser and page, with nothing in it.
      await page.goto("about:blank");
      return () => page.close();
    }
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector("#connection.live", { timeout: 10_000 });
    // Opening is not watching: the page's first step window and charts (the whole window at once, a thousand bars) are drawn before the load starts.
    await page.waitForSelector("#steps svg path.step", { timeout: 15_000 });
    await page.waitForSelector("[data-chart=itl]", { timeout: 15_000 });
    // The page asks for the charts every 5 s from their first drawing: the load starts at a random phase of that, as the fetch watcher's polls do.
    await sleep(Math.random() * 5000);
    return () => page.close();
  };
  return { watch, close: () => browser.close() };
}

/** The feeds' count once it stands still: the server learns of a watcher's leaving a moment after it leaves. */
async function settledViewMs(server: BenchServer): Promise<number> {
  for (let last = await viewMs(server); ; ) {
    await sleep(300); // longer than the stream's period
    const next = await viewMs(server);
    if (next === last) return next;
    last = next;
  }
}

async function watched(server: BenchServer, watch: Watch, batch: number, tokens: number): Promise<WatchedBurst> {
  const stop = await watch(server);
  // Counted from here: a page's loading is not watching.
  const [before, started] = [await viewMs(server), performance.now()];
  await sleep(300); // the feed is running before the load starts
  let result: Burst;
  try {
    result = await burst(server, batch, tokens);
  } finally {
    await stop();
  }
  const watchedMs = performance.now() - started;
  await sleep(500); // a closed page's renderer exits before the next round
  return { ...result, viewMs: (await settledViewMs(server)) - before, watchedMs };
}

async function main(): Promise<void> {
  const { rounds, tokens, batch, page, control } = benchArgs({ rounds: 30, tokens: 256, batch: 8 }, ["page", "control"]);
  const model = await ensureSyntheticModel({ preset: "tiny", dtype: "Q8_0", seed: 0 });
  const server = await startBenchServer(model, "tiny-watched", ["--rows", String(batch)]);
  const browser = page ? await pageWatch(control) : undefined;
  const watch = browser?.watch ?? (control ? noWatch : fetchWatch);
  try {
    for (let i = 0; i < 3; i++) await burst(server, batch, tokens); // warm-up
    const ratios: number[] = [];
    const cpu = { watched: { ms: 0, tokens: 0 }, alone: { ms: 0, tokens: 0 } };
    console.log(`# bench:dashboard — tiny preset, batch ${batch}, ${tokens} tokens per request, ${rounds} alternating rounds, watched by ${page ? (control ? "a blank page in headless Chromium (--control)" : "the page in headless Chromium") : control ? "nothing (--control, an A/A run)" : "fetch, asking what the page asks"}, node ${process.version}, ${new Date().toISOString()}\n`);
    console.log("| round | watched tok/s | unwatched tok/s | watched / unwatched |\n|---:|---:|---:|---:|");
    const view = { ms: 0, watchedMs: 0, unwatchedMs: 0 };
    const alone = async (): Promise<Burst> => {
      const before = await viewMs(server);
      await sleep(300); // as idle before its load as a watched round
      const result = await burst(server, batch, tokens);
      view.unwatchedMs += (await viewMs(server)) - before;
      return result;
    };
    for (let r = 0; r < rounds; r++) {
      let w: WatchedBurst;
      let u: Burst;
      if (r % 2 === 0) {
        w = await watched(server, watch, batch, tokens);
        u = await alone();
      } else {
        u = await alone();
        w = await watched(server, watch, batch, tokens);
      }
      view.ms += w.viewMs;
      view.watchedMs += w.watchedMs;
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
    const verdict = Number.isNaN(ci.low) ? "too few rounds for one (at least 6)" : `${ci.low.toFixed(4)} … ${ci.high.toFixed(4)}${ci.low >= 0.99 ? " — the target holds" : ci.high < 0.99 ? " — the target is missed" : " — too wide to decide: run more rounds"}`;
    console.log(`95 % confidence interval of that median (distribution-free): ${verdict}`);
    console.log(`server CPU per generated token: watched ${ns(cpu.watched).toFixed(0)} ns, unwatched ${ns(cpu.alone).toFixed(0)} ns (10 ms tick resolution, summed over all rounds)`);
    console.log(`the server's own time on the feeds (llm_serving_debug_view_seconds_total): ${((view.ms / view.watchedMs) * 1000).toFixed(2)} ms per second watched (${((view.ms / view.watchedMs) * 100).toFixed(3)} % of its main thread); ${view.unwatchedMs.toFixed(3)} ms in all while nobody watched`);
  } finally {
    await browser?.close();
    await server.stop();
  }
}

await main();
