/** What the routes share: the engine, the model-name check, the timing instruments (absent when timing is off) and the log. */
import type { Engine } from "../engines/Engine.js";
import type { Instrumentation } from "../timing/Instrumentation.js";
import type { Logger } from "../timing/Logger.js";
import type { ModelNameCheck } from "./modelName.js";

export interface ServerContext {
  engine: Engine;
  checkModelName: ModelNameCheck;
  instrumentation: Instrumentation | undefined;
  logger: Logger;
}
