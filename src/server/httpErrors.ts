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

/** Methods as a message says them: "POST", "GET or HEAD", "GET, HEAD or POST". */
function oneOf(methods: readonly string[]): string {
  return methods.length < 2 ? methods.join("") : `${methods.slice(0, -1).join(", ")} or ${methods.at(-1)}`;
}

/** Methods that come with others (HEAD with GET, OPTIONS with CORS): in Allow, but not worth a reader's attention. */
const IMPLIED = new Set(["HEAD", "OPTIONS"]);

/** A path that exists asked with a method it does not take: 405 with Allow, as vLLM and TGI answer. */
export function methodNotAllowed(method: string, path: string, methods: readonly string[]): HttpError {
  const main = methods.filter((m) => !IMPLIED.has(m));
  return new HttpError(405, "method_not_allowed", `${method} ${path}: this path takes ${oneOf(main.length > 0 ? main : methods)}`, undefined, { allow: methods.join(", ") });
}

const RETRY_AFTER_SECONDS = "1";

/** The largest request body read at all (fastify's bodyLimit); an engine may bound it lower by its context (requestLifecycle.ts). */
export const MAX_BODY_BYTES = 1 << 20;

interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  message: string;
}

export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof EngineUnavailableError) return new HttpError(err.reason === "overloaded" ? 429 : 503, err.reason, err.message, undefined, err.retry ? { "retry-after": RETRY_AFTER_SECONDS } : {});
  if (err instanceof RequestError) {
    switch (err.code) {
      // Too many waiting is 429, as TGI answers it: @huggingface/inference resends a 503 at once and without end (a storm of them under load).
      case "queue_full":
        return new HttpError(429, err.code, err.message, undefined, { "retry-after": RETRY_AFTER_SECONDS });
      case "shutting_down":
        return new HttpError(503, err.code, err.message, undefined, { "retry-after": RETRY_AFTER_SECONDS });
      default:
        return new HttpError(400, err.code, err.message, err.param);
    }
  }
  if (err instanceof EngineError) return new HttpError(500, "engine_error", err.message);
  const e = err as FastifyLikeError;
  if (typeof e?.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) return frameworkRefusal(e.statusCode, e.code, e.message);
  return new HttpError(500, "internal_error", e instanceof Error ? e.message : String(err));
}

/**
 * fastify's own refusals (the body's JSON, its length, its content type, the
 * URL) in our words and codes: its codes (fst_err_ctp_invalid_json_body) and
 * messages name the framework, not what the client should change.
 */
const NOT_JSON = "the body is not valid JSON";
const EMPTY_BODY = "the body is empty: send a JSON object";

/** A body that is not JSON, or empty: as fastify's JSON parser refuses it, and our parser of bodies sent as text. */
export function invalidJson(empty: boolean): HttpError {
  return new HttpError(400, "invalid_json", empty ? EMPTY_BODY : NOT_JSON);
}

const FRAMEWORK_REFUSALS: Record<string, [code: string, message: string]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: ["invalid_json", NOT_JSON],
  FST_ERR_CTP_EMPTY_JSON_BODY: ["invalid_json", EMPTY_BODY],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ["unsupported_media_type", "the body's content type is not JSON: send Content-Type: application/json"],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ["invalid_content_length", "the body's length is not what Content-Length says"],
  FST_ERR_CTP_BODY_TOO_LARGE: ["body_too_large", `the body is larger than this server reads (${MAX_BODY_BYTES / (1 << 20)} MiB)`],
  FST_ERR_BAD_URL: ["bad_url", "the URL is not valid (bad percent-encoding)"],
  FST_ERR_MAX_PARAM_LENGTH: ["param_too_long", "a path parameter is too long"],
};

export function frameworkRefusal(status: number, fastifyCode: string | undefined, fastifyMessage: string): HttpError {
  const known = fastifyCode === undefined ? undefined : FRAMEWORK_REFUSALS[fastifyCode];
  if (known) return new HttpError(status, known[0], known[1]);
  // One we have not named: its code without the framework's prefix, its message as fastify says it.
  return new HttpError(status, (fastifyCode ?? "bad_request").toLowerCase().replace(/^fst_err_(ctp_)?/, ""), fastifyMessage);
}

/** TGI answers validation errors with 422. */
function tgiStatus(e: HttpError): number {
  return e.status === 400 ? 422 : e.status;
}

function tgiErrorType(e: HttpError): string {
  if (e.status === 401) return "authentication";
  if (e.status === 503 || e.status === 429) return "overloaded";
  if (e.status >= 500) return "generation";
  return e.status === 400 || e.status === 413 ? "validation" : "invalid_request";
}

function openAiType(e: HttpError): string {
  if (e.status === 503) return "service_unavailable";
  if (e.status === 429) return "rate_limit_error";
  if (e.status >= 500) return "server_error";
  if (e.status === 404) return "not_found_error";
  if (e.status === 401) return "authentication_error";
  return "invalid_request_error";
}

export function errorBody(family: ApiFamily, e: HttpError): { status: number; body: object } {
  if (family === "tgi") return { status: tgiStatus(e), body: { error: e.message, error_type: tgiErrorType(e) } };
  return { status: e.status, body: { error: { message: e.message, type: openAiType(e), param: e.param ?? null, code: e.code } } };
}
