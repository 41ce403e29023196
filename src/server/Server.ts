/**
 * The HTTP server: fastify, one engine beside it in the same process (native
 * decoding runs off the JS thread). Its lifecycle per request: a timeline and
 * an id at the first hook, the body parsed, the route's API family turning
 * the body into a GenerationRequest, the response written; errors in the
 * family's own JSON shape.
 */
import { randomUUID } from "node:crypto";
import Fastify, { type FastifyInstance } from "fastify";
import { HttpPoint } from "../timing/points.js";
import { RequestTimeline } from "../timing/RequestTimeline.js";
import { TimelineStore } from "../timing/TimelineStore.js";
import type { ServeConfig } from "./config/ServeConfig.js";
import { Engine } from "./Engine.js";
import { errorBody, HttpError, toHttpError } from "./httpErrors.js";
import { registerLlmServingRoutes } from "./protocols/llmServing/llmServingRoutes.js";
import { registerOpenAiRoutes } from "./protocols/openai/openAiRoutes.js";
import { registerTgiRoutes } from "./protocols/tgi/tgiRoutes.js";
import "./requestTimeline.js";
import { registerOperationsRoutes } from "./routes/operationsRoutes.js";

/** After the engine has drained, how long responses get to write their last bytes. */
const CLOSE_GRACE_MS = 2000;

/** Incoming x-request-id values we keep: printable ASCII without spaces, at most 128 characters. */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

export interface ServerOptions {
  config: ServeConfig;
  /** Resolves the model file (the default model may have to be made). */
  resolveModelPath: () => Promise<string>;
  /** How many recent request timelines to keep. */
  timelineCapacity?: number;
}

export class LlmServer {
  readonly app: FastifyInstance;
  readonly engine: Engine;
  readonly timelines: TimelineStore;
  private closing: Promise<boolean> | undefined;

  constructor(options: ServerOptions) {
    this.timelines = new TimelineStore(options.timelineCapacity ?? 1000);
    this.app = Fastify({
      logger: false,
      requestIdHeader: false,
      genReqId: (req) => {
        const incoming = req.headers["x-request-id"];
        return typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID();
      },
      bodyLimit: 1 << 20,
      return503OnClosing: true,
    });
    this.engine = new Engine(options.config, options.resolveModelPath);
    this.installLifecycle();
    registerLlmServingRoutes(this.app, this.engine);
    registerTgiRoutes(this.app, this.engine);
    registerOpenAiRoutes(this.app, this.engine);
    registerOperationsRoutes(this.app, this.engine, this.timelines);
  }

  private installLifecycle(): void {
    const app = this.app;
    app.decorateRequest("timeline", undefined as unknown as RequestTimeline);
    app.addHook("onRequest", async (request, reply) => {
      const timeline = new RequestTimeline(request.id);
      timeline.http.mark(HttpPoint.received);
      timeline.route = `${request.method} ${request.routeOptions.url ?? request.url}`;
      request.timeline = timeline;
      this.timelines.add(timeline);
      reply.header("x-request-id", request.id);
    });
    app.addHook("preValidation", async (request) => {
      request.timeline.http.mark(HttpPoint.body_parsed);
    });
    app.addHook("onSend", async (request, reply, payload) => {
      request.timeline.status = reply.statusCode;
      request.timeline.http.mark(HttpPoint.response_started);
      return payload;
    });
    app.addHook("onResponse", async (request) => {
      request.timeline.http.mark(HttpPoint.response_ended);
    });
    // Clients that forget Content-Type: application/json still get their JSON read.
    app.addContentTypeParser(["text/plain", "application/x-www-form-urlencoded"], { parseAs: "string" }, (_request, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch {
        done(new HttpError(400, "invalid_json", "the body is not valid JSON"));
      }
    });
    app.setErrorHandler(async (err, request, reply) => {
      const e = toHttpError(err);
      const { status, body } = errorBody(request.routeOptions.config.family ?? "operations", e);
      return reply.code(status).headers(e.headers).send(body);
    });
    app.setNotFoundHandler(async (request, reply) => {
      const { status, body } = errorBody("operations", new HttpError(404, "not_found", `no route ${request.method} ${request.url}`));
      return reply.code(status).send(body);
    });
  }

  async listen(host: string, port: number): Promise<string> {
    return this.app.listen({ host, port });
  }

  /**
   * Graceful shutdown: stop accepting connections, let in-flight requests
   * finish for up to `timeoutMs` (then cancel them), free the model.
   * Resolves true if everything finished in time.
   */
  close(timeoutMs: number): Promise<boolean> {
    this.closing ??= (async () => {
      const httpClosed = this.app.close();
      const finished = await this.engine.drain(timeoutMs);
      // Generations are over; their responses end within moments. Keep-alive connections would
      // hold the close for their whole timeout: close each as soon as it is idle, and any left after a grace.
      const sweep = setInterval(() => this.app.server.closeIdleConnections(), 20);
      const grace = setTimeout(() => this.app.server.closeAllConnections(), CLOSE_GRACE_MS);
      await httpClosed;
      clearInterval(sweep);
      clearTimeout(grace);
      await this.engine.dispose();
      return finished;
    })();
    return this.closing;
  }
}
