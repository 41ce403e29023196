/** What the routes share: the engine, the timing instruments (absent when timing is off) and the log. */
import type { Instrumentation } from "../timing/Instrumentation.js";
import type { Logger } from "../timing/Logger.js";
import type { Engine } from "./Engine.js";

export interface ServerContext {
  engine: Engine;
  instrumentation: Instrumentation | undefined;
  logger: Logger;
}
