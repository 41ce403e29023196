/**
 * The dashboard (GET /dashboard): a page the server serves itself, no build
 * step at run time and nothing from a CDN, and its live feed (GET
 * /debug/stream): server-sent events with the engine's statistics, the
 * live view (timing/liveView.ts) and the engine steps since the last event
 * (the first event has the whole step window), a few times a second and
 * only while someone watches — one timer for every watcher, none when
 * nobody watches. It
 * follows --api-key like the other debug views (the page sends the key with
 * fetch, which EventSource cannot).
 */
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import type { FastifyInstance, FastifyReply } from "fastify";
import type { ServerResponse } from "node:http";
import { now } from "../../timing/clock.js";
import { distributions } from "../../timing/distributions.js";
import { liveView, WINDOW_S } from "../../timing/liveView.js";
import { stepWindow } from "../../timing/stepWindow.js";
import { HttpError } from "../httpErrors.js";
import type { ServerContext } from "../ServerContext.js";

/** How often watchers get a snapshot: twice a second (four cost the watching browser half as much again, for a list that changes faster than it can be read). */
export const STREAM_INTERVAL_MS = 500;
/** The step timeline's window on the stream, s (GET /debug/steps takes any up to 60). */
const STEP_WINDOW_S = 5;
/** Most watchers at once: each costs a socket write per snapshot. */
const MAX_WATCHERS = 16;
/** Snapshots a watcher has not read yet, in bytes, before it is dropped: with the steps on the stream (~0.1 MB a second under load), over half a minute behind. */
const MAX_UNREAD_BYTES = 4 << 20;

/** The page's files, compiled from src/dashboard by npm run build (dist/src/dashboard). */
const PAGE_DIR = new URL("../../dashboard/", import.meta.url);
/** The page's own files only: plain names, no paths (nothing outside PAGE_DIR can be asked for). */
const FILE_NAME = /^[a-z][a-zA-Z0-9-]*\.(js|css)$/;
const TYPES: Record<string, string> = { js: "text/javascript; charset=utf-8", css: "text/css; charset=utf-8" };

export function registerDashboardRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const config = { family: "operations" as const };
  const watchers = new Set<ServerResponse>();
  let timer: NodeJS.Timeout | undefined;

  /** The newest step the watchers were sent: each tick sends the steps after it (a watcher that joined since has them already, and takes them twice). */
  let stepsSent = 0;
  /** `after`: the steps a watcher has; 0 for one that has none (a whole window). `newest`: the newest step in it. */
  const snapshot = (after: number): { data: string; newest: number } => {
    const i = ctx.instrumentation!;
    let engine: unknown = null;
    try {
      engine = ctx.engine.state === "ready" ? ctx.engine.stats() : null;
    } catch {
      engine = null;
    }
    const steps = stepWindow(i.steps, i.runtime, STEP_WINDOW_S * 1000, now(), after);
    // One event per tick, steps and all: the page draws it in one frame (a poll of its own for the steps cost the watching browser a second frame each second).
    const data = `data: ${JSON.stringify({ model: ctx.engine.modelName, state: ctx.engine.state, engine, ...liveView(i.timelines), steps })}\n\n`;
    return { data, newest: steps.steps.at(-1)?.id ?? after };
  };
  /** Runs a feed's work and counts its main-thread time (llm_serving_debug_view_seconds_total). */
  const timed = <T>(view: "stream" | "steps" | "distributions", work: () => T): T => {
    const started = now();
    const result = work();
    ctx.instrumentation?.metrics.observeView(view, now() - started);
    return result;
  };
  const tick = (): void =>
    timed("stream", () => {
      const { data, newest } = snapshot(stepsSent);
      stepsSent = newest;
      for (const res of watchers) {
        // A watcher that does not read (a laptop asleep) is dropped rather than buffered for without bound.
        if (res.writableLength > MAX_UNREAD_BYTES) res.destroy();
        else res.write(data);
      }
    });
  /** A feed's JSON, made here rather than by fastify so that its time is counted with the rest of the view's. */
  const timedJson = (view: "steps" | "distributions", reply: FastifyReply, build: () => unknown): string => {
    void reply.type("application/json; charset=utf-8");
    return timed(view, () => JSON.stringify(build()));
  };
  const leave = (res: ServerResponse): void => {
    watchers.delete(res);
    if (watchers.size === 0) {
      clearInterval(timer);
      timer = undefined;
    }
  };

  app.get("/debug/stream", { config }, async (request, reply) => {
    if (!ctx.instrumentation) throw new HttpError(404, "timing_off", "timing is switched off on this server (--no-timing)");
    if (watchers.size >= MAX_WATCHERS) throw new HttpError(503, "too_many_watchers", `at most ${MAX_WATCHERS} watchers at once`);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { ...(reply.getHeaders() as Record<string, string>), "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
    timed("stream", () => {
      const { data, newest } = snapshot(0);
      // The first watcher: the ticks go on from its window. Later ones: the others have not had the steps in theirs yet.
      if (watchers.size === 0) stepsSent = newest;
      res.write(data);
    });
    watchers.add(res);
    res.on("close", () => leave(res));
    timer ??= setInterval(tick, STREAM_INTERVAL_MS);
    request.raw.on("close", () => leave(res));
  });

  app.get<{ Querystring: { seconds?: string; after?: string } }>("/debug/steps", { config }, async (request, reply) => {
    if (!ctx.instrumentation) throw new HttpError(404, "timing_off", "timing is switched off on this server (--no-timing)");
    // A misspelt one (?window=) would silently give the default window.
    // "_" is the cache buster jQuery and others add to a GET (?_=1733…): not the client's mistake.
    const unknown = Object.keys(request.query).find((k) => k !== "seconds" && k !== "after" && k !== "_");
    if (unknown !== undefined) throw new HttpError(400, "invalid_parameter", `${unknown}: not a parameter of this route (it takes seconds and after)`, unknown);
    // Written out in decimal: Number() would also take "", " ", "0x10" and "1e3".
    const { seconds: secondsText = "5", after: afterText = "0" } = request.query;
    const seconds = /^\d+(\.\d+)?$/.test(secondsText) ? Number(secondsText) : NaN;
    if (!(seconds > 0 && seconds <= 60)) throw new HttpError(400, "invalid_parameter", "seconds: must be a number in (0, 60]", "seconds");
    const after = /^\d+$/.test(afterText) ? Number(afterText) : NaN;
    if (!Number.isSafeInteger(after)) throw new HttpError(400, "invalid_parameter", "after: must be a step id (a whole number ≥ 0)", "after");
    const i = ctx.instrumentation;
    i.flush(); // the steps not yet handed to the metrics: work the next 100 ms would do anyway
    return timedJson("steps", reply, () => stepWindow(i.steps, i.runtime, seconds * 1000, now(), after));
  });

  app.get("/debug/distributions", { config }, async (_request, reply) => {
    const i = ctx.instrumentation;
    if (!i) throw new HttpError(404, "timing_off", "timing is switched off on this server (--no-timing)");
    return timedJson("distributions", reply, () => distributions(i.timelines, WINDOW_S));
  });

  registerDashboardPage(app);

  // Before the server waits for its connections to end: an open page must not hold the shutdown.
  app.addHook("preClose", async () => {
    clearInterval(timer);
    for (const res of watchers) res.end();
    watchers.clear();
  });
}

/**
 * The page and its files (public: they hold no data). `offlineFiles`:
 * timelines and client records, served together as /dashboard/offline.json,
 * for `llm-serving dashboard FILE…` (the page opens them with ?offline).
 */
export function registerDashboardPage(app: FastifyInstance, offlineFiles: readonly string[] = []): void {
  const config = { family: "operations" as const, public: true };
  // Browsers ask for it with every page; we have none, and a 401 or a 404 would sit in the page's console as an error.
  app.get("/favicon.ico", { config }, async (_request, reply) => reply.code(204).send());
  app.get("/dashboard", { config }, async (_request, reply) => {
    return reply.type("text/html; charset=utf-8").send(await readFile(new URL("index.html", PAGE_DIR), "utf8"));
  });
  app.get<{ Params: { file: string } }>("/dashboard/:file", { config }, async (request, reply) => {
    const name = request.params.file;
    if (name === "") return reply.redirect(`/dashboard${request.url.slice("/dashboard/".length)}`, 301); // /dashboard/ is the page too
    if (offlineFiles.length > 0 && name === "offline.json") {
      // Each file as it is (a JSONL, or one JSON array): the page reads each and tells timelines from client records.
      const files = await Promise.all(offlineFiles.map(async (f) => ({ name: basename(f), text: await readFile(f, "utf8") })));
      return reply.type("application/json; charset=utf-8").send(JSON.stringify({ files }));
    }
    const text = FILE_NAME.test(name) ? await readFile(new URL(name, PAGE_DIR), "utf8").catch(() => undefined) : undefined;
    if (text === undefined) throw new HttpError(404, "not_found", `no dashboard file ${JSON.stringify(name)}`);
    return reply.type(TYPES[name.split(".").pop()!]).send(text);
  });
}
