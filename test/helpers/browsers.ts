/**
 * The real browsers the page tests drive through playwright-core, which never
 * downloads one of its own: Debian's chromium (over CDP) and Debian's
 * firefox-esr (over WebDriver BiDi, playwright's "moz-" channels). CI installs
 * both (.ci/run); a missing one fails its tests, saying so, rather than
 * skipping them.
 */
import { existsSync } from "node:fs";
import { chromium, firefox, type Browser } from "playwright-core";

/** Debian's chromium package puts it here; CHROMIUM_PATH for any other. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Debian's firefox-esr package puts it here; FIREFOX_PATH for any other. */
export const FIREFOX = process.env.FIREFOX_PATH ?? "/usr/bin/firefox-esr";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export interface BrowserKind {
  name: "chromium" | "firefox";
  launch(): Promise<Browser>;
}

function present(path: string, what: string, env: string, pkg: string): void {
  if (!existsSync(path)) throw new Error(`${what} is not at ${path}: install Debian's ${pkg} (.ci/run does) or point ${env} at one`);
}

export async function launchChromium(): Promise<Browser> {
  present(CHROMIUM, "chromium", "CHROMIUM_PATH", "chromium");
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** The slice of playwright's in-process server objects that tolerateMissingMediaOverride reaches into. */
interface BidiSession {
  send(method: string, params: unknown): Promise<unknown>;
}

/**
 * Firefox ESR 153's WebDriver BiDi has no emulation.setMediaFeaturesOverride,
 * which playwright-core 1.65 sends for every new context (to set
 * prefers-color-scheme), so newPage() fails with "unknown command". Only that
 * answer to only that command is let through as done: the pages under test
 * have no colour-scheme styles, and headless Firefox is light already. Any
 * other failure, and every other command, is untouched; once Firefox knows
 * the command it is really sent and really applied.
 */
function tolerateMissingMediaOverride(browser: Browser): void {
  // The browser runs in this process: its server side is reachable, though not a public API.
  const connection = (browser as unknown as { _connection?: { toImpl?: (x: unknown) => { _browserSession?: BidiSession } | undefined } })._connection;
  const session = connection?.toImpl?.(browser)?._browserSession;
  // A playwright whose internals moved: no shim, and newPage() shows the real error if it is still needed.
  if (!session || typeof session.send !== "function") return;
  const send = session.send.bind(session);
  session.send = async (method, params) => {
    try {
      return await send(method, params);
    } catch (err) {
      if (method === "emulation.setMediaFeaturesOverride" && /unknown command/.test((err as Error).message)) return {};
      throw err;
    }
  };
}

export async function launchFirefox(): Promise<Browser> {
  present(FIREFOX, "Firefox", "FIREFOX_PATH", "firefox-esr");
  // A "moz-" channel is what takes playwright to a stock Firefox over WebDriver BiDi (not its own patched build).
  const browser = await firefox.launch({ channel: "moz-firefox", executablePath: FIREFOX, headless: true });
  tolerateMissingMediaOverride(browser);
  return browser;
}

export const BROWSERS: readonly BrowserKind[] = [
  { name: "chromium", launch: launchChromium },
  { name: "firefox", launch: launchFirefox },
];
