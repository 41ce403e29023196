/** TGI's routes: / (streamed or not by its "stream" flag, as TGI serves it), /generate, /generate_stream and /info. */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { tgiTimingHeaders } from "../../../timing/responseTimings.js";
import type { GenerationStream } from "../../../master/GenerationStream.js";
import { generationHandler, type GenerationRoute } from "../../generation/generationRoute.js";
import "../../requestTimeline.js";
import type { ServerContext } from "../../ServerContext.js";
import { modelInfo } from "../modelInfo.js";
import { boolean, or, type Json } from "../values.js";
import { tgiResponse, tgiStreamFormat, type TgiOptions, type TokenTexts } from "./tgiFormat.js";
import { parseTgiBody, TGI_BODY_NAMES, TGI_MAX_STOP, type TgiRequest } from "./tgiParams.js";

type Mode = "whole" | "stream" | "by-flag";


export function registerTgiRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { engine } = ctx;
  const config = { family: "tgi" as const };
  const texts = (): TokenTexts => engine.tokens!;
  const options = (parsed: TgiRequest, stream: GenerationStream): TgiOptions => ({
    details: parsed.details,
    decoderInputDetails: parsed.decoderInputDetails,
    prefix: parsed.returnFullText ? parsed.inputs : "",
    topN: parsed.generation.topLogprobs ?? 0,
    prompt: stream.prompt,
    showSeed: parsed.showSeed,
  });

  const route = (mode: Mode): GenerationRoute<FastifyRequest, TgiRequest> => ({
    operation: "text_completion",
    parse: (request) => parseTgiBody(request.body),
    paramNames: () => TGI_BODY_NAMES,
    generation: (parsed) => parsed.generation,
    // TGI's POST / reads "stream" beside "inputs" and "parameters" (its other routes have no such field).
    streaming: (_parsed, request) => mode === "stream" || (mode === "by-flag" && or((request.body as Json).stream, boolean, "stream", false)),
    streamFormat: (parsed, stream) => tgiStreamFormat(options(parsed, stream), texts()),
    whole: (parsed, generation, { timings, breakdown }, stream) => {
      const body = tgiResponse(generation, options(parsed, stream), texts(), timings);
      return {
        // TGI's POST / answers a list of one generation, as its compat route does.
        body: mode === "by-flag" ? [body] : body,
        // TGI counts the characters of the inputs (Unicode scalar values).
        headers: breakdown ? tgiTimingHeaders(breakdown, [...parsed.inputs].length) : undefined,
      };
    },
  });

  app.post("/", { config }, generationHandler(ctx, route("by-flag")));
  app.post("/generate", { config }, generationHandler(ctx, route("whole")));
  app.post("/generate_stream", { config }, generationHandler(ctx, route("stream")));
  app.get("/info", { config }, async () => modelInfo(engine, TGI_MAX_STOP));
}
