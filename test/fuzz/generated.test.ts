/**
 * Fuzz corpus, generated: random JSON values (fast-check, fixed seed) in
 * every field of every generation route, random whole bodies and extra keys
 * (see fuzzArbitraries.ts), and random query strings, ids, methods and bodies
 * on the GET routes. Each case expects a 4xx in the family's shape or a
 * well-formed 2xx; the runner checks health, idleness and the canary.
 */
import fc from "fast-check";
import { describe } from "node:test";
import { generatedCases, hostileValue, preview, SEED } from "./fuzzArbitraries.js";
import { either, fuzzer, refused, type FuzzCase } from "./fuzzRunner.js";
import { DEBUG_REQUEST, GEN_ROUTES, GET_ROUTES } from "./fuzzRoutes.js";

const fuzz = fuzzer();

describe("random values in every field of every generation route", () => {
  for (const route of GEN_ROUTES) fuzz.cases(generatedCases(route));
});

describe("random query strings, ids, methods and bodies on the other routes", () => {
  const text = fc.oneof(fc.string({ unit: "binary", maxLength: 40 }), fc.constantFrom("0", "-1", "1e400", "99999999999", "abc", "", "%", "[]", "1&limit=2"));
  const queries = fc.sample(fc.tuple(fc.constantFrom("limit", "stream", "model", "format", "id", ""), text), { seed: SEED, numRuns: GET_ROUTES.length * 2 });
  const cases: FuzzCase[] = queries.map(([key, value], i) => {
    const route = GET_ROUTES[i % GET_ROUTES.length];
    // A query string the route does not read is ignored; /debug/requests refuses a bad limit with a 400.
    return { name: `GET ${route.path}?${preview(key)}=${preview(value)}`, route, path: `${route.path}?${encodeURIComponent(key)}=${encodeURIComponent(value)}`, expect: either() };
  });
  for (const id of fc.sample(text, { seed: SEED + 1, numRuns: 6 })) {
    // Ids of requests that never ran: the documented answer is a 404 in the operations shape.
    cases.push({ name: `GET /debug/requests/${preview(id)}`, route: DEBUG_REQUEST, path: `/debug/requests/${encodeURIComponent(id) || "%20"}`, expect: either({ statuses: [404] }) });
  }
  const methods = fc.sample(fc.tuple(fc.constantFrom("PUT", "DELETE", "PATCH", "POST"), fc.constantFrom(...GET_ROUTES, ...GEN_ROUTES), hostileValue), { seed: SEED + 2, numRuns: 12 });
  for (const [method, route, body] of methods) {
    if (method === "POST" && route.method === "POST") continue;
    // A path that exists, asked with a method it does not take: 405, in the shape of the path's family.
    cases.push({ name: `${method} ${route.path} with body ${preview(body)}`, route, method, path: route.path, body: JSON.stringify(body) ?? "null", expect: refused({ statuses: [405] }) });
  }
  fuzz.cases(cases);
});

fuzz.finalCheck();
