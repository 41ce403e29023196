/** Health, engine statistics and the recent requests' timelines. */
import type { FastifyInstance } from "fastify";
import type { TimelineStore } from "../../timing/TimelineStore.js";
import { timelineJson } from "../../timing/timelineJson.js";
import type { Engine } from "../Engine.js";
import { HttpError } from "../httpErrors.js";

export function registerOperationsRoutes(app: FastifyInstance, engine: Engine, timelines: TimelineStore): void {
  const config = { family: "operations" as const };

  // 200 only once the model is loaded and warmed up; 503 while loading, after a failure, and while shutting down.
  app.get("/health", { config }, async (_request, reply) => {
    const ready = engine.state === "ready";
    const body: Record<string, unknown> = { status: ready ? "ok" : engine.state, model: engine.modelName || null };
    if (engine.failure) body.error = engine.failure.message;
    return reply.code(ready ? 200 : 503).send(body);
  });

  app.get("/stats", { config }, async () => {
    const master = engine.requireMaster();
    return { model: engine.modelName, ...master.stats };
  });

  app.get<{ Params: { id: string } }>("/debug/requests/:id", { config }, async (request) => {
    const timeline = timelines.get(request.params.id);
    if (!timeline) throw new HttpError(404, "not_found", `no recent request with id ${JSON.stringify(request.params.id)} (the last ${timelines.capacity} are kept)`, "id");
    return timelineJson(timeline);
  });
}
