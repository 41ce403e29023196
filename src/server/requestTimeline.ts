/** What the server keeps on every request (fastify request decorations). */
import type { RequestTimeline } from "../timing/RequestTimeline.js";

declare module "fastify" {
  interface FastifyRequest {
    /** From the first hook on, unless timing is off or the route is not timed. */
    timeline: RequestTimeline | undefined;
    /** The HTTP layer's timing of the request: NO_TIMING unless it has a timeline. */
    timing: import("./httpTiming.js").HttpTiming;
    /** Aborted when the client goes away before its response is complete (API routes). */
    disconnected: AbortSignal | undefined;
    /** The generation, once its prompt is tokenized and queued (the access log reports its outcome). */
    generation: import("../master/GenerationStream.js").GenerationStream | undefined;
    /** Resolves when the engine is done with the request (its row released), once it has reached the engine. */
    generationDone: Promise<void> | undefined;
    /** Received while the engine was ready: a drain that begins meanwhile still lets it in. */
    admitted: boolean;
    /** Tells the engine an admitted request has reached the master or ended (once). */
    settle: (() => void) | undefined;
  }
  interface FastifyContextConfig {
    /** The API family whose error shape the route answers in. */
    family?: import("./httpErrors.js").ApiFamily;
    /** Answered without an API key even when the server has one (health checks, scrapes, the index). */
    public?: boolean;
  }
}
