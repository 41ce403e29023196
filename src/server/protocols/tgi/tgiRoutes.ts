/** TGI's routes: /generate, /generate_stream and /info. */
import type { FastifyInstance } from "fastify";
import type { Engine } from "../../Engine.js";
import { collectGeneration, streamGeneration, submitGeneration } from "../../generation/serveGeneration.js";
import "../../requestTimeline.js";
import { modelInfo } from "../modelInfo.js";
import { tgiResponse, tgiStreamFormat, type TgiOptions, type TokenTexts } from "./tgiFormat.js";
import { parseTgiBody } from "./tgiParams.js";

export function registerTgiRoutes(app: FastifyInstance, engine: Engine): void {
  const config = { family: "tgi" as const };

  const prepare = (body: unknown, timelineRequest: Parameters<typeof submitGeneration>[1]) => {
    const master = engine.requireMaster();
    const parsed = parseTgiBody(body);
    const stream = submitGeneration(engine, timelineRequest, parsed.generation);
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
    const { stream, texts, options } = prepare(request.body, request.timeline);
    const generation = await collectGeneration(reply, stream);
    return reply.send(tgiResponse(generation, options, texts));
  });

  app.post("/generate_stream", { config }, async (request, reply) => {
    const { stream, texts, options } = prepare(request.body, request.timeline);
    return streamGeneration(reply, stream, tgiStreamFormat(options, texts), request.timeline);
  });

  app.get("/info", { config }, async () => modelInfo(engine));
}
