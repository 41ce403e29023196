/** Health, engine statistics, and the timing views: recent requests, one request's timeline, the Chrome trace, Prometheus metrics. */
import type { FastifyInstance } from "fastify";
import type { Instrumentation } from "../../timing/Instrumentation.js";
import { requestDetailJson, requestSummaryJson } from "../../timing/timelineJson.js";
import { HttpError } from "../httpErrors.js";
import type { ServerContext } from "../ServerContext.js";

export function registerOperationsRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { engine } = ctx;
  const config = { family: "operations" as const };
  // Load balancers and scrapers ask without a key.
  const open = { family: "operations" as const, public: true };
  const instruments = (): Instrumentation => {
    if (!ctx.instrumentation) throw new HttpError(404, "timing_off", "timing is switched off on this server (--no-timing)");
    return ctx.instrumentation;
  };

  // 200 only once the model is loaded and warmed up; 503 while loading, after a failure, and while shutting down.
  app.get("/health", { config: open }, async (_request, reply) => {
    // Remote engines: the server can serve only while one of them can.
    const engines = engine.state === "ready" ? engine.stats().engines : undefined;
    const none = engines !== undefined && !engines.some((e) => e.healthy);
    const ready = engine.state === "ready" && !none;
    const body: Record<string, unknown> = { status: ready ? "ok" : none ? "no_healthy_engine" : engine.state, model: engine.modelName || null };
    if (none) body.engines = engines.map((e) => ({ name: e.name, error: e.lastError }));
    if (engine.failure) body.error = engine.failure.message;
    return reply.code(ready ? 200 : 503).send(body);
  });

  app.get("/stats", { config }, async () => {
    const stats = engine.stats();
    return { model: engine.modelName, ...stats };
  });

  app.get<{ Querystring: { limit?: string } }>("/debug/requests", { config }, async (request) => {
    const i = instruments();
    const limit = request.query.limit === undefined ? 100 : Number(request.query.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new HttpError(400, "invalid_parameter", "limit: must be a positive integer", "limit");
    return { requests: i.timelines.recent(limit).map((t) => requestSummaryJson(i.breakdown(t))) };
  });

  app.get<{ Params: { id: string } }>("/debug/requests/:id", { config }, async (request) => {
    const i = instruments();
    const timeline = i.timelines.get(request.params.id);
    if (!timeline) throw new HttpError(404, "not_found", `no recent request with id ${JSON.stringify(request.params.id)} (the last ${i.timelines.capacity} are kept)`, "id");
    return requestDetailJson(i.breakdown(timeline, true), timeline, i.steps, i.runtime);
  });

  app.get("/debug/trace", { config }, async (_request, reply) => {
    reply.header("content-disposition", 'attachment; filename="llm-serving-trace.json"');
    return instruments().chromeTrace();
  });

  app.get("/metrics", { config: open }, async (_request, reply) => {
    const i = instruments();
    return reply.type(i.metrics.contentType).send(await i.metricsText());
  });
}
