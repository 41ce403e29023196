/**
 * Every failure becomes an HTTP status and a JSON body that says what is
 * wrong, in the shape the route's API family uses: TGI's
 * {"error", "error_type"}, or OpenAI's {"error": {message, type, param, code}}
 * for everything else. Where llm-serving answered errors with HTTP 200, we
 * answer with a proper status.
 */
import { EngineUnavailableError } from "../engines/Engine.js";
import { EngineError, RequestError } from "../master/errors.js";

export type ApiFamily = "llm-serving" | "tgi" | "openai" | "operations";

export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    /** Machine-readable reason, e.g. "invalid_parameter", "model_not_found". */
    readonly code: string,
    message: string,
    readonly param?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A bad value in a request body, named by its JSON path (e.g. "parameters.top_p"). */
export function badParam(param: string, message: string): HttpError {
  return new HttpError(400, "invalid_parameter", `${param}: ${message}`, param);
}

const RETRY_AFTER_SECONDS = "1";

interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  message: string;
}

export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof EngineUnavailableError) return new HttpError(503, err.reason, err.message, undefined, err.retry ? { "retry-after": RETRY_AFTER_SECONDS } : {});
  if (err instanceof RequestError) {
    switch (err.code) {
      case "queue_full":
      case "shutting_down":
        return new HttpError(503, err.code, err.message, undefined, { "retry-after": RETRY_AFTER_SECONDS });
      default:
        return new HttpError(400, err.code, err.message, err.param);
    }
  }
  if (err instanceof EngineError) return new HttpError(500, "engine_error", err.message);
  const e = err as FastifyLikeError;
  if (typeof e?.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    // fastify's own: malformed JSON, empty body, unsupported content type, body too large, …
    return new HttpError(e.statusCode, (e.code ?? "bad_request").toLowerCase(), e.message);
  }
  return new HttpError(500, "internal_error", e instanceof Error ? e.message : String(err));
}

/** TGI answers validation errors with 422. */
function tgiStatus(e: HttpError): number {
  return e.status === 400 ? 422 : e.status;
}

function tgiErrorType(e: HttpError): string {
  if (e.status === 401) return "authentication";
  if (e.status === 503) return "overloaded";
  if (e.status >= 500) return "generation";
  return e.status === 400 || e.status === 413 ? "validation" : "invalid_request";
}

function openAiType(e: HttpError): string {
  if (e.status === 503) return "service_unavailable";
  if (e.status >= 500) return "server_error";
  if (e.status === 404) return "not_found_error";
  if (e.status === 401) return "authentication_error";
  return "invalid_request_error";
}

export function errorBody(family: ApiFamily, e: HttpError): { status: number; body: object } {
  if (family === "tgi") return { status: tgiStatus(e), body: { error: e.message, error_type: tgiErrorType(e) } };
  return { status: e.status, body: { error: { message: e.message, type: openAiType(e), param: e.param ?? null, code: e.code } } };
}
