/**
 * The model a client names. No model, "tgi" (Hugging Face's docs name TGI's
 * model so) and an http(s) URL (@huggingface/inference sends its endpoint's
 * URL) all mean the served model; any other name is a 404 that says what is
 * served, unless the name check is off.
 */
import type { Engine } from "../engines/Engine.js";
import { badParam, HttpError } from "./httpErrors.js";

/** The model name Hugging Face's TGI examples send. */
const TGI_ALIAS = "tgi";

export type ModelNameCheck = (name: unknown, param?: string) => void;

export function modelNameCheck(engine: Engine, mode: "on" | "off"): ModelNameCheck {
  return (name, param = "model") => {
    if (engine.model === undefined) engine.ensureAvailable(); // not loaded (yet): 503, not 404
    if (name === undefined || name === null || mode === "off") return;
    if (typeof name !== "string") throw badParam(param, `must be a string, got ${typeof name}`);
    if (name === engine.modelName || name === TGI_ALIAS || /^https?:\/\//i.test(name)) return;
    throw new HttpError(
      404,
      "model_not_found",
      `model ${JSON.stringify(name)} is not served here; this server serves "${engine.modelName}" (no model, "${TGI_ALIAS}" or an http(s) URL mean it too)`,
      param,
    );
  };
}
