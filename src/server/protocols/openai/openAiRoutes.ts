/** OpenAI-compatible routes: /v1/completions, /v1/chat/completions, /v1/models (and /v1/models/{id}). */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { generationHandler } from "../../generation/generationRoute.js";
import { quotedText } from "../../../text/shownText.js";
import { HttpError } from "../../httpErrors.js";
import "../../requestTimeline.js";
import type { ServerContext } from "../../ServerContext.js";
import { chatResponse, chatStreamFormat, completionResponse, completionStreamFormat, type OpenAiIds, type TokenText } from "./openAiFormat.js";
import { parseChatBody, parseCompletionBody, type CompletionRequest } from "./openAiParams.js";

const sent = (body: unknown, key: string): boolean => typeof body === "object" && body !== null && (body as Record<string, unknown>)[key] !== undefined && (body as Record<string, unknown>)[key] !== null;

export function registerOpenAiRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { engine } = ctx;
  const config = { family: "openai" as const };
  const ids = (prefix: string, request: FastifyRequest): OpenAiIds => ({ id: `${prefix}-${request.id}`, created: Math.floor(Date.now() / 1000), model: engine.modelName });
  const texts = (): TokenText => engine.tokens!;
  const echo = (body: CompletionRequest): string => (body.echo ? (typeof body.prompt === "string" ? body.prompt : engine.tokens!.detokenize(body.prompt)) : "");

  // Each response's id is made as its body is read, so that a stream and a whole response name it the same way.
  app.post(
    "/v1/completions",
    { config },
    generationHandler(ctx, {
      operation: "text_completion",
      parse: (request) => ({ ...parseCompletionBody(request.body), id: ids("cmpl", request) }),
      model: (body) => body.model,
      generation: (body) => ({ ...body.generation, prompt: body.prompt }),
      streaming: (body) => body.stream,
      streamFormat: (body) => completionStreamFormat(body.id, echo(body), body.logprobs !== null, body.includeUsage, texts()),
      whole: (body, g, { timings }) => ({ body: completionResponse(g, body.id, echo(body), body.logprobs !== null, texts(), timings) }),
      paramNames: () => ({ max_new_tokens: "max_tokens", top_logprobs: "logprobs" }),
    }),
  );

  app.post(
    "/v1/chat/completions",
    { config },
    generationHandler(ctx, {
      operation: "chat",
      parse: (request) => ({ ...parseChatBody(request.body), id: ids("chatcmpl", request) }),
      model: (body) => body.model,
      // The engine makes the prompt from the messages (with the model's chat template).
      generation: (body) => ({ ...body.generation, messages: body.messages }),
      streaming: (body) => body.stream,
      streamFormat: (body) => chatStreamFormat(body.id, body.logprobs, body.includeUsage, texts()),
      whole: (body, g, { timings }) => ({ body: chatResponse(g, body.id, body.logprobs, texts(), timings) }),
      // The prompt is made from the messages; max_completion_tokens wins over max_tokens when both are sent.
      paramNames: (request) => ({ max_new_tokens: sent(request.body, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens", prompt: "messages" }),
    }),
  );

  // A model's `created`: when this server began serving it (OpenAI's is when the model was made; vLLM gives the time of the request).
  const created = Math.floor(Date.now() / 1000);
  const card = () => ({ id: engine.modelName, object: "model", created, owned_by: "llm-serving" });
  app.get("/v1/models", { config }, async () => {
    engine.ensureAvailable();
    return { object: "list", data: [card()] };
  });
  // The SDK's models.retrieve(id); a name may hold "/" ("org/model").
  app.get<{ Params: { "*": string } }>("/v1/models/*", { config }, async (request) => {
    engine.ensureAvailable();
    const id = request.params["*"];
    if (id !== engine.modelName) throw new HttpError(404, "model_not_found", `model ${quotedText(id, 200)} is not served here; this server serves ${JSON.stringify(engine.modelName)}`, "model");
    return card();
  });
}
