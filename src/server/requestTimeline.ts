/** Every request carries its timeline from the first hook on, unless timing is off (fastify request decoration). */
import type { RequestTimeline } from "../timing/RequestTimeline.js";

declare module "fastify" {
  interface FastifyRequest {
    timeline: RequestTimeline | undefined;
  }
  interface FastifyContextConfig {
    /** The API family whose error shape the route answers in. */
    family?: import("./httpErrors.js").ApiFamily;
  }
}
