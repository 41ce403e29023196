/** OpenAI-compatible routes: /v1/completions, /v1/chat/completions, /v1/models. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { GenerationStream } from "../../../master/GenerationStream.js";
import type { ServerContext } from "../../ServerContext.js";
import type { StreamFormat, Generation } from "../../generation/ResponseFormat.js";
import { collectGeneration, streamGeneration, submitGeneration, timeResponse } from "../../generation/serveGeneration.js";
import "../../requestTimeline.js";
import { ChatTemplate } from "./ChatTemplate.js";
import { chatResponse, chatStreamFormat, completionResponse, completionStreamFormat, type OpenAiIds, type TokenText } from "./openAiFormat.js";
import { parseChatBody, parseCompletionBody } from "./openAiParams.js";

export function registerOpenAiRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { engine } = ctx;
  const config = { family: "openai" as const };
  let chatTemplate: ChatTemplate | undefined;
  const template = (): ChatTemplate => {
    const info = engine.model!.info;
    chatTemplate ??= new ChatTemplate(info.chatTemplate, { bos: info.bosText, eos: info.eosText });
    return chatTemplate;
  };

  const ids = (prefix: string, request: FastifyRequest): OpenAiIds => ({ id: `${prefix}-${request.id}`, created: Math.floor(Date.now() / 1000), model: engine.modelName });
  const texts = (): TokenText => {
    const tokens = engine.tokens!;
    return { text: (id) => tokens.text(id) };
  };

  async function respond(
    request: FastifyRequest,
    reply: FastifyReply,
    stream: GenerationStream,
    streaming: boolean,
    format: () => StreamFormat,
    whole: (g: Generation, timings: object | undefined) => object,
  ): Promise<unknown> {
    if (streaming) return streamGeneration(ctx, request, reply, stream, format());
    const generation = await collectGeneration(request, stream);
    const { timings } = timeResponse(ctx, request, reply);
    return reply.send(whole(generation, timings));
  }

  app.post("/v1/completions", { config }, async (request, reply) => {
    engine.ensureAvailable(request.admitted);
    const body = parseCompletionBody(request.body);
    ctx.checkModelName(body.model);
    const stream = await submitGeneration(ctx, request, { ...body.generation, prompt: body.prompt }, "text_completion");
    const echo = body.echo ? (typeof body.prompt === "string" ? body.prompt : engine.tokens!.detokenize(body.prompt)) : "";
    const id = ids("cmpl", request);
    const logprobs = body.logprobs !== null;
    return respond(
      request,
      reply,
      stream,
      body.stream,
      () => completionStreamFormat(id, echo, logprobs, body.includeUsage, texts()),
      (g, timings) => completionResponse(g, id, echo, logprobs, texts(), timings),
    );
  });

  app.post("/v1/chat/completions", { config }, async (request, reply) => {
    engine.ensureAvailable(request.admitted);
    const body = parseChatBody(request.body);
    ctx.checkModelName(body.model);
    const t = template();
    const prompt = t.render(body.messages);
    const stream = await submitGeneration(ctx, request, { ...body.generation, prompt, specialTokens: t.fromModel }, "chat");
    const id = ids("chatcmpl", request);
    return respond(
      request,
      reply,
      stream,
      body.stream,
      () => chatStreamFormat(id, body.logprobs, body.includeUsage, texts()),
      (g, timings) => chatResponse(g, id, body.logprobs, texts(), timings),
    );
  });

  app.get("/v1/models", { config }, async () => {
    engine.ensureAvailable();
    return { object: "list", data: [{ id: engine.modelName, object: "model", created: 0, owned_by: "llm-serving" }] };
  });
}
