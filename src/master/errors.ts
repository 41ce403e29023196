/** Errors the master reports to callers. */

export type RequestErrorCode =
  | "invalid_parameter"
  | "invalid_prompt"
  | "invalid_messages"
  | "prompt_too_long"
  | "queue_full"
  | "shutting_down";

/** The request itself is wrong (the HTTP layer answers 4xx); nothing was queued. */
export class RequestError extends Error {
  override name = "RequestError";
  constructor(
    readonly code: RequestErrorCode,
    message: string,
    /** The parameter at fault, when there is one. */
    readonly param?: string,
  ) {
    super(message);
  }
}

/** The engine failed while serving a request (the HTTP layer answers 5xx). */
export class EngineError extends Error {
  override name = "EngineError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
