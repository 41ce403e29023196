/**
 * `--api-key`: every route but the public ones (health, metrics, the index)
 * wants `Authorization: Bearer KEY`, as vLLM and llama.cpp's server do.
 * Keys are compared as hashes in constant time, so a wrong key's answer does
 * not tell how much of it was right.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { HttpError } from "./httpErrors.js";

const digest = (s: string): Buffer => createHash("sha256").update(s).digest();

/**
 * Why a key cannot be used, or undefined: it travels in an HTTP header, so
 * only visible ASCII can match (a key pasted with "…" or a curly quote in
 * it was accepted, and then no request could ever send it).
 */
export function apiKeyProblem(key: string): string | undefined {
  const bad = /[^\x21-\x7e]/u.exec(key);
  if (!bad) return undefined;
  const c = bad[0].codePointAt(0)!;
  return `must be visible ASCII, no spaces (it travels in an HTTP header); it has ${c === 0x20 ? "a space" : `U+${c.toString(16).toUpperCase().padStart(4, "0")}`} at character ${bad.index + 1}`;
}

/** Throws a 401 unless the request carries `key`. */
export function checkApiKey(request: FastifyRequest, key: string): void {
  const header = request.headers.authorization;
  const match = typeof header === "string" ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
  // x-api-key is what some clients (and TGI's docs) send instead of a bearer token.
  const given = match?.[1] ?? (typeof request.headers["x-api-key"] === "string" ? request.headers["x-api-key"] : undefined);
  if (given !== undefined && timingSafeEqual(digest(given), digest(key))) return;
  throw new HttpError(401, "invalid_api_key", given === undefined ? "this server needs an API key: send Authorization: Bearer KEY" : "the API key is not valid", undefined, {
    "www-authenticate": 'Bearer realm="llm-serving"',
  });
}

/** Every request must carry `key`, but the public routes' and CORS preflights (browsers send those without credentials). */
export function requireApiKey(app: FastifyInstance, key: string): void {
  app.addHook("onRequest", async (request) => {
    if (!request.routeOptions.config.public && request.method !== "OPTIONS") checkApiKey(request, key);
  });
}
