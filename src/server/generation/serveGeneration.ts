/**
 * The part of every generation route that does not depend on the API family:
 * submit to the master (marking the timeline), then either collect the whole
 * generation or stream it. A client that goes away cancels its request: its
 * row leaves the batch at the next step.
 */
import type { FastifyReply } from "fastify";
import type { GenerationRequest } from "../../master/GenerationRequest.js";
import { completionOf, type GenerationStream, type TokenEvent } from "../../master/GenerationStream.js";
import { now } from "../../timing/clock.js";
import { HttpPoint } from "../../timing/points.js";
import type { RequestTimeline } from "../../timing/RequestTimeline.js";
import type { Engine } from "../Engine.js";
import { HttpError, toHttpError } from "../httpErrors.js";
import type { Generation, StreamFormat } from "./ResponseFormat.js";

export function submitGeneration(engine: Engine, timeline: RequestTimeline, request: GenerationRequest): GenerationStream {
  const master = engine.requireMaster();
  timeline.http.mark(HttpPoint.validated);
  const stream = master.submit({ ...request, id: timeline.id });
  timeline.attach(stream.marks, stream.tokenTimes);
  return stream;
}

/** Cancels the generation if the connection closes before the response is complete. */
function cancelOnDisconnect(reply: FastifyReply, stream: GenerationStream): void {
  reply.raw.once("close", () => {
    if (!reply.raw.writableFinished) stream.cancel();
  });
}

function endedEarly(g: Generation): HttpError | undefined {
  if (g.finishReason === "error") return toHttpError(g.error);
  if (g.finishReason === "cancelled") return new HttpError(503, "cancelled", "the request was cancelled (the server is shutting down)");
  return undefined;
}

/** Waits for the whole generation; throws an HttpError if it did not complete. */
export async function collectGeneration(reply: FastifyReply, stream: GenerationStream): Promise<Generation> {
  cancelOnDisconnect(reply, stream);
  const tokens: TokenEvent[] = [];
  for await (const event of stream) {
    if (event.type === "token") tokens.push(event);
    else {
      const generation = { ...completionOf(event), tokens };
      const failure = endedEarly(generation);
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
export async function streamGeneration(reply: FastifyReply, stream: GenerationStream, format: StreamFormat, timeline: RequestTimeline): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  res.once("finish", () => timeline.http.mark(HttpPoint.response_ended));
  cancelOnDisconnect(reply, stream);
  res.writeHead(200, { ...(reply.getHeaders() as Record<string, string>), "content-type": format.contentType, "cache-control": "no-cache" });
  timeline.status = 200;
  timeline.http.mark(HttpPoint.response_started);
  const head = format.head();
  if (head) res.write(head);
  const written = timeline.tokenWritten;
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
      if (written) written[event.index] = now();
      continue;
    }
    const generation = { ...completionOf(event), tokens };
    const failure = endedEarly(generation);
    res.end(failure ? format.error(failure) : format.tail(generation, last));
    if (written && last) written[last.index] = now();
  }
}
