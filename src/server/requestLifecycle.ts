/**
 * Every request's way through the server, in fastify hooks: its id (echoed),
 * its timeline (API routes, when timing is on), the client's disconnect (API
 * routes: it cancels the generation), its end — the timeline
 * closed and one access-log line — and errors in the route family's shape.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { Transform, type Readable } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Engine } from "../engines/Engine.js";
import { cutText } from "../text/shownText.js";
import { now } from "../timing/clock.js";
import type { Instrumentation } from "../timing/Instrumentation.js";
import { readTraceparent } from "../timing/OtelExporter.js";
import { HttpPoint } from "../timing/points.js";
import type { RequestTimeline } from "../timing/RequestTimeline.js";
import { NO_TIMING, TimelineTiming, type HttpTiming } from "./httpTiming.js";
import { errorBody, HttpError, methodNotAllowed, toHttpError } from "./httpErrors.js";
import { installBodyReading } from "./requestBodies.js";
import "./requestTimeline.js";
import { pathOf, type RouteTable } from "./routeTable.js";
import type { ServerContext } from "./ServerContext.js";

/** Incoming x-request-id values we keep: printable ASCII without spaces, at most 128 characters. */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** nginx's status for a request whose client closed the connection before the response was complete. */
export const CLIENT_CLOSED_REQUEST = 499;

/** When Node handed us the request (its headers read, its body not yet): the earliest time point it exposes. */
export const RECEIVED = Symbol("llm-serving.received");
export type TimedRequest = IncomingMessage & { [RECEIVED]?: number };

export function requestId(req: IncomingMessage): string {
  const incoming = req.headers["x-request-id"];
  return typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

export interface LifecycleOptions {
  /** The routes, to tell a wrong method (405) from an unknown path (404), and whose error shape a path has. */
  routes: RouteTable;
}

export function installLifecycle(app: FastifyInstance, ctx: ServerContext, options: LifecycleOptions): void {
  app.decorateRequest("timeline", undefined);
  // fastify keeps no object as a shared default: each request gets its own in onRequest.
  app.decorateRequest("timing", null as unknown as HttpTiming);
  app.decorateRequest("disconnected", undefined);
  app.decorateRequest("generation", undefined);
  app.decorateRequest("generationDone", undefined);
  app.decorateRequest("admitted", false);
  app.decorateRequest("settle", undefined);
  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
    const config = request.routeOptions.config;
    const api = config.family !== undefined && config.family !== "operations" && request.method !== "OPTIONS";
    request.timing = NO_TIMING;
    // Every API POST asks the engine for a generation (the GETs read models and serving info).
    const generation = api && request.method === "POST";
    const timeline = api && ctx.instrumentation ? startTimeline(request, ctx.instrumentation, generation) : undefined;
    let gone: AbortController | undefined;
    if (api) {
      gone = new AbortController();
      request.disconnected = gone.signal;
      if (generation) admit(request, ctx);
    }
    onEnd(reply, (aborted) => {
      const ended = now();
      // The disconnect is marked before the cancel: a queued request is finished by the cancel itself.
      if (timeline) endTimeline(timeline, reply, aborted);
      if (aborted) gone?.abort();
      request.settle?.();
      const record = (): void => {
        if (timeline) ctx.instrumentation!.endRequest(timeline);
        ctx.instrumentation?.metrics.countResponse(routePattern(request), statusOf(reply, aborted));
        accessLog(request, reply, aborted, ended);
      };
      // A request whose client left is recorded once the engine has released its row: with its time to free and what it generated.
      const done = aborted ? request.generationDone : undefined;
      if (done) void done.then(record);
      else record();
    });
  });
  app.addHook("preParsing", async (request, _reply, payload) => {
    const limit = maxBodyBytes(ctx.engine);
    if (limit === undefined || request.disconnected === undefined) return payload;
    const length = Number(request.headers["content-length"]);
    if (length > limit) throw bodyTooLarge(`${length} bytes`, limit);
    return Number.isNaN(length) ? capped(payload, limit) : payload;
  });
  app.addHook("preValidation", async (request) => {
    request.timeline?.http.mark(HttpPoint.body_parsed);
  });
  app.addHook("onSend", async (request, reply, payload) => {
    const timeline = request.timeline;
    if (timeline && !timeline.aborted) {
      timeline.status = reply.statusCode;
      timeline.http.mark(HttpPoint.response_started);
    }
    return payload;
  });
  installBodyReading(app);
  app.setErrorHandler(async (err, request, reply) => {
    const e = toHttpError(err);
    const { status, body } = errorBody(options.routes.familyOf(request), e);
    return reply.code(status).headers(e.headers).send(body);
  });
  app.setNotFoundHandler(async (request) => {
    const path = pathOf(request.url);
    const known = options.routes.lookup(path);
    // Thrown, so that the error handler answers it in the path's family's shape.
    throw known ? methodNotAllowed(request.method, cut(path), known.methods) : new HttpError(404, "not_found", `no route ${request.method} ${cut(request.url)}`);
  });
}

/** A URL as an error message shows it: whole up to a line's length, not the 16 KB a request line may carry. */
function cut(url: string, max = 200): string {
  return url.length <= max ? url : `${cutText(url, max)} (${url.length} characters)`;
}

/** Room in a request body for what is not prompt text (parameters, stop strings, chat roles). */
const BODY_SLACK_BYTES = 64 * 1024;

/**
 * The largest request body that can hold a prompt that fits, when the
 * engine bounds a prompt's bytes: each byte written at worst as a 6-byte JSON
 * escape, plus room for everything else. Larger bodies are refused before
 * they are read: parsing a 1 MB body alone holds the event loop for ~10 ms.
 */
function maxBodyBytes(engine: Engine): number | undefined {
  const prompt = engine.maxPromptBytes;
  return prompt === undefined ? undefined : prompt * 6 + BODY_SLACK_BYTES;
}

function bodyTooLarge(size: string, limit: number): HttpError {
  return new HttpError(413, "body_too_large", `the body (${size}) is larger than any request whose prompt fits the context (at most ${limit} bytes here); shorten the prompt`);
}

/** A body without a length is counted as it comes, and cut off past `limit`. */
function capped(payload: Readable, limit: number): Readable {
  let seen = 0;
  return payload.pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        seen += chunk.length;
        if (seen > limit) done(Object.assign(bodyTooLarge(`more than ${limit} bytes`, limit), { statusCode: 413 }));
        else done(null, chunk);
      },
    }),
  );
}

/** A generation request received while the engine is ready is let in by a drain that begins while its body arrives. */
function admit(request: FastifyRequest, ctx: ServerContext): void {
  request.admitted = ctx.engine.admit();
  if (!request.admitted) return;
  let settled = false;
  request.settle = () => {
    if (settled) return;
    settled = true;
    ctx.engine.settle();
  };
}

function startTimeline(request: FastifyRequest, instrumentation: Instrumentation, generation: boolean): RequestTimeline {
  const timeline = instrumentation.startRequest(request.id);
  timeline.generation = generation;
  timeline.http.set(HttpPoint.received, (request.raw as TimedRequest)[RECEIVED] ?? now());
  timeline.route = `${request.method} ${request.routeOptions.url ?? request.url}`;
  timeline.traceparent = readTraceparent(request.headers.traceparent);
  request.timeline = timeline;
  request.timing = new TimelineTiming(timeline, instrumentation);
  return timeline;
}

/** The response is over when its last byte is handed to the socket ('finish'), or when the connection closes first. */
function onEnd(reply: FastifyReply, end: (aborted: boolean) => void): void {
  const res = reply.raw;
  let ended = false;
  const once = (aborted: boolean): void => {
    if (ended) return;
    ended = true;
    end(aborted);
  };
  res.once("finish", () => once(false));
  res.once("close", () => once(!res.writableFinished));
}

/** A request whose client left is recorded as cancelled (499). */
function endTimeline(timeline: RequestTimeline, reply: FastifyReply, aborted: boolean): void {
  const t = timeline.http.mark(HttpPoint.response_ended);
  if (aborted) {
    timeline.aborted = true;
    timeline.http.set(HttpPoint.disconnected, t);
    timeline.status = CLIENT_CLOSED_REQUEST;
    timeline.finishReason = "cancelled";
  } else if (!timeline.status) {
    timeline.status = reply.raw.statusCode;
  }
}

/** The pattern of the route that took the request; undefined when none did, or only a catch-all (CORS's OPTIONS *). */
function matchedRoute(request: FastifyRequest): string | undefined {
  const url = request.routeOptions.url;
  return url === undefined || url.includes("*") ? undefined : url;
}

/** For the access log: the route's pattern, else the request's own URL. */
function routeOf(request: FastifyRequest): string {
  return matchedRoute(request) ?? request.url;
}

/**
 * For a metric's label, never the URL sent: the route's pattern; "unmatched"
 * for a request no route took (an unknown path, 404, or a method its path
 * does not take, 405); "preflight" for what CORS's catch-all route answered.
 */
function routePattern(request: FastifyRequest): string {
  return matchedRoute(request) ?? (request.routeOptions.url === undefined ? "unmatched" : "preflight");
}

function statusOf(reply: FastifyReply, aborted: boolean): number {
  return aborted ? CLIENT_CLOSED_REQUEST : reply.raw.statusCode;
}

/** One line per request at info level (fastify's logger, pino), 404s and refusals included. */
function accessLog(request: FastifyRequest, reply: FastifyReply, aborted: boolean, ended: number): void {
  const received = (request.raw as TimedRequest)[RECEIVED];
  const generation = request.generation;
  const outcome = generation?.result;
  request.log.info(
    {
      request_id: request.id,
      method: request.method,
      route: routeOf(request),
      status: statusOf(reply, aborted),
      // A remote engine's stream has no prompt ids here: its backend's count comes with the finish.
      prompt_tokens: generation && (outcome?.promptTokens || generation.prompt.length),
      generated_tokens: generation && (outcome?.generatedTokens ?? 0),
      finish_reason: aborted ? "cancelled" : outcome?.finishReason || undefined,
      ms: received === undefined ? undefined : Math.round((ended - received) * 1000) / 1000,
    },
    "request",
  );
}
