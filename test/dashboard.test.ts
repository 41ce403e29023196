/**
 * The live dashboard in real browsers, each suite run in Debian's chromium
 * and in Debian's firefox-esr (test/helpers/browsers.ts; a missing browser
 * fails its suite): it loads without console errors, a request the test
 * makes appears in the live list within a second, its waterfall (opened from
 * the keyboard, the row keeping its focus through the list's redraws) draws
 * the named spans in order at the page's scale (within 1 px per ms of its
 * timeline), the step timeline and the charts, a forced GC inside a request
 * shows on its waterfall, remote engines have their table and charts, and
 * the live feed costs nothing while nobody watches. Files opened on the page
 * are in dashboardFiles.test.ts. Screenshots go to docs/dashboard-*.png,
 * from chromium, when DASHBOARD_SCREENSHOTS is set.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { BACKEND_DEFAULTS } from "../src/engines/remote/RemoteBackend.js";
import { BROWSERS } from "./helpers/browsers.js";
import { closedPort } from "./helpers/closedPort.js";
import { dashboardPage } from "./helpers/dashboardPage.js";
import { forceGc } from "./helpers/forceGc.js";
import { jsonOf, postJson, startTestServer, waitFor, type TestServer } from "./helpers/serverHarness.js";

/** What the in-page code below uses of the page's globals: the tests compile without the DOM's types. */
interface InPageElement {
  isConnected: boolean;
  focus(): void;
}
declare const document: { body: InPageElement; querySelector(selector: string): InPageElement | null; dispatchEvent(event: Event): boolean };

for (const b of BROWSERS) {
  describe(`the dashboard, in ${b.name}`, () => {
    const d = dashboardPage(b);
    const { errors, shots: SHOTS } = d;
    let s: TestServer;
    let page: Page;
    before(() => {
      s = d.server;
      page = d.page;
    });

    it("loads from GET / with no console errors and goes live", async () => {
      const index = await (await fetch(s.url, { headers: { accept: "text/html" } })).text();
      assert.match(index, /\/dashboard/);
      await page.goto(`${s.url}/dashboard`);
      await page.waitForSelector("#connection.live", { timeout: 5000 });
      assert.equal(await page.textContent("#model"), "llama2");
      assert.equal(await page.innerText("#now-title"), "Now");
      assert.equal(await page.innerText("#steps-title"), "Engine steps, last 5 s");
      assert.deepEqual(errors, []);
      // Only the page's own files are served.
      for (const path of ["..%2F..%2F..%2Fpackage.json", "app.ts", "index.html.map", "nothing.js"]) assert.equal((await fetch(`${s.url}/dashboard/${path}`)).status, 404, path);
    });

    it("a request made now is in the live list within 1 s, first running, then among the recent ones", async () => {
      const started = Date.now();
      // Long enough (~1 s on the tiny model, more on a loaded machine) to be caught running by a snapshot every 500 ms.
      const pending = postJson(`${s.url}/generate`, { inputs: "watch me", parameters: { max_new_tokens: 1500, ignore_eos: true } }, { "x-request-id": "dash-running" });
      await page.waitForSelector('#running tr[data-id="dash-running"]', { timeout: 1000 });
      assert.ok(Date.now() - started < 1000 + 500);
      // Chosen while it runs, its waterfall follows it to its end.
      await page.click('#running tr[data-id="dash-running"]');
      await page.mouse.move(0, 0); // off the lists: they hold still under the pointer
      await page.waitForSelector("#waterfall-summary:has-text('still running')", { timeout: 2000 });
      assert.equal((await pending).status, 200);
      await page.waitForSelector('#recent tr[data-id="dash-running"]', { timeout: 1000 });
      await page.waitForSelector("#waterfall-summary:has-text('status 200 ·')", { timeout: 3000 });
      if (SHOTS) await page.screenshot({ path: join(SHOTS, "dashboard-now.png"), fullPage: true });
    });

    it("a live list holds still while the pointer is on it", async () => {
      await page.hover('#recent tr[data-id="dash-running"]');
      await postJson(`${s.url}/generate`, { inputs: "wait for me", parameters: { max_new_tokens: 4 } }, { "x-request-id": "dash-held" });
      await page.waitForSelector("#recent.paused", { timeout: 2000 });
      await page.waitForTimeout(1100); // two snapshots and more
      assert.equal(await page.$('#recent tr[data-id="dash-held"]'), null, "not inserted under the pointer");
      await page.mouse.move(0, 0);
      await page.waitForSelector('#recent:not(.paused) tr[data-id="dash-held"]', { timeout: 1500 });
    });

    it("a request's waterfall: the named spans in order, each as wide as its duration at the page's scale", async () => {
      await postJson(`${s.url}/generate`, { inputs: "draw me", parameters: { max_new_tokens: 12 } }, { "x-request-id": "dash-drawn" });
      await page.waitForSelector('#recent tr[data-id="dash-drawn"]', { timeout: 2000 });
      // Focused and taken in one call, as the list may be redrawn between two; the next snapshot redraws it under the focused row.
      const row = await page.evaluateHandle((selector) => {
        const tr = document.querySelector(selector);
        tr?.focus();
        return tr;
      }, '#recent tr[data-id="dash-drawn"]');
      assert.ok(await row.evaluate((r) => r !== null));
      // A newer request moves every row of the list down one: the focus stays on the request, wherever its row is now.
      await postJson(`${s.url}/generate`, { inputs: "shift the list", parameters: { max_new_tokens: 2 } }, { "x-request-id": "dash-shift" });
      await page.waitForSelector('#recent tbody tr:first-child[data-id="dash-shift"]', { timeout: 2000 });
      assert.deepEqual(await page.$$eval("tr:focus", (trs) => trs.map((tr) => tr.getAttribute("data-id"))), ["dash-drawn"], "focus kept through a redraw");
      await page.keyboard.press("Enter"); // keyboard: rows open like links
      await page.waitForSelector("#waterfall svg rect[data-span]");
      const drawn = await page.$$eval("#waterfall svg", ([svg]) => ({
        scale: Number(svg.getAttribute("data-scale")),
        rects: [...svg.querySelectorAll("rect[data-span]")].map((r) => ({ name: r.getAttribute("data-span")!, start: Number(r.getAttribute("data-start")), width: Number(r.getAttribute("width")), x: Number(r.getAttribute("x")) })),
      }));
      const record = await jsonOf(fetch(`${s.url}/debug/requests/dash-drawn`));
      const spans = record.span.children as Array<{ name: string; start: number; dur: number }>;
      assert.equal(drawn.rects.length, spans.length, "every span is drawn");
      assert.deepEqual(drawn.rects.map((r) => r.name), spans.map((sp) => sp.name), "in the timeline's order");
      for (const n of ["receive", "validate", "tokenize", "enqueue", "queue", "step", "respond"]) assert.ok(drawn.rects.some((r) => r.name === n), `span ${n} is drawn`);
      spans.forEach((sp, i) => {
        const expected = sp.dur * drawn.scale;
        assert.ok(Math.abs(drawn.rects[i].width - Math.max(expected, 0.5)) <= 1, `${sp.name}: ${drawn.rects[i].width} px for ${sp.dur} ms at ${drawn.scale} px/ms`);
      });
      // Each starts where the previous ended (consecutive spans), left to right.
      for (let i = 1; i < drawn.rects.length; i++) assert.ok(drawn.rects[i].x >= drawn.rects[i - 1].x - 1e-6);
      assert.match((await page.textContent("#waterfall-summary")) ?? "", /12 output tokens/);
      if (SHOTS) await page.screenshot({ path: join(SHOTS, "dashboard-waterfall.png"), fullPage: true });
    });

    it("the step timeline lists the chosen request on the steps that carried it, and only those", async () => {
      // A request of its own, chosen now: its steps are well inside the page's last 5 s however slow the tests before were.
      await postJson(`${s.url}/generate`, { inputs: "step me", parameters: { max_new_tokens: 12 } }, { "x-request-id": "dash-stepped" });
      await page.waitForSelector('#recent tr[data-id="dash-stepped"]', { timeout: 2000 });
      await page.click('#recent tr[data-id="dash-stepped"]');
      await page.mouse.move(0, 0); // off the list: it holds still while the pointer is on it
      await page.waitForSelector("#waterfall svg rect[data-span=step]");
      const record = await jsonOf(fetch(`${s.url}/debug/requests/dash-stepped`));
      const carried = (record.steps as Array<{ id: number }>).map((st) => st.id);
      const outlined = async (): Promise<Array<{ step: number; requests: string[] }>> => page.$$eval("#steps rect.step.mine", (rects) => rects.map((r) => ({ step: Number(r.getAttribute("data-step")), requests: r.getAttribute("data-requests")!.split(" ") })));
      // The timeline refreshes with each snapshot (twice a second): a refresh that came while the request ran holds only its first steps.
      let mine: Array<{ step: number; requests: string[] }> = [];
      await waitFor(async () => (mine = await outlined()).length >= carried.length, "every step of the request outlined", 3000);
      assert.deepEqual(mine.map((m) => m.step).sort((a, b) => a - b), carried.sort((a: number, b: number) => a - b));
      assert.ok(mine.every((m) => m.requests.includes("dash-stepped")));
      // The other bars are one path per kind: the step under the pointer, or under the keyboard's cursor, says what it carried in the tip.
      // "" while there is none: the tip is made at the first hover, which a loaded browser may not have handled yet.
      const tipText = async (): Promise<string> => (await page.$$eval("#steps .step-tip", (ts) => ts.map((t) => (t.hasAttribute("hidden") ? "" : t.textContent ?? "")).join("")));
      // The marks of consecutive steps overlap (each at least a pixel wide, the steps a fraction of one apart): the one under the pointer is one of the request's.
      // A prefill step's tip says so after its number: "step 12 (prompt): …".
      const hoverTip = /^step (\d+)[ :].*\n(.*\n)*dash-stepped/;
      const lastBar = `#steps rect.step.mine[data-step="${Math.max(...carried)}"]`;
      let hovered: RegExpExecArray | null = null;
      // Each snapshot redraws the bars, moved on by half a second, until the pointer is on them (then they hold still):
      // a bar found just before a redraw has no box, or is elsewhere by the time the pointer gets there. So: look it up afresh and point again.
      for (let attempt = 0; attempt < 5 && !hovered; attempt++) {
        const b = await (await page.$(lastBar))?.boundingBox();
        if (b) {
          await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
          await waitFor(async () => hoverTip.test(await tipText()), "the tip of the step under the pointer", 1500).catch(() => undefined);
          hovered = hoverTip.exec(await tipText());
        } else await page.waitForTimeout(100);
      }
      assert.ok(hovered && carried.includes(Number(hovered[1])), `the tip says: ${await tipText()}`);
      await page.mouse.move(0, 0);
      await page.focus("#steps svg");
      // With the focus on it the timeline holds still (its bars would move with each snapshot under the cursor).
      await page.waitForSelector("#steps.paused", { timeout: 3000 });
      const tipStep = async (): Promise<number> => Number(/^step (\d+)/.exec(await tipText())?.[1]);
      await page.keyboard.press("ArrowRight"); // the newest step
      for (let i = 0; i < 50 && (await tipStep()) > Math.max(...carried); i++) await page.keyboard.press("ArrowLeft");
      assert.equal(await tipStep(), Math.max(...carried), "the arrow keys reach the request's last step");
      assert.match(await tipText(), /dash-stepped/);
      await page.keyboard.press("ArrowLeft");
      if (carried.length > 1) assert.equal(await tipStep(), Math.max(...carried) - 1);
      await page.keyboard.press("Enter");
      await page.waitForSelector(`#step-detail[data-step="${(await tipStep())}"]:not([hidden])`, { timeout: 2000 });
      await page.keyboard.press("Escape");
      assert.equal(await tipText(), "");
      assert.equal((await fetch(`${s.url}/debug/steps?seconds=0`)).status, 400);
      // A step opens from either view — its bar here, its span on the waterfall (by keyboard too) — and lists the requests it carried, each a button to its waterfall.
      const [first, last] = [Math.min(...carried), Math.max(...carried)];
      // Steps of the tiny model are under a pixel wide and overlap: the click goes to the bar itself, not to a point on the screen.
      await page.dispatchEvent(`#steps rect.step[data-step="${first}"]`, "click");
      await page.waitForSelector(`#step-detail[data-step="${first}"]:not([hidden]) button[data-request="dash-stepped"]`, { timeout: 2000 });
      await page.focus(`#waterfall rect[data-step="${last}"]`);
      await page.keyboard.press("Enter");
      await page.waitForSelector(`#step-detail[data-step="${last}"] button[data-request="dash-stepped"]`, { timeout: 2000 });
      const detail = (await page.textContent("#step-detail")) ?? "";
      const lastStep = (record.steps as Array<{ id: number; rows: number; requests: Array<{ id: string; position: number }> }>).find((st) => st.id === last)!;
      const position = lastStep.requests.find((r) => r.id === "dash-stepped")!.position;
      assert.match(detail, new RegExp(`^Step ${last}: [\\d.]+ ms, batch ${lastStep.rows}, decode [\\d.]+ ms \\(stages, ms: .*decode [\\d.]+.*\\)\\. It carried:dash-stepped \\(decode at ${position}\\)`));
      if (SHOTS) await page.screenshot({ path: join(SHOTS, "dashboard-steps.png"), fullPage: true });
      await page.click(`#step-detail button[data-request="dash-stepped"]`);
      await page.waitForSelector("#step-detail[hidden]", { state: "attached", timeout: 2000 }); // the request's waterfall is drawn anew
    });

    it("the charts: TTFT, inter-token gap and e2e histograms of the last minute, decode time by batch size and by context, the queue over time", async () => {
      // The charts a snapshot changes are drawn while they are in view: scrolled to, as a reader would.
      await page.locator("#charts").scrollIntoViewIfNeeded();
      // Requests have ended in the last minute (the tests above); the histograms refresh every 5 s.
      await page.waitForSelector("[data-chart=itl] rect.bar", { timeout: 7000 });
      const d = await jsonOf(fetch(`${s.url}/debug/distributions`));
      for (const chart of ["ttft", "itl", "e2e"]) {
        // The chart's title says how many values it holds: its bars add up to that. Both read at once, as a refresh may come between two reads.
        const { counts, title } = await page.$eval(`[data-chart=${chart}]`, (svg) => ({
          counts: Array.from(svg.querySelectorAll("rect.bar"), (r) => Number((r as { getAttribute(name: string): string | null }).getAttribute("data-value"))),
          title: svg.getAttribute("aria-label") ?? "",
        }));
        const n = Number(/\((\d+)\)$/.exec(title)?.[1]);
        assert.ok(n > 0, `${chart}: ${title}`);
        assert.equal(counts.reduce((a, b) => a + b, 0), n, `${chart}: the bars hold every value`);
      }
      // Every gap of every token of the requests drawn: far more gaps than requests.
      assert.ok(d.itl_ms.n > d.e2e_ms.n, `${d.itl_ms.n} gaps from ${d.e2e_ms.n} requests`);
      assert.ok((await page.$$("[data-chart=queue] polyline")).length === 2, "running and waiting lines");
      assert.ok((await page.$$("[data-chart=throughput] polyline")).length === 1, "a throughput line");
      // The axis is the two minutes the title names, however long the page has been open (it said "−0 s" at first).
      assert.ok((await page.textContent("[data-chart=throughput]"))!.includes("−2 min"));
      // The throughput now is counted from the tokens' delivery times: a request streaming now shows in it.
      const busy = postJson(`${s.url}/generate`, { inputs: "count me", parameters: { max_new_tokens: 480, ignore_eos: true } });
      let seen = 0;
      const feed = await fetch(`${s.url}/debug/stream`);
      const reader = feed.body!.getReader();
      for (let i = 0; i < 8 && seen === 0; i++) {
        const chunk = new TextDecoder().decode((await reader.read()).value);
        const m = /"tokens_last_second":(\d+)/.exec(chunk);
        if (m) seen = Number(m[1]);
      }
      await reader.cancel();
      await busy;
      assert.ok(seen > 0, "tokens in the last second while a request streams");
      // The long request's decode steps went from its prompt's end to ~480 tokens further: the chart buckets them by context, in order.
      const buckets = async (): Promise<Array<{ ms: number; range: number[] }>> =>
        (await page.$$eval("[data-chart=decode-by-context] rect.bar", (rects) => rects.map((r) => ({ ms: Number(r.getAttribute("data-value")), tip: r.querySelector("title")?.textContent ?? "" })))).map((b) => ({ ms: b.ms, range: /^context (\d+)–(\d+): /.exec(b.tip)!.slice(1).map(Number) }));
      let drawn: Array<{ ms: number; range: number[] }> = [];
      // Each live chart is redrawn while it is in view: this one, scrolled to.
      await page.locator("#chart-context").scrollIntoViewIfNeeded();
      // The step timeline (and this chart) refresh with each snapshot: wait for one drawn after the request ended.
      await waitFor(async () => {
        drawn = await buckets();
        return drawn.length >= 4 && drawn[drawn.length - 1].range[1] - drawn[0].range[0] >= 400;
      }, "the decode-by-context chart spans the request's ~480 decode positions", 4000);
      const ranges = drawn.map((b) => b.range);
      assert.ok(ranges.every(([from, to], i) => from <= to && (i === 0 || from > ranges[i - 1][1])), `ordered, disjoint buckets: ${JSON.stringify(ranges)}`);
      assert.ok(drawn.every((b) => b.ms > 0));
      if (SHOTS) await page.screenshot({ path: join(SHOTS, "dashboard-charts.png"), fullPage: true });
    });

    it("a forced GC inside a request shows on its waterfall", async () => {
      const pending = postJson(`${s.url}/generate`, { inputs: "collect me", parameters: { max_new_tokens: 300, ignore_eos: true } }, { "x-request-id": "dash-gc" });
      await waitFor(async () => ((await jsonOf(fetch(`${s.url}/debug/requests/dash-gc`).catch(() => new Response("{}")))).points?.first_token ?? null) !== null, "the request to be decoding", 5000);
      forceGc();
      await pending;
      await page.goto(`${s.url}/dashboard?request=dash-gc`);
      await page.waitForSelector("#waterfall svg rect[data-event=gc]", { timeout: 5000 });
      assert.deepEqual(errors, []);
    });


    it("in front of remote engines: each engine in the engines table, a relayed request's waterfall with its hop's spans", async () => {
      // "gone": a port nothing listens on (a socket bound and closed), its health check refused.
      const gone = await closedPort();
      const gw = await startTestServer({
        modelName: "llama2",
        engines: [
          { ...BACKEND_DEFAULTS, name: "upstream", url: s.url, kind: "openai", model: "llama2", healthIntervalMs: 200 },
          { ...BACKEND_DEFAULTS, name: "gone", url: `http://127.0.0.1:${gone}`, kind: "openai", model: "llama2", healthIntervalMs: 200 },
        ],
      });
      try {
        await gw.server.engine.ready;
        await page.goto(`${gw.url}/dashboard`);
        await page.waitForSelector('#engines tr[data-engine="upstream"]', { timeout: 3000 });
        const cells = await page.$$eval('#engines tr[data-engine="upstream"] td', (tds) => tds.map((td) => td.textContent));
        assert.deepEqual(cells.slice(0, 3), ["upstream", "openai", "up"]);
        assert.equal(cells.at(-1), "");
        // The engine that is out says why; its message is cut to fit the column, the whole of it in the cell's title.
        await page.waitForSelector('#engines tr[data-engine="gone"]', { timeout: 3000 });
        const why = await page.$eval('#engines tr[data-engine="gone"] td:last-child', (td) => ({ text: td.textContent, title: td.getAttribute("title")}));
        assert.match(why.text ?? "", /^out: health check failed: ECONNREFUSED/);
        assert.equal(why.title, why.text);
        const table = await page.$eval("#engines", (t) => ({ table: t.getBoundingClientRect().width, box: t.closest("section")!.clientWidth }));
        assert.ok(table.table <= table.box, `the engines table (${table.table} px) fits its column (${table.box} px)`);
        // No steps, batches or KV cache here: the page says so instead of showing empty panels.
        await page.waitForSelector("#steps[hidden]", { state: "attached", timeout: 3000 });
        assert.match((await page.textContent("#steps-note")) ?? "", /^No engine steps here: every engine is remote\./);
        assert.deepEqual(await page.$$eval("#gauges dt", (dts) => dts.map((d) => d.textContent)), ["state", "running", "waiting"]);
        await postJson(`${gw.url}/generate`, { inputs: "relay me", parameters: { max_new_tokens: 4 } }, { "x-request-id": "dash-relayed" });
        await page.goto(`${gw.url}/dashboard?request=dash-relayed`);
        await page.waitForSelector("#waterfall svg rect[data-span=stream]");
        const names = await page.$$eval("#waterfall svg rect[data-span]", (rects) => rects.map((r) => r.getAttribute("data-span")));
        for (const n of ["connect", "send", "wait", "stream"]) assert.ok(names.includes(n), `span ${n}`);
        assert.match((await page.textContent("#waterfall-summary")) ?? "", /engine upstream/);
        // The engine's own charts: its latencies, and its requests' time split across the hop.
        await page.waitForSelector('#engine-charts [data-chart=hop-parts][data-engine="upstream"] rect.bar', { timeout: 3000 });
        assert.equal(await page.getAttribute('#engine-charts [data-chart=engine-e2e][data-engine="upstream"]', "aria-label"), "upstream: e2e (1)");
        const parts = await page.$$eval('[data-chart=hop-parts][data-engine="upstream"] rect.bar', (rects) => rects.map((r) => ({ ms: Number(r.getAttribute("data-value")), tip: r.querySelector("title")?.textContent ?? "" })));
        assert.deepEqual(parts.map((p) => p.tip.split(":")[0]), ["ours", "network + front", "backend engine"]);
        const hop = ((await jsonOf(fetch(`${gw.url}/debug/requests/dash-relayed`))).hop ?? {}) as Record<string, number>;
        // One request: each p50 is that request's part.
        assert.ok(Math.abs(parts[0].ms - hop.ours_ms) < 0.01 && Math.abs(parts[2].ms - hop.backend_engine_ms) < 0.01, `${JSON.stringify(parts)} vs ${JSON.stringify(hop)}`);
        if (SHOTS) await page.screenshot({ path: join(SHOTS, "dashboard-engines.png"), fullPage: true });
        assert.deepEqual(errors, []);
      } finally {
        await page.goto("about:blank");
        await gw.server.close(1000);
      }
    });

    it("a hidden page is sent nothing, and is live again once shown", async () => {
      const streamSeconds = async (): Promise<string | undefined> => /^llm_serving_debug_view_seconds_total\{view="stream"\} (\S+)$/m.exec(await (await fetch(`${s.url}/metrics`)).text())?.[1];
      const visibility = (state: "hidden" | "visible"): Promise<void> =>
        page.evaluate((v) => {
          Object.defineProperty(document, "visibilityState", { value: v, configurable: true });
          document.dispatchEvent(new Event("visibilitychange"));
        }, state);
      await page.goto(`${s.url}/dashboard`);
      await page.waitForSelector("#connection.live", { timeout: 5000 });
      await visibility("hidden");
      await page.waitForSelector("#connection:text-is('paused while the page is hidden')", { timeout: 2000 });
      await waitFor(async () => {
        const before = await streamSeconds();
        await new Promise((r) => setTimeout(r, 1200)); // more than two of the feed's periods
        return before !== undefined && (await streamSeconds()) === before;
      }, "the stream's count stands still while the page is hidden", 5000);
      await visibility("visible");
      await page.waitForSelector("#connection.live", { timeout: 2000 });
    });

    it("once the page is closed, the server builds nothing for it", async () => {
      await page.goto("about:blank");
      // The page is gone: the server's one timer stops with its last watcher, so its count of time on the feeds stands still.
      const streamSeconds = async (): Promise<string | undefined> => /^llm_serving_debug_view_seconds_total\{view="stream"\} (\S+)$/m.exec(await (await fetch(`${s.url}/metrics`)).text())?.[1];
      await waitFor(async () => {
        const before = await streamSeconds();
        await new Promise((r) => setTimeout(r, 1200)); // more than two of the feed's periods
        return before !== undefined && (await streamSeconds()) === before;
      }, "the stream's count stands still with the page closed", 5000);
      const feed = await fetch(`${s.url}/debug/stream`);
      const reader = feed.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      assert.match(first, /^data: \{"model":"llama2"/);
      await reader.cancel();
    });
  });
}
