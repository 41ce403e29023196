/** TGI's routes: /generate, /generate_stream and /info. */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { tgiTimingHeaders } from "../../../timing/responseTimings.js";
import { collectGeneration, streamGeneration, submitGeneration, timeResponse } from "../../generation/serveGeneration.js";
import "../../requestTimeline.js";
import type { ServerContext } from "../../ServerContext.js";
import { modelInfo } from "../modelInfo.js";
import { tgiResponse, tgiStreamFormat, type TgiOptions, type TokenTexts } from "./tgiFormat.js";
import { parseTgiBody } from "./tgiParams.js";

export function registerTgiRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { engine } = ctx;
  const config = { family: "tgi" as const };

  const prepare = (request: FastifyRequest) => {
    const master = engine.requireMaster();
    const parsed = parseTgiBody(request.body);
    const stream = submitGeneration(ctx, request, parsed.generation, "text_completion");
    const texts: TokenTexts = { text: (id) => master.agent.tokenText(id), special: (id) => master.agent.isSpecial(id) };
    const options: TgiOptions = {
      details: parsed.details,
      decoderInputDetails: parsed.decoderInputDetails,
      prefix: parsed.returnFullText ? parsed.inputs : "",
      topN: parsed.generation.topLogprobs ?? 0,
      prompt: stream.prompt,
    };
    return { stream, texts, options };
  };

  app.post("/generate", { config }, async (request, reply) => {
    const { stream, texts, options } = prepare(request);
    const generation = await collectGeneration(request, reply, stream);
    const { timings, breakdown } = timeResponse(ctx, request, reply);
    if (breakdown) reply.headers(tgiTimingHeaders(breakdown, generation.text.length));
    return reply.send(tgiResponse(generation, options, texts, timings));
  });

  app.post("/generate_stream", { config }, async (request, reply) => {
    const { stream, texts, options } = prepare(request);
    return streamGeneration(ctx, request, reply, stream, tgiStreamFormat(options, texts));
  });

  app.get("/info", { config }, async () => modelInfo(engine));
}
