/** MindSpore llm-serving's routes: existing clients of that server work unchanged. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { collectGeneration, streamGeneration, submitGeneration, timeResponse } from "../../generation/serveGeneration.js";
import "../../requestTimeline.js";
import type { ServerContext } from "../../ServerContext.js";
import { modelInfo } from "../modelInfo.js";
import { fullResponse, llmServingStreamFormat, servingEvent } from "./llmServingFormat.js";
import { parseLlmServingBody } from "./llmServingParams.js";

type Mode = "full" | "stream" | "by-flag";

export function registerLlmServingRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { engine } = ctx;
  const config = { family: "llm-serving" as const };

  const generate = (mode: Mode) => async (request: FastifyRequest<{ Params: { model: string } }>, reply: FastifyReply) => {
    ctx.checkModelName(request.params.model, "model");
    engine.ensureAvailable(request.admitted);
    const parsed = parseLlmServingBody(request.body, engine.model!.info.vocabSize);
    const stream = await submitGeneration(ctx, request, parsed.generation, "text_completion");
    const streaming = mode === "stream" || (mode === "by-flag" && parsed.stream === true);
    if (streaming) return streamGeneration(ctx, request, reply, stream, llmServingStreamFormat(parsed.returnProtocol, parsed.returnFullText));
    const generation = await collectGeneration(request, stream);
    const { timings } = timeResponse(ctx, request, reply);
    return reply.type("application/json").send(`${JSON.stringify(fullResponse(generation, timings))}\n`);
  };

  app.post("/models/:model/generate", { config }, generate("full"));
  app.post("/models/:model/generate_stream", { config }, generate("stream"));
  app.post("/models/:model", { config }, generate("by-flag"));

  const serving = (data: () => unknown) => async (_request: FastifyRequest, reply: FastifyReply) => reply.type("text/event-stream; charset=utf-8").send(servingEvent(data()));
  app.get("/serving/get_bs", { config }, serving(() => engine.stats().running));
  app.get("/serving/get_request_numbers", { config }, serving(() => engine.stats().waiting));
  app.get("/serving/get_serverd_model_info", { config }, serving(() => modelInfo(engine)));
}
