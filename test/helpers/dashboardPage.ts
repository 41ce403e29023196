/**
 * One browser's page on the dashboard, for the dashboard's test files: a
 * timed server, the browser (test/helpers/browsers.ts), a page 1400 × 900,
 * and the console errors it logs; made before a suite's tests and closed
 * after them. Also `llm-serving dashboard FILE…` for a test to visit, and
 * where screenshots go (docs/, when DASHBOARD_SCREENSHOTS is set; only
 * chromium's, as a second browser would overwrite them with its own).
 */
import { after, before } from "node:test";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import type { BrowserKind } from "./browsers.js";
import { spawnCli } from "./cli.js";
import { startTestServer, type TestServer } from "./serverHarness.js";

export interface DashboardPage {
  readonly server: TestServer;
  readonly page: Page;
  /** Console errors and page errors, in order (a test that expects one takes it out). */
  readonly errors: string[];
  /** Where this browser's screenshots go, if anywhere. */
  readonly shots: string | undefined;
}

const ALL_SHOTS = process.env.DASHBOARD_SCREENSHOTS ? join(import.meta.dirname, "..", "..", "..", "docs") : undefined;

/** Call inside a describe: its before() starts the server and the page, its after() closes them. */
export function dashboardPage(b: BrowserKind): DashboardPage {
  let server: TestServer | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  const errors: string[] = [];
  before(async () => {
    server = await startTestServer({ rows: 4, contextSize: 2048 });
    await server.server.engine.ready;
    browser = await b.launch();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
  });
  after(async () => {
    await browser?.close();
    await server?.server.close(1000);
  });
  return {
    get server() {
      return server!;
    },
    get page() {
      return page!;
    },
    errors,
    shots: b.name === "chromium" ? ALL_SHOTS : undefined,
  };
}

/** `llm-serving dashboard FILE…` on a free port, for `use` to visit its URL (the page on those files). */
export async function withDashboardCli(files: readonly string[], use: (url: string) => Promise<void>): Promise<void> {
  const dashboard = spawnCli(["dashboard", ...files, "--port", "0"]);
  try {
    const offline = /(http:\/\/\S+\/dashboard\?offline=\S+)/;
    await dashboard.until(offline);
    await use(offline.exec(dashboard.stderr())![1]);
  } finally {
    dashboard.stop();
  }
}
