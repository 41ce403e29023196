/**
 * The part of every generation route that does not depend on the API family:
 * submit to the master (linking the request's timeline to the engine's
 * trace), then either collect the whole generation or stream it, with the
 * request's timings when timing is on. A client that goes away cancels its
 * request wherever it is (the master takes the disconnect as its signal).
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { GenerationRequest } from "../../master/GenerationRequest.js";
import { completionOf, type GenerationStream, type TokenEvent } from "../../master/GenerationStream.js";
import { now } from "../../timing/clock.js";
import { HttpPoint } from "../../timing/points.js";
import { RequestTrace } from "../../timing/RequestTrace.js";
import { serverTimingHeader, timingsObject } from "../../timing/responseTimings.js";
import type { RequestBreakdown } from "../../timing/requestBreakdown.js";
import type { RequestTimeline } from "../../timing/RequestTimeline.js";
import { HttpError, toHttpError } from "../httpErrors.js";
import "../requestTimeline.js";
import type { ServerContext } from "../ServerContext.js";
import type { Generation, StreamFormat } from "./ResponseFormat.js";

/** OpenTelemetry's gen_ai.operation.name of a route. */
export type Operation = "text_completion" | "chat";

/**
 * Tokenizes and queues the generation on the engine (a request received
 * before a drain began is still let in: it was admitted).
 */
export async function submitGeneration(ctx: ServerContext, request: FastifyRequest, generation: Omit<GenerationRequest, "id">, operation: Operation): Promise<GenerationStream> {
  const timeline = request.timeline;
  timeline?.http.mark(HttpPoint.validated);
  // Made here, so that a prompt refused after tokenizing still shows its tokenize time.
  if (timeline) timeline.trace = new RequestTrace();
  // The client's disconnect cancels the request wherever it is, even while its prompt is tokenized.
  const submitted = ctx.engine.generate({ ...generation, id: request.id, trace: timeline?.trace, signal: request.disconnected }, request.admitted === true);
  // Known before the tokenizing ends: a client that leaves meanwhile is logged and measured once the engine is done.
  request.generationDone = submitted.then(
    async (stream) => {
      request.generation = stream;
      await stream.completion;
    },
    () => undefined,
  );
  if (timeline) timeline.genAi = genAiAttributes(ctx, generation, operation);
  let stream: GenerationStream;
  try {
    stream = await submitted;
  } catch (err) {
    // Refused: not a generation for the metrics.
    if (timeline) timeline.genAi = undefined;
    throw err;
  } finally {
    request.settle?.();
  }
  if (timeline) {
    timeline.promptTokens = stream.prompt.length;
    timeline.genAi!.seed = stream.seed;
  }
  return stream;
}

function genAiAttributes(ctx: ServerContext, generation: Omit<GenerationRequest, "id">, operation: Operation): NonNullable<RequestTimeline["genAi"]> {
  const s = generation.sampling;
  return {
    operation,
    model: ctx.engine.modelName,
    maxTokens: generation.fitContext ? undefined : generation.maxNewTokens,
    temperature: s?.temperature,
    topP: s?.topP,
    topK: s?.topK,
    seed: undefined,
  };
}

/** The request's timings so far, when timing is on. */
export function breakdownNow(ctx: ServerContext, request: FastifyRequest): RequestBreakdown | undefined {
  return ctx.instrumentation && request.timeline ? ctx.instrumentation.breakdown(request.timeline) : undefined;
}

/** Server-Timing on the reply and the `timings` object for the body (undefined when timing is off). */
export function timeResponse(ctx: ServerContext, request: FastifyRequest, reply: FastifyReply): { timings: object | undefined; breakdown: RequestBreakdown | undefined } {
  const b = breakdownNow(ctx, request);
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

function noteCompletion(request: FastifyRequest, g: Generation): void {
  if (!request.timeline) return;
  request.timeline.generatedTokens = g.generatedTokens;
  request.timeline.finishReason = g.finishReason;
}

/** Waits for the whole generation; throws an HttpError if it did not complete. */
export async function collectGeneration(request: FastifyRequest, stream: GenerationStream): Promise<Generation> {
  const tokens: TokenEvent[] = [];
  for await (const event of stream) {
    if (event.type === "token") tokens.push(event);
    else {
      const generation = { ...completionOf(event), tokens };
      noteCompletion(request, generation);
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
export async function streamGeneration(ctx: ServerContext, request: FastifyRequest, reply: FastifyReply, stream: GenerationStream, format: StreamFormat): Promise<void> {
  const timeline = request.timeline;
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { ...(reply.getHeaders() as Record<string, string>), "content-type": format.contentType, "cache-control": "no-cache" });
  if (timeline) {
    timeline.status = 200;
    timeline.http.mark(HttpPoint.response_started);
  }
  const head = format.head();
  if (head) res.write(head);
  const written = timeline ? stream.trace.tokenWritten : undefined;
  const tokens: TokenEvent[] = [];
  let last: TokenEvent | undefined;
  for await (const event of stream) {
    if (res.destroyed) break; // the client is gone; leaving the loop cancels the request
    if (event.type === "token") {
      tokens.push(event);
      if (stream.done) {
        last = event; // the finish event is already queued behind it
        continue;
      }
      const chunk = format.token(event);
      if (chunk && !res.write(chunk)) await drained(res);
      written?.set(event.index, now());
      continue;
    }
    const generation = { ...completionOf(event), tokens };
    noteCompletion(request, generation);
    const failure = endedEarly(request, generation);
    if (failure) {
      res.end(format.error(failure));
      return;
    }
    if (last) written?.set(last.index, now());
    const b = breakdownNow(ctx, request);
    res.end(format.tail(generation, last, b ? timingsObject(b) : undefined));
  }
}
