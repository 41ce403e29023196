/**
 * The HTTP server: fastify, and one engine: the model in this process (native
 * decoding runs off the JS thread), or remote engines behind a router. Each request's way through it is in
 * requestLifecycle.ts; the routes are grouped by API family.
 */
import { createServer, type ServerResponse } from "node:http";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { now } from "../timing/clock.js";
import { Instrumentation } from "../timing/Instrumentation.js";
import { Logger } from "../timing/Logger.js";
import type { ServeConfig } from "./config/ServeConfig.js";
import type { Engine } from "../engines/Engine.js";
import { LocalEngine } from "../engines/LocalEngine.js";
import { RouterEngine } from "../engines/router/RouterEngine.js";
import type { HealthChange } from "../engines/remote/RemoteBackend.js";
import { requireApiKey } from "./apiKey.js";
import { modelNameCheck } from "./modelName.js";
import { registerCors } from "./cors.js";
import { registerLlmServingRoutes } from "./protocols/llmServing/llmServingRoutes.js";
import { registerOpenAiRoutes } from "./protocols/openai/openAiRoutes.js";
import { registerTgiRoutes } from "./protocols/tgi/tgiRoutes.js";
import { answerClientError, answerFrameworkError } from "./malformedRequests.js";
import { MAX_BODY_BYTES } from "./httpErrors.js";
import { Connections } from "./connections.js";
import { installLifecycle, RECEIVED, requestId, type TimedRequest } from "./requestLifecycle.js";
import { registerIndexRoute } from "./routes/indexRoute.js";
import { registerOperationsRoutes } from "./routes/operationsRoutes.js";
import { registerDashboardRoutes } from "./routes/dashboardRoutes.js";
import { RouteTable } from "./routeTable.js";
import type { ServerContext } from "./ServerContext.js";

/**
 * The access log's stream, made so that its failure cannot take the server
 * down: a reader of stdout that goes away (a log shipper restarting) makes
 * every later write fail with EPIPE; the log stops, with one warning.
 */
function survivable(stream: NodeJS.WritableStream, logger: Logger): NodeJS.WritableStream {
  let warned = false;
  stream.on("error", (err: Error) => {
    if (warned) return;
    warned = true;
    logger.log("warn", `warning: the access log cannot be written (${err.message}); it stops`);
  });
  return stream;
}

/**
 * The logger every request logs its access-log line with: one child of
 * fastify's logger, at info, made once — a child per request (fastify's
 * default) cost ~0.05 ms a request; the line names its request itself.
 */
function requestLogger(): (logger: FastifyBaseLogger) => FastifyBaseLogger {
  let child: FastifyBaseLogger | undefined;
  return (logger) => (child ??= logger.child({}, { level: "info" }));
}

/** After the engine has drained, how long responses get to write their last bytes. */
const CLOSE_GRACE_MS = 2000;

export interface ServerOptions {
  config: ServeConfig;
  /** Resolves the model file (the default model may have to be made). */
  resolveModelPath: () => Promise<string>;
  logger?: Logger;
  /** Where the access log goes (default: stdout). */
  accessLogStream?: NodeJS.WritableStream;
  /** Start the tokenizer thread once the model is loaded (default true; tests that never send long prompts skip it). */
  warmTokenizer?: boolean;
}

export class LlmServer {
  readonly app: FastifyInstance;
  /** The routes see it only as an Engine (ServerContext); its master and agent are here for tests and the CLI. */
  readonly engine: Engine;
  /** The engine in this process, when the model runs here (not through remote engines). */
  readonly localEngine: LocalEngine | undefined;
  /** The timing instruments; undefined when timing is off. */
  readonly instrumentation: Instrumentation | undefined;
  readonly logger: Logger;
  private closing: Promise<boolean> | undefined;
  private readonly connections: Connections;

  constructor(options: ServerOptions) {
    const config = options.config;
    this.logger = options.logger ?? new Logger(config.logLevel);
    this.connections = new Connections();
    const connections = this.connections;
    this.app = Fastify({
      // pino writes the access log (one line per request); fastify's own request lines would double it.
      // fastify's own lines (its info "Server listening at …") stay off the access log: only requests log at info (requestLogger).
      logger: config.accessLog ? { level: "warn", timestamp: () => `,"time":"${new Date().toISOString()}"`, stream: survivable(options.accessLogStream ?? process.stdout, this.logger) } : false,
      logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: "request_id" }),
      childLoggerFactory: requestLogger(),
      requestIdHeader: false,
      genReqId: requestId,
      bodyLimit: MAX_BODY_BYTES,
      // Requests that arrive while closing reach the routes, which answer 503 in their family's shape with Retry-After.
      return503OnClosing: false,
      clientErrorHandler: answerClientError,
      frameworkErrors: answerFrameworkError,
      serverFactory: (handler) =>
        connections.watch(
          createServer((req: TimedRequest, res: ServerResponse) => {
            req[RECEIVED] = now();
            connections.received(req, res);
            handler(req, res);
          }),
        ),
    });
    this.instrumentation = config.timing
      ? new Instrumentation({
          timelines: config.timelineCapacity,
          steps: config.stepCapacity,
          loopResolutionMs: config.loopResolutionMs,
          timelineFile: config.timelineFile,
          otlpEndpoint: config.otlpEndpoint,
          logger: this.logger,
          gauges: () => (this.engine.state === "ready" ? this.engine.stats() : undefined),
          model: () => this.engine.modelName,
        })
      : undefined;
    const instrumentation = this.instrumentation;
    const local = config.engines.length === 0 || config.localEngineName !== undefined;
    if (local) this.localEngine = new LocalEngine(config, options.resolveModelPath, instrumentation ? (step) => instrumentation.recordStep(step) : undefined, options.warmTokenizer ?? true);
    if (config.engines.length > 0) {
      const modelName = config.modelName ?? config.engines[0].model ?? "remote";
      const member = this.localEngine && config.localEngineName ? { name: config.localEngineName, engine: this.localEngine } : undefined;
      const onEngineHealth = (name: string, change: HealthChange, why: string | undefined): void => {
        if (change === "down") this.logger.log("warn", `warning: engine ${name} is taken out: ${why ?? "no reason given"}; it is checked again with backoff`);
        else this.logger.log("info", `engine ${name} is healthy ${change === "up" ? "again" : "now"}`);
      };
      this.engine = new RouterEngine({ modelName, policy: config.routing, engines: config.engines, local: member, contextSize: undefined, onEngineHealth });
    } else {
      this.engine = this.localEngine!;
    }
    const ctx: ServerContext = { engine: this.engine, checkModelName: modelNameCheck(this.engine, config.modelNameCheck), instrumentation, logger: this.logger };
    const routes = new RouteTable();
    routes.install(this.app);
    installLifecycle(this.app, ctx, { routes });
    // Hooks run in this order. CORS after the lifecycle, so that preflights get an id and an access-log line too;
    // before the API key, so that a 401 carries the CORS headers a browser needs to read it.
    if (config.corsOrigins.length > 0) registerCors(this.app, config.corsOrigins);
    if (config.apiKey !== undefined) requireApiKey(this.app, config.apiKey);
    registerIndexRoute(this.app, ctx);
    registerLlmServingRoutes(this.app, ctx);
    registerTgiRoutes(this.app, ctx);
    registerOpenAiRoutes(this.app, ctx);
    registerOperationsRoutes(this.app, ctx);
    registerDashboardRoutes(this.app, ctx);
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
      // Generations are over; their responses end within moments. A connection that carries no request
      // (idle keep-alive, never used, its next request's headers still arriving) would hold the close
      // for its whole timeout: close it now, each other one as soon as its response ends, any left after a grace.
      this.connections.closeUnserved();
      const sweep = setInterval(() => this.connections.closeUnserved(), 20);
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
