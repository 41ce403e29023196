/**
 * Which methods each path has, and which API family owns it, from the routes
 * as they are registered. A request no route matched is then a 405 (with
 * Allow) on a path that exists, in its owner's error shape, and a 404 on one
 * that does not; a catch-all route (CORS's OPTIONS *) answers errors in the
 * shape of the path it was asked on.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ApiFamily } from "./httpErrors.js";

interface Route {
  path: RegExp;
  method: string;
  family: ApiFamily;
}

export interface PathRoutes {
  /** Every method the path answers, sorted. */
  methods: string[];
  /** The family of its routes; the operations family when they differ (GET / is our index, POST / is TGI's). */
  family: ApiFamily;
}

/** `:name` matches one path segment and a final `*` the rest, as in fastify's router; nothing else in our route URLs is special. */
function pathPattern(url: string): RegExp {
  const escaped = url.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/:[^/]+/g, "[^/]+").replace(/\*$/, ".*");
  return new RegExp(`^${escaped}$`);
}

export class RouteTable {
  private readonly routes: Route[] = [];
  /** Methods a catch-all route answers on every path. */
  private readonly everywhere = new Set<string>();

  /** Records every route registered after this call (fastify's onRoute hook, HEAD routes included). */
  install(app: FastifyInstance): void {
    app.addHook("onRoute", (route) => {
      for (const method of [route.method].flat()) this.add(method, route.url ?? route.path, route.config?.family ?? "operations");
    });
  }

  add(method: string, url: string, family: ApiFamily): void {
    // Only a route on every path is a catch-all (CORS's OPTIONS *); GET /v1/models/* is one path family.
    if (url === "*" || url === "/*") this.everywhere.add(method);
    else this.routes.push({ path: pathPattern(url), method, family });
  }

  /** The routes of `path` (no query string), or undefined when no route has it. */
  lookup(path: string): PathRoutes | undefined {
    const matched = this.routes.filter((r) => r.path.test(path));
    if (matched.length === 0) return undefined;
    const families = new Set(matched.map((r) => r.family));
    const methods = new Set([...matched.map((r) => r.method), ...this.everywhere]);
    return { methods: [...methods].sort(), family: families.size === 1 ? matched[0].family : "operations" };
  }

  /** The family whose error shape a request is answered in: its route's, else its path's. */
  familyOf(request: FastifyRequest): ApiFamily {
    return request.routeOptions.config?.family ?? this.lookup(pathOf(request.url))?.family ?? "operations";
  }
}

export function pathOf(url: string): string {
  const query = url.indexOf("?");
  return query < 0 ? url : url.slice(0, query);
}
