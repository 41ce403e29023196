/** OpenAI-compatible routes: /v1/completions, /v1/chat/completions, /v1/models. */
import type { FastifyInstance, FastifyReply } from "fastify";
import type { GenerationStream } from "../../../master/GenerationStream.js";
import type { Engine } from "../../Engine.js";
import type { StreamFormat, Generation } from "../../generation/ResponseFormat.js";
import { collectGeneration, streamGeneration, submitGeneration } from "../../generation/serveGeneration.js";
import "../../requestTimeline.js";
import type { RequestTimeline } from "../../../timing/RequestTimeline.js";
import { ChatTemplate } from "./ChatTemplate.js";
import { chatResponse, chatStreamFormat, completionResponse, completionStreamFormat, type OpenAiIds, type TokenText } from "./openAiFormat.js";
import { parseChatBody, parseCompletionBody } from "./openAiParams.js";

export function registerOpenAiRoutes(app: FastifyInstance, engine: Engine): void {
  const config = { family: "openai" as const };
  let chatTemplate: ChatTemplate | undefined;
  const template = (): ChatTemplate => {
    const info = engine.requireMaster().agent.info;
    chatTemplate ??= new ChatTemplate(info.chatTemplate, { bos: info.bosText, eos: info.eosText });
    return chatTemplate;
  };

  const ids = (prefix: string, timeline: RequestTimeline): OpenAiIds => ({ id: `${prefix}-${timeline.id}`, created: Math.floor(Date.now() / 1000), model: engine.modelName });
  const texts = (): TokenText => {
    const agent = engine.requireMaster().agent;
    return { text: (id) => agent.tokenText(id) };
  };

  async function respond(
    reply: FastifyReply,
    timeline: RequestTimeline,
    stream: GenerationStream,
    streaming: boolean,
    format: () => StreamFormat,
    whole: (g: Generation) => object,
  ): Promise<unknown> {
    if (streaming) return streamGeneration(reply, stream, format(), timeline);
    return reply.send(whole(await collectGeneration(reply, stream)));
  }

  app.post("/v1/completions", { config }, async (request, reply) => {
    const body = parseCompletionBody(request.body);
    engine.checkModelName(body.model);
    const stream = submitGeneration(engine, request.timeline, { ...body.generation, prompt: body.prompt });
    const echo = body.echo ? (typeof body.prompt === "string" ? body.prompt : engine.requireMaster().agent.detokenize(body.prompt)) : "";
    const id = ids("cmpl", request.timeline);
    const logprobs = body.logprobs !== null;
    return respond(
      reply,
      request.timeline,
      stream,
      body.stream,
      () => completionStreamFormat(id, echo, logprobs, body.includeUsage, texts()),
      (g) => completionResponse(g, id, echo, logprobs, texts()),
    );
  });

  app.post("/v1/chat/completions", { config }, async (request, reply) => {
    const body = parseChatBody(request.body);
    engine.checkModelName(body.model);
    const t = template();
    const prompt = t.render(body.messages);
    const stream = submitGeneration(engine, request.timeline, { ...body.generation, prompt, specialTokens: t.fromModel });
    const id = ids("chatcmpl", request.timeline);
    return respond(
      reply,
      request.timeline,
      stream,
      body.stream,
      () => chatStreamFormat(id, body.logprobs, body.includeUsage, texts()),
      (g) => chatResponse(g, id, body.logprobs, texts()),
    );
  });

  app.get("/v1/models", { config }, async () => {
    engine.requireMaster();
    return { object: "list", data: [{ id: engine.modelName, object: "model", created: 0, owned_by: "llm-serving" }] };
  });
}
