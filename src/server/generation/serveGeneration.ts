/**
 * The part of every generation route that does not depend on the API family:
 * submit to the engine (linking the request's timing to the engine's trace),
 * then either collect the whole generation or stream it, telling the
 * request's HTTP timing what happens (it does nothing when timing is off). A client that goes away cancels its
 * request wherever it is (the master takes the disconnect as its signal).
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { EngineGeneration } from "../../engines/Engine.js";
import { completionOf, type GenerationStream, type TokenEvent } from "../../master/GenerationStream.js";
import { serverTimingHeader, timingsObject } from "../../timing/responseTimings.js";
import type { RequestBreakdown } from "../../timing/requestBreakdown.js";
import { HttpError, toHttpError } from "../httpErrors.js";
import type { Operation } from "../httpTiming.js";
import "../requestTimeline.js";
import type { ServerContext } from "../ServerContext.js";
import type { Generation, StreamFormat } from "./ResponseFormat.js";


/**
 * Tokenizes and queues the generation on the engine (a request received
 * before a drain began is still let in: it was admitted).
 */
export async function submitGeneration(ctx: ServerContext, request: FastifyRequest, generation: EngineGeneration, operation: Operation): Promise<GenerationStream> {
  const timing = request.timing;
  const trace = timing.validated();
  // The client's disconnect cancels the request wherever it is, even while its prompt is tokenized.
  const headers = request.headers;
  const context = { traceparent: oneHeader(headers.traceparent), sessionKey: oneHeader(headers["x-session-id"]) };
  const submitted = ctx.engine.generate({ ...generation, ...context, id: request.id, trace, signal: request.disconnected }, request.admitted === true);
  // Known before the tokenizing ends: a client that leaves meanwhile is logged and measured once the engine is done.
  request.generationDone = submitted.then(
    async (stream) => {
      request.generation = stream;
      await stream.completion;
    },
    () => undefined,
  );
  timing.asked(generation, operation, ctx.engine.modelName);
  let stream: GenerationStream;
  try {
    stream = await submitted;
  } catch (err) {
    timing.refused();
    throw err;
  } finally {
    request.settle?.();
  }
  timing.accepted(stream);
  return stream;
}

function oneHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Server-Timing on the reply and the `timings` object for the body (undefined when timing is off). */
export function timeResponse(request: FastifyRequest, reply: FastifyReply): { timings: object | undefined; breakdown: RequestBreakdown | undefined } {
  const b = request.timing.breakdown();
  if (!b) return { timings: undefined, breakdown: undefined };
  reply.header("server-timing", serverTimingHeader(b));
  return { timings: timingsObject(b), breakdown: b };
}

function endedEarly(request: FastifyRequest, g: Generation): HttpError | undefined {
  if (g.finishReason === "error") return toHttpError(g.error);
  if (g.finishReason !== "cancelled") return undefined;
  // Nobody reads this one: it names the outcome for the record (nginx's 499).
  if (request.disconnected?.aborted) return new HttpError(499, "client_closed_request", "the client closed the connection");
  return new HttpError(503, "cancelled", "the request was cancelled (the server is shutting down)");
}


/** Waits for the whole generation; throws an HttpError if it did not complete. */
export async function collectGeneration(request: FastifyRequest, stream: GenerationStream): Promise<Generation> {
  const tokens: TokenEvent[] = [];
  for await (const event of stream) {
    if (event.type === "token") tokens.push(event);
    else {
      const generation = { ...completionOf(event), tokens };
      request.timing.ended(generation.generatedTokens, generation.finishReason, generation.promptTokens);
      const failure = endedEarly(request, generation);
      if (failure) throw failure;
      return generation;
    }
  }
  throw new HttpError(500, "internal_error", "the generation ended without a finish event");
}

function drained(res: FastifyReply["raw"]): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

/** Streams the generation in `format`, writing each token as it comes and waiting when the socket is full. */
export async function streamGeneration(request: FastifyRequest, reply: FastifyReply, stream: GenerationStream, format: StreamFormat): Promise<void> {
  const timing = request.timing;
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { ...(reply.getHeaders() as Record<string, string>), "content-type": format.contentType, "cache-control": "no-cache" });
  timing.responseStarted(200);
  const head = format.head();
  if (head) res.write(head);
  const tokens: TokenEvent[] = [];
  let last: TokenEvent | undefined;
  for await (const event of stream) {
    if (res.destroyed) break; // the client is gone; leaving the loop cancels the request
    if (event.type === "token") {
      tokens.push(event);
      // The finish event is queued behind it: the last token goes out with the tail. Tokens queued
      // before it (a remote engine's chunks can come several at a time) are written as they are.
      const held = last;
      if (stream.done) last = event;
      const write = stream.done ? held : event;
      if (!write) continue;
      const chunk = format.token(write);
      if (chunk && !res.write(chunk)) await drained(res);
      timing.tokenWritten(write.index);
      continue;
    }
    const generation = { ...completionOf(event), tokens };
    request.timing.ended(generation.generatedTokens, generation.finishReason, generation.promptTokens);
    const failure = endedEarly(request, generation);
    if (failure) {
      res.end(format.error(failure));
      return;
    }
    if (last) timing.tokenWritten(last.index);
    const b = timing.breakdown();
    res.end(format.tail(generation, last, b ? timingsObject(b) : undefined));
  }
}
