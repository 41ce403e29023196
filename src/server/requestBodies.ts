/**
 * How request bodies are read: as JSON, whatever clients forget to say.
 * `Content-Type: application/json` by fastify's parser; text/plain and
 * form-encoded (curl's -d) and no Content-Type at all (Python's
 * `requests.post(url, data=json.dumps(...))`) as JSON too, as vLLM and
 * llama.cpp's server read them; another explicit type is a 415. A body with a
 * content coding (gzip) is refused with a 415 that says so, not parsed as
 * JSON and called invalid.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { HttpError, invalidJson } from "./httpErrors.js";

/** As fastify decides it: a body is there when it is chunked or has a non-zero length. */
function hasBody(request: FastifyRequest): boolean {
  const length = request.headers["content-length"];
  return request.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/** "identity" (or a list of only that) is no coding at all. */
function isEncoded(request: FastifyRequest): boolean {
  const coding = request.headers["content-encoding"];
  return coding !== undefined && coding.split(",").some((c) => c.trim().toLowerCase() !== "identity");
}

function unsupportedEncoding(): HttpError {
  // RFC 7694: a 415 for a content coding says which codings are taken.
  return new HttpError(415, "unsupported_content_encoding", "the body has a Content-Encoding: this server reads only unencoded (identity) bodies; send it uncompressed", undefined, {
    "accept-encoding": "identity",
  });
}

export function installBodyReading(app: FastifyInstance): void {
  app.addHook("preParsing", async (request, _reply, payload) => {
    if (!hasBody(request)) return payload;
    if (isEncoded(request)) throw unsupportedEncoding();
    // Given the type the body is read as, so that fastify's JSON parser reads it (its limits, empty and invalid bodies, prototype poisoning).
    if (request.headers["content-type"] === undefined) request.raw.headers["content-type"] = "application/json";
    return payload;
  });
  app.addContentTypeParser(["text/plain", "application/x-www-form-urlencoded"], { parseAs: "string" }, (_request, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch {
      // Said as for an application/json body, empty or not.
      done(invalidJson((body as string).trim() === ""));
    }
  });
}
