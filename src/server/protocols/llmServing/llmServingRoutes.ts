/** MindSpore llm-serving's routes: existing clients of that server work unchanged. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { generationHandler, type GenerationRoute } from "../../generation/generationRoute.js";
import "../../requestTimeline.js";
import type { ServerContext } from "../../ServerContext.js";
import { modelInfo } from "../modelInfo.js";
import { fullResponse, llmServingStreamFormat, servingEvent } from "./llmServingFormat.js";
import { LLM_SERVING_MAX_STOP, parseLlmServingBody, type LlmServingRequest } from "./llmServingParams.js";
import { TGI_BODY_NAMES } from "../tgi/tgiParams.js";

type Mode = "full" | "stream" | "by-flag";
type ModelRequest = FastifyRequest<{ Params: { model: string } }>;

export function registerLlmServingRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { engine } = ctx;
  const config = { family: "llm-serving" as const };

  const route = (mode: Mode): GenerationRoute<ModelRequest, LlmServingRequest> => ({
    operation: "text_completion",
    before: (request) => ctx.checkModelName(request.params.model, "model"),
    parse: (request) => parseLlmServingBody(request.body, engine.model!.info?.vocabSize ?? Number.MAX_SAFE_INTEGER),
    generation: (parsed) => parsed.generation,
    streaming: (parsed) => mode === "stream" || (mode === "by-flag" && parsed.stream === true),
    streamFormat: (parsed) => llmServingStreamFormat(parsed.returnProtocol, parsed.returnFullText),
    whole: (_parsed, generation, { timings }) => ({ body: `${JSON.stringify(fullResponse(generation, timings))}\n`, contentType: "application/json" }),
    paramNames: () => TGI_BODY_NAMES,
  });

  app.post("/models/:model/generate", { config }, generationHandler(ctx, route("full")));
  app.post("/models/:model/generate_stream", { config }, generationHandler(ctx, route("stream")));
  app.post("/models/:model", { config }, generationHandler(ctx, route("by-flag")));

  const serving = (data: () => unknown) => async (_request: FastifyRequest, reply: FastifyReply) => reply.type("text/event-stream; charset=utf-8").send(servingEvent(data()));
  app.get("/serving/get_bs", { config }, serving(() => engine.stats().running));
  app.get("/serving/get_request_numbers", { config }, serving(() => engine.stats().waiting));
  app.get("/serving/get_serverd_model_info", { config }, serving(() => modelInfo(engine, LLM_SERVING_MAX_STOP)));
}
