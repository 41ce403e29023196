/**
 * `--cors-origin`: @fastify/cors answers browsers' preflights and marks
 * responses for the origins allowed. An OPTIONS request that is not a
 * preflight (no Origin, or no Access-Control-Request-Method: `curl -X
 * OPTIONS`) it refuses in plain text (its strictPreflight); we refuse it
 * first, in JSON in the shape of the path's family, as every other error.
 */
import cors from "@fastify/cors";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { HttpError } from "./httpErrors.js";

const NOT_A_PREFLIGHT = "a CORS preflight needs Origin and Access-Control-Request-Method headers";

function isPreflight(request: FastifyRequest): boolean {
  return request.headers.origin !== undefined && request.headers["access-control-request-method"] !== undefined;
}

export function registerCors(app: FastifyInstance, origins: readonly string[]): void {
  // Added before the plugin is registered, so that it runs before the plugin's own onRequest hook.
  app.addHook("onRequest", async (request) => {
    if (request.method === "OPTIONS" && !isPreflight(request)) throw new HttpError(400, "invalid_preflight", NOT_A_PREFLIGHT);
  });
  void app.register(cors, { origin: origins.includes("*") ? "*" : [...origins], exposedHeaders: ["x-request-id", "server-timing"] });
}
