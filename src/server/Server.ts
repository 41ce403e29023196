/**
 * The HTTP server: fastify, one engine beside it in the same process (native
 * decoding runs off the JS thread). Its lifecycle per request: a timeline and
 * an id at the first hook (the time Node handed us the request is taken even
 * earlier, before fastify), the body parsed, the route's API family turning
 * the body into a GenerationRequest, the response written; errors in the
 * family's own JSON shape.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import Fastify, { type FastifyInstance } from "fastify";
import { now } from "../timing/clock.js";
import { Instrumentation } from "../timing/Instrumentation.js";
import { Logger } from "../timing/Logger.js";
import { readTraceparent } from "../timing/OtelExporter.js";
import { HttpPoint } from "../timing/points.js";
import type { RequestTimeline } from "../timing/RequestTimeline.js";
import type { ServeConfig } from "./config/ServeConfig.js";
import { Engine } from "./Engine.js";
import { errorBody, HttpError, toHttpError } from "./httpErrors.js";
import { registerLlmServingRoutes } from "./protocols/llmServing/llmServingRoutes.js";
import { registerOpenAiRoutes } from "./protocols/openai/openAiRoutes.js";
import { registerTgiRoutes } from "./protocols/tgi/tgiRoutes.js";
import "./requestTimeline.js";
import { registerOperationsRoutes } from "./routes/operationsRoutes.js";
import type { ServerContext } from "./ServerContext.js";

/** After the engine has drained, how long responses get to write their last bytes. */
const CLOSE_GRACE_MS = 2000;

/** Incoming x-request-id values we keep: printable ASCII without spaces, at most 128 characters. */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** When Node handed us the request (its headers read, its body not yet): the earliest time point it exposes. */
const RECEIVED = Symbol("llm-serving.received");
type TimedRequest = IncomingMessage & { [RECEIVED]?: number };

export interface ServerOptions {
  config: ServeConfig;
  /** Resolves the model file (the default model may have to be made). */
  resolveModelPath: () => Promise<string>;
  logger?: Logger;
}

export class LlmServer {
  readonly app: FastifyInstance;
  readonly engine: Engine;
  /** The timing instruments; undefined when timing is off. */
  readonly instrumentation: Instrumentation | undefined;
  readonly logger: Logger;
  private closing: Promise<boolean> | undefined;

  constructor(options: ServerOptions) {
    const config = options.config;
    this.logger = options.logger ?? new Logger(config.logLevel);
    this.app = Fastify({
      logger: false,
      requestIdHeader: false,
      genReqId: (req) => {
        const incoming = req.headers["x-request-id"];
        return typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID();
      },
      bodyLimit: 1 << 20,
      return503OnClosing: true,
      serverFactory: (handler) =>
        createServer((req: TimedRequest, res: ServerResponse) => {
          req[RECEIVED] = now();
          handler(req, res);
        }),
    });
    this.instrumentation = config.timing
      ? new Instrumentation({
          timelines: config.timelineCapacity,
          steps: config.stepCapacity,
          loopResolutionMs: config.loopResolutionMs,
          timelineFile: config.timelineFile,
          otlpEndpoint: config.otlpEndpoint,
          logger: this.logger,
          gauges: () => (this.engine.state === "ready" ? this.engine.master?.stats : undefined),
          model: () => this.engine.modelName,
        })
      : undefined;
    const instrumentation = this.instrumentation;
    this.engine = new Engine(config, options.resolveModelPath, instrumentation ? (step) => instrumentation.recordStep(step) : undefined);
    const ctx: ServerContext = { engine: this.engine, instrumentation, logger: this.logger };
    this.installLifecycle(ctx);
    registerLlmServingRoutes(this.app, ctx);
    registerTgiRoutes(this.app, ctx);
    registerOpenAiRoutes(this.app, ctx);
    registerOperationsRoutes(this.app, ctx);
  }

  private installLifecycle(ctx: ServerContext): void {
    const app = this.app;
    app.decorateRequest("timeline", undefined);
    app.addHook("onRequest", async (request, reply) => {
      reply.header("x-request-id", request.id);
      const instrumentation = ctx.instrumentation;
      // Health checks, scrapes and the debug views themselves are not timed: they would crowd the ring.
      if (!instrumentation || request.routeOptions.config.family === "operations") return;
      const timeline = instrumentation.startRequest(request.id);
      timeline.http.set(HttpPoint.received, (request.raw as TimedRequest)[RECEIVED] ?? now());
      timeline.route = `${request.method} ${request.routeOptions.url ?? request.url}`;
      timeline.traceparent = readTraceparent(request.headers.traceparent);
      request.timeline = timeline;
      endOnce(reply.raw, timeline, instrumentation);
    });
    app.addHook("preValidation", async (request) => {
      request.timeline?.http.mark(HttpPoint.body_parsed);
    });
    app.addHook("onSend", async (request, reply, payload) => {
      if (request.timeline) {
        request.timeline.status = reply.statusCode;
        request.timeline.http.mark(HttpPoint.response_started);
      }
      return payload;
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
      await this.instrumentation?.close();
      return finished;
    })();
    return this.closing;
  }
}

/** The response is over when its last byte is handed to the socket ('finish'), or when the connection closes first. */
function endOnce(res: ServerResponse, timeline: RequestTimeline, instrumentation: Instrumentation): void {
  let ended = false;
  const end = (aborted: boolean): void => {
    if (ended) return;
    ended = true;
    timeline.http.mark(HttpPoint.response_ended);
    timeline.aborted = aborted;
    if (!timeline.status) timeline.status = res.statusCode;
    instrumentation.endRequest(timeline);
  };
  res.once("finish", () => end(false));
  res.once("close", () => end(!res.writableFinished));
}
