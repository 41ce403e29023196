/**
 * `npm run bench:dashboard`: what watching costs. One timed server on the
 * tiny preset takes the same load (8 concurrent streamed requests) in
 * alternating rounds with a watcher attached and without: the watcher asks
 * what the dashboard page asks (GET /debug/stream, read as it comes — its
 * snapshots carry the new engine steps — and GET /debug/distributions every
 * 5 s). The watcher's opening (the page's load,
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
 * nothing to draw). --pin (Linux) gives the server core 0 alone and puts
 * this load client and the browser on the others: what watching costs the
 * server itself, apart from a browser's drawing on the server's cores. A
 * benchmark, not a test: run it on a quiet machine.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ensureSyntheticModel } from "../model/defaultModel.js";
import { argError, benchArgs } from "./benchArgs.js";
import { startBenchServer, type BenchServer } from "./benchServer.js";
import { pinning, pinProcess } from "./corePinning.js";
import { treeCpuMs } from "./procStat.js";
import { intervalVerdict, medianInterval, quantile } from "./stats.js";
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
  const distributions = (): Promise<unknown> => fetch(`${server.url}/debug/distributions`, { signal: controller.signal }).then((r) => r.json()).catch(() => undefined);
  // As the page does once it is live: the charts at once (opening is not watching: this is done before the load starts).
  await distributions();
  // Then every 5 s from a random phase, so that over the rounds it is asked during the load as often as the page asks it.
  const timers: NodeJS.Timeout[] = [];
  timers.push(
    setTimeout(() => {
      void distributions();
      timers.push(setInterval(() => void distributions(), 5000));
    }, Math.random() * 5000),
  );
  return async () => {
    for (const t of timers) clearTimeout(t); // clears intervals too
    controller.abort();
    await feed;
    if (events === 0) throw new Error("the watcher got no events: the bench measured nothing");
  };
}

/** --control: a watcher that asks nothing; the rounds are otherwise the same. */
const noWatch: Watch = async () => async () => undefined;

/** The server's own count of its time on the dashboard's feeds (llm_serving_debug_view_seconds_total), ms: all of them, or one (it grows each time that feed is asked). */
async function viewMs(server: BenchServer, view = "[^\"]*"): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  let total = 0;
  for (const m of text.matchAll(new RegExp(`^llm_serving_debug_view_seconds_total\\{view="${view}"\\} (\\S+)$`, "gm"))) total += Number(m[1]) * 1000;
  return total;
}

interface WatchedBurst extends Burst {
  /** The server's time on the feeds meanwhile, and how long it was watched, ms. */
  viewMs: number;
  watchedMs: number;
}

/** The browser's CPU while it watched, ms, all its processes. */
interface BrowserCpu {
  ms: number;
}

/** A headless Chromium (Debian's, or CHROMIUM_PATH) that opens and closes tabs when asked over its DevTools HTTP endpoint, and attaches to none of them. */
interface Tabs {
  pid: number;
  open(url: string): Promise<string>;
  close(id: string): Promise<void>;
  quit(): Promise<void>;
}

/**
 * `idle`: the browser and all its processes in Linux's SCHED_IDLE class
 * (`chrt --idle 0`), so that they run only on a core nothing else wants and
 * give it up at once when the server or the load client wakes. That stands
 * for the browser on a machine of its own, as a dashboard is watched: the
 * server still serves the page, its stream and its charts, and the browser
 * still reads and draws all of it, but its drawing no longer takes a core
 * from the server on this one.
 */
async function startTabs(idle: boolean): Promise<Tabs> {
  const executable = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  const profile = await mkdtemp(join(tmpdir(), "llm-serving-bench-chromium-"));
  const flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", `--user-data-dir=${profile}`, "--window-size=1400,900", "--remote-debugging-port=0"];
  // chrt execs the browser, so the pid is the browser's and the class is inherited by every process it starts.
  const [command, args] = idle ? ["chrt", ["--idle", "0", executable, ...flags, "about:blank"]] : [executable, [...flags, "about:blank"]];
  const browser = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
  // Settles when it has gone, whether it exited or could not be started (no such file): never rejects.
  const gone = new Promise<void>((resolve) => {
    browser.once("exit", () => resolve());
    browser.once("error", () => resolve());
  });
  const quit = async (): Promise<void> => {
    browser.kill();
    const killer = setTimeout(() => browser.kill("SIGKILL"), 5000);
    await gone;
    clearTimeout(killer);
    await rm(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  };
  let endpoint: string;
  try {
    endpoint = await new Promise<string>((resolve, reject) => {
      let text = "";
      const read = (chunk: Buffer): void => {
        text += chunk.toString();
        const m = /DevTools listening on ws:\/\/([^/\s]+)\//.exec(text);
        if (!m) return;
        browser.stderr!.off("data", read);
        browser.stderr!.resume(); // the rest (complaints: no D-Bus here) is read and dropped
        resolve(`http://${m[1]}`);
      };
      browser.stderr!.on("data", read);
      browser.once("error", (err) => reject(new Error(`${command} could not be started: ${err.message} (${command === executable ? "set CHROMIUM_PATH, or apt-get install chromium" : "--idle-browser needs chrt, from util-linux"})`)));
      void gone.then(() => reject(new Error(`${executable} exited before it listened: ${text.slice(-500)}`)));
      setTimeout(() => reject(new Error(`${executable} did not say where it listens within 20 s`)), 20_000).unref();
    });
  } catch (err) {
    await quit();
    throw err;
  }
  const ask = async (path: string, method: string): Promise<Response> => {
    const res = await fetch(`${endpoint}${path}`, { method });
    if (!res.ok) throw new Error(`${executable}: ${method} ${path} answered ${res.status}`);
    return res;
  };
  return {
    pid: browser.pid!,
    open: async (url) => ((await (await ask(`/json/new?${url}`, "PUT")).json()) as { id: string }).id,
    close: async (id) => void (await ask(`/json/close/${id}`, "GET")),
    quit,
  };
}

/**
 * --page: the page itself, in a tab of headless Chromium opened for each
 * watched round and closed after it. No DevTools session is attached to the
 * tab: an automation client such as playwright has the browser report every
 * network event to it, each chunk of the stream too, a cost that nobody
 * watching has. The page is live when it asks for its charts (the server's
 * count of its time on that feed grows), and the load starts once the
 * browser has settled. The browser runs on this machine's cores too: the
 * ratio holds its cost as well as the server's, and its own CPU is reported
 * beside it.
 */
function pageWatch(tabs: Tabs, blank: boolean, browserCpu: BrowserCpu): Watch {
  return async (server) => {
    const asked = await viewMs(server, "distributions");
    const started = performance.now();
    const tab = await tabs.open(blank ? "about:blank" : `${server.url}/dashboard`);
    // Opening is not watching: the page's first snapshot (its whole step window) and its charts are drawn before the load starts.
    while (!blank && (await viewMs(server, "distributions")) === asked) {
      if (performance.now() - started > 20_000) {
        await tabs.close(tab);
        throw new Error("the page did not go live within 20 s");
      }
      await sleep(100);
    }
    // Then the tab's opening is over: the browser under 15 % of a core for half a second.
    for (let last = treeCpuMs(tabs.pid); performance.now() - started < 20_000; ) {
      await sleep(500);
      const next = treeCpuMs(tabs.pid);
      if (next - last < 75) break;
      last = next;
    }
    // The page asks for the charts every 5 s from their first drawing: the load starts at a random phase of that, as the fetch watcher's polls do.
    await sleep(Math.random() * 5000);
    const from = treeCpuMs(tabs.pid);
    return async () => {
      browserCpu.ms += treeCpuMs(tabs.pid) - from;
      await tabs.close(tab);
    };
  };
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
  await sleep(500); // a closed tab's renderer exits before the next round
  return { ...result, viewMs: (await settledViewMs(server)) - before, watchedMs };
}

async function main(): Promise<void> {
  const { rounds, tokens, batch, page, control, "idle-browser": idle, pin } = benchArgs({ rounds: 30, tokens: 256, batch: 8 }, ["page", "control", "idle-browser", "pin"]);
  if (idle && !page) argError("--idle-browser is an option of --page");
  const model = await ensureSyntheticModel({ preset: "tiny", dtype: "Q8_0", seed: 0 });
  // Pinned, this process and all it starts from here on (the browser, the server until it is moved) are on the other cores.
  const pins = pin ? pinning() : undefined;
  // The browser first: one that cannot start leaves no server behind.
  const tabs = page ? await startTabs(idle) : undefined;
  const server = await startBenchServer(model, "tiny-watched", ["--rows", String(batch)]).catch(async (err: unknown) => {
    await tabs?.quit();
    throw err;
  });
  // Once it is up, every thread it has (its decode thread too) on core 0; the threads it starts later inherit it.
  if (pins) pinProcess(server.pid, "0");
  const browserCpu: BrowserCpu = { ms: 0 };
  const watch = tabs ? pageWatch(tabs, control, browserCpu) : control ? noWatch : fetchWatch;
  try {
    for (let i = 0; i < 3; i++) await burst(server, batch, tokens); // warm-up
    const ratios: number[] = [];
    const cpu = { watched: { ms: 0, tokens: 0 }, alone: { ms: 0, tokens: 0 } };
    console.log(`# bench:dashboard — tiny preset, batch ${batch}, ${tokens} tokens per request, ${rounds} alternating rounds, watched by ${page ? `${control ? "a blank page in headless Chromium (--control)" : "the page in headless Chromium"}${idle ? " at idle priority (--idle-browser)" : ""}` : control ? "nothing (--control, an A/A run)" : "fetch, asking what the page asks"}${pins ? `; the server on core 0 alone, this load client${page ? " and the browser" : ""} on cores ${pins.rest} (--pin)` : ""}, node ${process.version}, ${new Date().toISOString()}\n`);
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
    const said = intervalVerdict(ci, "≥", 0.99);
    const verdict = said === "too few" ? "too few rounds for one (at least 6)" : `${ci.low.toFixed(4)} … ${ci.high.toFixed(4)}${said === "holds" ? " — the target holds" : said === "missed" ? " — the target is missed" : " — too wide to decide: run more rounds"}`;
    console.log(`95 % confidence interval of that median (distribution-free): ${verdict}`);
    console.log(`server CPU per generated token: watched ${ns(cpu.watched).toFixed(0)} ns, unwatched ${ns(cpu.alone).toFixed(0)} ns (10 ms tick resolution, summed over all rounds)`);
    console.log(`the server's own time on the feeds (llm_serving_debug_view_seconds_total): ${((view.ms / view.watchedMs) * 1000).toFixed(2)} ms per second watched (${((view.ms / view.watchedMs) * 100).toFixed(3)} % of its main thread); ${view.unwatchedMs.toFixed(3)} ms in all while nobody watched`);
    if (page) console.log(`the browser's CPU while it watched: ${((browserCpu.ms / view.watchedMs) * 100).toFixed(1)} % of a core, ${ns({ ms: browserCpu.ms, tokens: cpu.watched.tokens }).toFixed(0)} ns per generated token (all its processes)`);
  } finally {
    try {
      await tabs?.quit();
    } finally {
      await server.stop();
    }
  }
}

await main();
