/**
 * Parameter cases as a table: one row (a change to the valid body and the
 * expected answer per API family) becomes one case on every generation route
 * of every family the row applies to. Families disagree on purpose:
 * llm-serving coerces and clamps as MindSpore's server did ("0.8", top_k
 * beyond the vocabulary becomes 1), TGI and OpenAI refuse what is out of range.
 */
import { answered, either, refused, type Expect, type FuzzCase } from "./fuzzCase.js";
import { GEN_ROUTES, invalidStatus, routesFor, type BodyParts, type Family, type GenRoute } from "./fuzzRoutes.js";

/** The expected answer on a route; undefined leaves the family out of the row. */
export type Outcome = Expect | ((route: GenRoute) => Expect | undefined) | undefined;

export interface Row {
  what: string;
  parts: BodyParts | ((route: GenRoute) => BodyParts);
  expect: Outcome | Partial<Record<Family, Outcome>>;
}

function isExpect(v: unknown): v is Expect | ((route: GenRoute) => Expect | undefined) {
  return typeof v === "function" || (typeof v === "object" && v !== null && "kind" in v);
}

/** The rows' cases, each row on one route per group of `routes` (see routesFor). */
export function casesOf(rows: readonly Row[], routes: readonly GenRoute[] = GEN_ROUTES, group?: (route: GenRoute) => string): FuzzCase[] {
  const cases: FuzzCase[] = [];
  for (const [i, row] of rows.entries()) {
    for (const route of routesFor(i, routes, group)) {
      const byFamily = isExpect(row.expect) || row.expect === undefined ? row.expect : row.expect[route.family];
      const expect = typeof byFamily === "function" ? byFamily(route) : byFamily;
      if (!expect) continue;
      const parts = typeof row.parts === "function" ? row.parts(route) : row.parts;
      cases.push({ name: `${route.path}: ${row.what}`, route, body: route.body(parts), expect });
    }
  }
  return cases;
}

/** A case that is not a change to the valid body (raw bytes, content types): built per route. */
export interface Variant {
  what: string;
  make(route: GenRoute): Omit<FuzzCase, "name" | "route"> | undefined;
}

export function spread(variants: readonly Variant[], routes: readonly GenRoute[] = GEN_ROUTES, group?: (route: GenRoute) => string): FuzzCase[] {
  const cases: FuzzCase[] = [];
  for (const [i, v] of variants.entries()) {
    for (const route of routesFor(i, routes, group)) {
      const c = v.make(route);
      if (c) cases.push({ name: `${route.path}: ${v.what}`, route, ...c });
    }
  }
  return cases;
}

/** One variant per [what, value] row: `make` builds the case on each route from the row's value. */
export function variantsOf<T>(rows: ReadonlyArray<readonly [what: string, value: T]>, make: (value: T, route: GenRoute) => Omit<FuzzCase, "name" | "route">): Variant[] {
  return rows.map(([what, value]) => ({ what, make: (route) => make(value, route) }));
}

/** A validation error naming `param` (the route's own prefix, "parameters." or none, is added when `prefixed`). */
export function invalid(param?: string | RegExp, prefixed = true): (route: GenRoute) => Expect {
  return (route) => refused({ statuses: [invalidStatus(route)], param: typeof param === "string" && prefixed ? route.paramPrefix + param : param });
}

/**
 * A body far larger than any request that fits the context: refused for what
 * it says (400/422), or for its size alone (413) before it is parsed.
 */
export const tooBig = (route: GenRoute): Expect => refused({ statuses: [invalidStatus(route), 413] });

/** The output limit, by whichever name the error uses (the family's, or the engine's max_new_tokens). */
export const MAX_TOKENS_PARAM = /^(parameters\.)?max_(new_)?tokens$|max_(new_)?tokens/;

export const ok = answered();
/** An unknown field: ignoring it (200) and refusing it by name (4xx) are both fine; the README lists only what is refused. */
export const ignoredOrNamed = (field: string) => either({ param: new RegExp(field.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")) });
