/** TGI's routes: / (streamed or not by its "stream" flag, as TGI serves it), /generate, /generate_stream and /info. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { tgiTimingHeaders } from "../../../timing/responseTimings.js";
import { collectGeneration, streamGeneration, submitGeneration, timeResponse } from "../../generation/serveGeneration.js";
import "../../requestTimeline.js";
import type { ServerContext } from "../../ServerContext.js";
import { modelInfo } from "../modelInfo.js";
import { boolean, or, type Json } from "../values.js";
import { tgiResponse, tgiStreamFormat, type TgiOptions, type TokenTexts } from "./tgiFormat.js";
import { parseTgiBody } from "./tgiParams.js";

type Mode = "whole" | "stream" | "by-flag";

export function registerTgiRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { engine } = ctx;
  const config = { family: "tgi" as const };

  const generate = (mode: Mode) => async (request: FastifyRequest, reply: FastifyReply) => {
    engine.ensureAvailable(request.admitted);
    const parsed = parseTgiBody(request.body);
    // TGI's POST / reads "stream" beside "inputs" and "parameters" (its other routes have no such field).
    const streaming = mode === "stream" || (mode === "by-flag" && or((request.body as Json).stream, boolean, "stream", false));
    const stream = await submitGeneration(ctx, request, parsed.generation, "text_completion");
    const tokens = engine.tokens!;
    const texts: TokenTexts = { text: (id) => tokens.text(id), special: (id) => tokens.isSpecial(id) };
    const options: TgiOptions = {
      details: parsed.details,
      decoderInputDetails: parsed.decoderInputDetails,
      prefix: parsed.returnFullText ? parsed.inputs : "",
      topN: parsed.generation.topLogprobs ?? 0,
      prompt: stream.prompt,
      showSeed: parsed.showSeed,
    };
    if (streaming) return streamGeneration(ctx, request, reply, stream, tgiStreamFormat(options, texts));
    const generation = await collectGeneration(request, stream);
    const { timings, breakdown } = timeResponse(ctx, request, reply);
    // TGI counts the characters of the inputs (Unicode scalar values).
    if (breakdown) reply.headers(tgiTimingHeaders(breakdown, [...parsed.inputs].length));
    // TGI's POST / answers a list of one generation, as its compat route does.
    const body = tgiResponse(generation, options, texts, timings);
    return reply.send(mode === "by-flag" ? [body] : body);
  };

  app.post("/", { config }, generate("by-flag"));
  app.post("/generate", { config }, generate("whole"));
  app.post("/generate_stream", { config }, generate("stream"));
  app.get("/info", { config }, async () => modelInfo(engine));
}
