/**
 * The page's connection to the live feed (GET /debug/stream): read with
 * fetch, so that an API key can go with it; paused while the page is hidden
 * (a tab in the background is nobody watching: the server then sends
 * nothing); reconnected when the server closes it or it fails; given up
 * when a file is opened (the page is the file's then), when the server wants
 * a key, or when its timing is switched off (it has no feed).
 */
import type { Snapshot } from "./snapshot.js";

export interface LiveFeedHooks {
  headers(): HeadersInit;
  /** A file was opened: the feed stops. */
  offline(): boolean;
  /** Connected: the snapshots follow. */
  opened(): void;
  snapshot(s: Snapshot): void;
  status(text: string, kind: "live" | "down" | ""): void;
  /** The server wants an API key (the feed stops until asked again). */
  unauthorized(): void;
  /** The server has no feed (its timing is off): the feed stops for good. */
  unavailable(): void;
}

/** Follows the feed until a file is opened or the server wants a key. */
export async function followLive(hooks: LiveFeedHooks): Promise<void> {
  for (;;) {
    if (hooks.offline()) return;
    try {
      const outcome = await follow(hooks);
      if (outcome === "unauthorized") return hooks.unauthorized();
      // A file opened while the feed was open ends it (follow()), or while a refusal's body was read: the status line is the file's now.
      if (hooks.offline()) return;
      if (outcome === "timing off") return hooks.unavailable();
      if (outcome === "hidden") {
        hooks.status("paused while the page is hidden", "");
        await shown();
        continue;
      }
      hooks.status("the server closed the feed; reconnecting…", "down");
    } catch (err) {
      if (hooks.offline()) return;
      hooks.status(`no live feed (${(err as Error).message}); retrying…`, "down");
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Reads the SSE stream; resolves when it ends, or when the page is hidden or a file opened. */
async function follow(hooks: LiveFeedHooks): Promise<"ended" | "unauthorized" | "hidden" | "timing off"> {
  const res = await fetch("/debug/stream", { headers: hooks.headers() });
  // A file opened while the feed was still connecting: the page is the file's now.
  if (hooks.offline()) {
    await res.body?.cancel().catch(() => undefined);
    return "ended";
  }
  if (res.status === 401) return "unauthorized";
  // A server without timing has no feed and never will: asking again every second would only fill the console.
  if (res.status === 404 && (await errorCode(res)) === "timing_off") return "timing off";
  if (!res.ok || !res.body) throw new Error(`the live feed answered ${res.status}`);
  hooks.opened();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return "ended";
    if (hooks.offline() || document.visibilityState === "hidden") {
      await reader.cancel();
      return hooks.offline() ? "ended" : "hidden";
    }
    pending += value;
    let at: number;
    while ((at = pending.indexOf("\n\n")) >= 0) {
      const event = pending.slice(0, at);
      pending = pending.slice(at + 2);
      try {
        if (event.startsWith("data: ")) hooks.snapshot(JSON.parse(event.slice(6)) as Snapshot);
      } catch (err) {
        await reader.cancel(); // the server drops this watcher; followLive() reconnects
        throw err;
      }
    }
  }
}

/** The code of an error body ({"error": {"code": …}}), if it has one. */
async function errorCode(res: Response): Promise<string | undefined> {
  try {
    const body = (await res.json()) as { error?: { code?: unknown } };
    return typeof body.error?.code === "string" ? body.error.code : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves when the page is shown again. */
function shown(): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (document.visibilityState !== "visible") return;
      document.removeEventListener("visibilitychange", check);
      resolve();
    };
    document.addEventListener("visibilitychange", check);
    check();
  });
}
