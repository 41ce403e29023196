/**
 * Files opened on the dashboard, in Debian's chromium and firefox-esr: a
 * saved timelines file (the file input, a drop, and `llm-serving dashboard
 * FILE`), a load client's records alone and joined by id with the server's
 * timelines, and a server without timing, whose page has no live view and
 * still opens files. Screenshots as in dashboard.test.ts.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { LoadClient } from "../src/bench/LoadClient.js";
import { writeClientRecords } from "../src/bench/clientRecords.js";
import { protocol } from "../src/bench/protocols.js";
import { BROWSERS } from "./helpers/browsers.js";
import { dashboardPage, withDashboardCli } from "./helpers/dashboardPage.js";
import { postJson, startTestServer, withTestServer, type TestServer } from "./helpers/serverHarness.js";

/** What the in-page code below uses of the page's globals: the tests compile without the DOM's types. */
interface InPageElement {
  dispatchEvent(event: DragEvent): boolean;
}
declare const document: { body: InPageElement };
declare class DataTransfer {
  readonly items: { add(file: File): void };
}
declare class DragEvent {
  constructor(type: string, init: { dataTransfer: DataTransfer; bubbles: boolean; cancelable: boolean });
}

for (const b of BROWSERS) {
  describe(`files on the dashboard, in ${b.name}`, () => {
    const d = dashboardPage(b);
    const { errors, shots: SHOTS } = d;
    let s: TestServer;
    let page: Page;
    before(() => {
      s = d.server;
      page = d.page;
    });

    it("offline: a saved timelines file opens in the page (file input, drop) and with llm-serving dashboard FILE", async () => {
      const dir = await mkdtemp(join(tmpdir(), "llm-serving-dashboard-"));
      const file = join(dir, "timelines.jsonl");
      // Closing the server writes the file out.
      await withTestServer({ timelineFile: file }, async (writer) => {
        for (const id of ["saved-1", "saved-2"]) await postJson(`${writer.url}/generate`, { inputs: "keep me", parameters: { max_new_tokens: 5 } }, { "x-request-id": id });
      });
      const opened = async (): Promise<void> => {
        await page.waitForSelector('#recent tr[data-id="saved-2"]', { timeout: 5000 });
        assert.match((await page.textContent("#connection")) ?? "", /^offline: timelines\.jsonl, 2 requests \(2 server timelines\)$/);
        // Only what a file holds: no live lists or gauges, and titles that say so.
        assert.equal(await page.innerText("#now-title"), "From the file");
        assert.equal(await page.innerText("#steps-title"), "Engine steps");
        for (const live of ["#running", "#gauges", "#window", "#charts"]) assert.ok(await page.isHidden(live), `${live} is hidden offline`);
        await page.click('#recent tr[data-id="saved-1"]');
        await page.waitForSelector("#waterfall svg rect[data-span=step]");
        assert.match((await page.textContent("#waterfall-summary")) ?? "", /5 output tokens/);
        // Longer than a snapshot's period (500 ms): the live feed the file stopped must not then report itself dropped.
        await page.waitForTimeout(700);
        assert.match((await page.textContent("#connection")) ?? "", /^offline: timelines\.jsonl, 2 requests \(2 server timelines\)$/);
      };
      try {
        await page.goto(`${s.url}/dashboard`);
        await page.setInputFiles("#open-file", file);
        await opened();
        // Dropped on the page (an untrusted drop: playwright cannot drag a file in from outside the page).
        await page.goto(`${s.url}/dashboard`);
        await page.evaluate((text) => {
          const dataTransfer = new DataTransfer();
          dataTransfer.items.add(new File([text], "timelines.jsonl"));
          for (const type of ["dragover", "drop"]) document.body.dispatchEvent(new DragEvent(type, { dataTransfer, bubbles: true, cancelable: true }));
        }, await readFile(file, "utf8"));
        await opened();
        await withDashboardCli([file], async (url) => {
          await page.goto(url);
          await opened();
        });
        if (SHOTS) await page.screenshot({ path: join(SHOTS, "dashboard-offline.png"), fullPage: true });
        assert.deepEqual(errors, []);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it("offline: a load client's records (bench --records) open alone and joined by id with the server's timelines", async () => {
      const dir = await mkdtemp(join(tmpdir(), "llm-serving-dashboard-"));
      const [timelines, recordsFile] = [join(dir, "timelines.jsonl"), join(dir, "records.jsonl")];
      const records = await withTestServer({ timelineFile: timelines }, (writer) =>
        new LoadClient({ url: writer.url, protocol: protocol("tgi"), model: "llama2", prompts: [{ prompt: "measured twice" }], maxTokens: 6, count: 2, stream: true, ignoreEos: true, greedy: true, concurrency: 1, idPrefix: "joined" }).run(),
      );
      // A third request only the client measured (as against any other server).
      const elsewhere = { ...records[0], id: "elsewhere", serverId: undefined };
      // A fourth with a load client's usual id: found by a new user, every such id was cut to "bench-mx7ws4…".
      const benchLike = { ...records[0], id: "bench-mx7ws4pk-36", serverId: undefined };
      await writeClientRecords(recordsFile, [...records, elsewhere, benchLike]);
      try {
        await page.goto(`${s.url}/dashboard`);
        await page.setInputFiles("#open-file", [timelines, recordsFile]);
        await page.waitForSelector('#recent tr[data-id="elsewhere"]', { timeout: 5000 });
        assert.equal(await page.textContent("#connection"), "offline: timelines.jsonl + records.jsonl, 4 requests (2 server timelines, 4 client records)");
        const cut = await page.$eval('#recent tr[data-id="bench-mx7ws4pk-36"] td', (td) => td.scrollWidth > td.clientWidth);
        assert.equal(cut, false, "a load client's id is shown whole");
        // Joined: the server's waterfall (its steps), and the client's e2e beside the server's.
        const joined = records[0];
        await page.click(`#recent tr[data-id="${joined.id}"]`);
        await page.waitForSelector("#waterfall svg rect[data-span=step]");
        const summary = (await page.textContent("#waterfall-summary")) ?? "";
        const clientE2e = Math.round((joined.end - joined.sent) * 1000) / 1000;
        assert.ok(summary.includes(`client e2e ${clientE2e} ms (`), summary);
        // Only the client saw it: its own view, from sending to the end, every part in order.
        await page.click('#recent tr[data-id="elsewhere"]');
        await page.waitForSelector("#waterfall svg rect[data-span=stream]");
        const spans = await page.$$eval("#waterfall svg rect[data-span]", (rects) => rects.map((r) => ({ name: r.getAttribute("data-span"), start: Number(r.getAttribute("data-start")), dur: Number(r.getAttribute("data-dur")) })));
        assert.deepEqual(spans.map((x) => x.name), ["answer", "first token", "stream", "end"]);
        assert.ok(Math.abs(spans.reduce((a, x) => a + x.dur, 0) - (elsewhere.end - elsewhere.sent)) < 1e-6, "the parts add up to the client's e2e");
        assert.match((await page.textContent("#waterfall-summary")) ?? "", /^client \(tgi\) · status 200 /);
        // The same two files given to llm-serving dashboard.
        await withDashboardCli([timelines, recordsFile], async (url) => {
          await page.goto(url);
          await page.waitForSelector('#recent tr[data-id="elsewhere"]', { timeout: 5000 });
          assert.equal(await page.textContent("#connection"), "offline: timelines.jsonl + records.jsonl, 4 requests (2 server timelines, 4 client records)");
        });
        assert.deepEqual(errors, []);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });


    it("on a server without timing: says there is no live view, asks once, and still opens a file", async () => {
      const off = await startTestServer({ timing: false });
      const dir = await mkdtemp(join(tmpdir(), "llm-serving-untimed-"));
      const asked: string[] = [];
      const onRequest = (r: { url(): string }): void => {
        if (r.url().includes("/debug/")) asked.push(new URL(r.url()).pathname);
      };
      page.on("request", onRequest);
      const before = errors.length;
      try {
        await off.server.engine.ready;
        await page.goto(`${off.url}/dashboard`);
        await page.waitForSelector("#connection:has-text('no live view: timing is switched off on this server (--no-timing)')", { timeout: 5000 });
        // It used to ask again every second, each 404 another console error; nothing else live is asked for either.
        await new Promise((r) => setTimeout(r, 2500));
        assert.deepEqual(asked, ["/debug/stream"]);
        for (const live of ["#running", "#gauges", "#window", "#charts"]) assert.ok(await page.isHidden(live), `${live} is hidden: nothing live will come`);
        // The browser may log that one 404 (chromium does): no other error.
        const logged = errors.splice(before);
        assert.ok(logged.length <= 1 && logged.every((e) => /404/.test(e)), logged.join("\n"));
        // The page is still the offline viewer: a timelines file another server wrote opens on it.
        const file = join(dir, "timelines.jsonl");
        await withTestServer({ timelineFile: file }, async (writer) => {
          await postJson(`${writer.url}/generate`, { inputs: "keep me", parameters: { max_new_tokens: 3 } }, { "x-request-id": "untimed-viewer" });
        });
        await page.setInputFiles("#open-file", file);
        await page.waitForSelector('#recent tr[data-id="untimed-viewer"]', { timeout: 5000 });
        assert.match((await page.textContent("#connection")) ?? "", /^offline: timelines\.jsonl, 1 request \(1 server timeline\)$/);
      } finally {
        await rm(dir, { recursive: true, force: true });
        page.off("request", onRequest);
        await page.goto("about:blank");
        await off.server.close(1000);
      }
    });
  });
}
