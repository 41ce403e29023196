/**
 * The real browsers the page tests drive through playwright-core, which never
 * downloads one of its own: Debian's chromium (over CDP) and Debian's
 * firefox-esr (over WebDriver BiDi, playwright's "moz-" channels). CI installs
 * both (.ci/run); a missing one fails its tests, saying so, rather than
 * skipping them.
 */
import { EventEmitter } from "node:events";
import { existsSync } from "node:fs";
import { chromium, firefox, type Browser } from "playwright-core";

/** Debian's chromium package puts it here; CHROMIUM_PATH for any other. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Debian's firefox-esr package puts it here; FIREFOX_PATH for any other. */
export const FIREFOX = process.env.FIREFOX_PATH ?? "/usr/bin/firefox-esr";
const CHROMIUM_ARGS: string[] = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export interface BrowserKind {
  name: "chromium" | "firefox";
  launch(): Promise<Browser>;
}

function present(path: string, what: string, env: string, pkg: string): void {
  if (!existsSync(path)) throw new Error(`${what} is not at ${path}: install Debian's ${pkg} (.ci/run does) or point ${env} at one`);
}

/** Debian's chromium as playwright starts it, for launch() or launchPersistentContext(); fails, saying so, when it is missing. */
export function chromiumOptions(): { executablePath: string; args: string[] } {
  present(CHROMIUM, "chromium", "CHROMIUM_PATH", "chromium");
  return { executablePath: CHROMIUM, args: CHROMIUM_ARGS };
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch(chromiumOptions());
}

/** The slice of playwright's in-process WebDriver BiDi session that tolerateMissingCommands patches. */
interface BidiSessionPrototype {
  send(method: string, params: unknown): Promise<unknown>;
  addFrameBrowsingContext?: unknown;
  [PATCHED]?: true;
}

const PATCHED = Symbol("llm-serving tolerates missing BiDi commands");

/**
 * Commands playwright-core 1.65 sends that a stock Firefox ESR may not know
 * (ESR 140, Debian bookworm's, knows none of these; ESR 153 lacks the media
 * override). None matters to the pages under test: playwright keeps response
 * bodies (`network.addDataCollector`), and the tests read none through it;
 * it refuses downloads (`browser.setDownloadBehavior`), and the pages start
 * none; it emulates the colour scheme, the screen's size and its orientation,
 * and the pages have no styles for either (the viewport, which they do use,
 * is set by `browsingContext.setViewport`, which every ESR knows).
 */
const OPTIONAL_COMMANDS = new Set([
  "network.addDataCollector",
  "browser.setDownloadBehavior",
  "emulation.setMediaFeaturesOverride",
  "emulation.setScreenSettingsOverride",
  "emulation.setScreenOrientationOverride",
]);

/**
 * Only an "unknown command" answer to only those commands is let through as
 * done; any other failure, and every other command, is untouched, and once
 * Firefox knows a command it is really sent and really applied.
 */
function tolerateMissingCommands(proto: BidiSessionPrototype): void {
  if (proto[PATCHED]) return;
  proto[PATCHED] = true;
  const send = proto.send;
  proto.send = async function (this: unknown, method: string, params: unknown) {
    try {
      return await send.call(this, method, params);
    } catch (err) {
      if (OPTIONAL_COMMANDS.has(method) && /unknown command/.test((err as Error).message)) return {};
      throw err;
    }
  };
}

/**
 * Runs a Firefox launch with its BiDi session class patched as above. The
 * first command goes out before launch() returns, and the class is not
 * exported, so it is caught where every session starts: its EventEmitter
 * constructor calls setMaxListeners. (Not a public API: a playwright whose
 * internals moved is left unpatched, and shows the real error.)
 */
async function withOptionalBidiCommands(launch: () => Promise<Browser>): Promise<Browser> {
  const setMaxListeners = EventEmitter.prototype.setMaxListeners;
  EventEmitter.prototype.setMaxListeners = function (this: EventEmitter, n: number) {
    const proto = Object.getPrototypeOf(this) as BidiSessionPrototype;
    if (typeof proto.send === "function" && typeof proto.addFrameBrowsingContext === "function") tolerateMissingCommands(proto);
    return setMaxListeners.call(this, n);
  };
  try {
    return await launch();
  } finally {
    EventEmitter.prototype.setMaxListeners = setMaxListeners;
  }
}

export async function launchFirefox(): Promise<Browser> {
  present(FIREFOX, "Firefox", "FIREFOX_PATH", "firefox-esr");
  // A "moz-" channel is what takes playwright to a stock Firefox over WebDriver BiDi (not its own patched build).
  return withOptionalBidiCommands(() => firefox.launch({ channel: "moz-firefox", executablePath: FIREFOX, headless: true }));
}

export const BROWSERS: readonly BrowserKind[] = [
  { name: "chromium", launch: launchChromium },
  { name: "firefox", launch: launchFirefox },
];
