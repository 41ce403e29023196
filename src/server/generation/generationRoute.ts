/**
 * One generation path for every API family, as TGI's router has one generate
 * path with callbacks for all its routes: the engine is available → the
 * family parses its body (wire rules only) → the model name → submit → stream
 * in the family's format, or collect the whole generation and answer it.
 * A family says only what differs.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { EngineGeneration } from "../../engines/Engine.js";
import { RequestError } from "../../master/errors.js";
import type { GenerationStream } from "../../master/GenerationStream.js";
import type { RequestBreakdown } from "../../timing/requestBreakdown.js";
import type { ServerContext } from "../ServerContext.js";
import type { Generation, StreamFormat } from "./ResponseFormat.js";
import type { Operation } from "../httpTiming.js";
import { collectGeneration, streamGeneration, submitGeneration, timeResponse } from "./serveGeneration.js";

/** A whole response: its body, and the headers and content type it needs beyond the defaults. */
export interface WholeResponse {
  body: unknown;
  headers?: Record<string, string>;
  contentType?: string;
}

export interface GenerationRoute<R extends FastifyRequest, P> {
  operation: Operation;
  /** Runs first, before the engine is asked (llm-serving checks the model its URL names). */
  before?(request: R): void;
  /** The family's body → its parsed form (a bad body throws an HttpError naming the parameter). */
  parse(request: R): P;
  /** The model name the body gives, if the family has one. */
  model?(parsed: P): unknown;
  generation(parsed: P): EngineGeneration;
  streaming(parsed: P, request: R): boolean;
  streamFormat(parsed: P, stream: GenerationStream): StreamFormat;
  whole(parsed: P, generation: Generation, timing: { timings: object | undefined; breakdown: RequestBreakdown | undefined }, stream: GenerationStream): WholeResponse;
  /**
   * The family's own names for the engine's parameters where they differ
   * (OpenAI's max_tokens for max_new_tokens): a refusal names what the
   * client sent, not what the engine calls it.
   */
  paramNames?(request: R): Readonly<Record<string, string>>;
}

/** The engine's refusal, its parameter renamed as the family names it (in the message too). */
function renamed(err: unknown, names: Readonly<Record<string, string>> | undefined): unknown {
  if (!(err instanceof RequestError) || err.param === undefined || names === undefined || !Object.hasOwn(names, err.param)) return err;
  const wire = names[err.param];
  const asWord = new RegExp(`\\b${err.param.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\b`, "g");
  // A function, so that nothing in the wire name is read as a replacement pattern.
  return new RequestError(err.code, err.message.replace(asWord, () => wire), wire);
}

/** The fastify handler that serves `route`. */
export function generationHandler<R extends FastifyRequest, P>(ctx: ServerContext, route: GenerationRoute<R, P>) {
  return async (request: R, reply: FastifyReply): Promise<unknown> => {
    route.before?.(request);
    ctx.engine.ensureAvailable(request.admitted);
    const parsed = route.parse(request);
    if (route.model) ctx.checkModelName(route.model(parsed));
    // Every check of the body comes before the submit: a request refused afterwards would leave its generation running.
    const streaming = route.streaming(parsed, request);
    const generation = route.generation(parsed);
    const stream = await submitGeneration(ctx, request, generation, route.operation).catch((err: unknown) => {
      throw renamed(err, route.paramNames?.(request));
    });
    try {
      if (streaming) return await streamGeneration(request, reply, stream, route.streamFormat(parsed, stream));
      const whole = await collectGeneration(request, stream);
      const answer = route.whole(parsed, whole, timeResponse(request, reply), stream);
      if (answer.headers) reply.headers(answer.headers);
      if (answer.contentType) reply.type(answer.contentType);
      return reply.send(answer.body);
    } catch (err) {
      // Answering failed (a format's bug, a socket error): the engine must not go on generating for nobody.
      stream.cancel();
      throw err;
    }
  };
}
