/**
 * Requests too broken for a route to see — a bad request line, bad headers,
 * a Content-Length that lies, an undecodable URL, a path parameter longer
 * than any model name — answered in the same JSON error shape as the rest,
 * never echoing what was sent (it may be kilobytes of garbage).
 */
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { errorBody, frameworkRefusal, HttpError } from "./httpErrors.js";

/** Node's HTTP parser refused the bytes: answer and close, as Node itself does. */
export function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const [status, message] =
    err.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? [408, "the request took too long to arrive"]
      : err.code === "HPE_HEADER_OVERFLOW"
        ? [431, "the request's headers are too large"]
        : [400, `the request is not valid HTTP (${err.code ?? "parse error"})`];
  const body = JSON.stringify(errorBody("operations", new HttpError(status, "bad_http_request", message)).body);
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

/** fastify's own refusals before routing (a URL it cannot decode, an over-long path parameter). */
export function answerFrameworkError(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status = typeof err.statusCode === "number" && err.statusCode >= 400 ? err.statusCode : 400;
  const { body } = errorBody(request.routeOptions?.config?.family ?? "operations", frameworkRefusal(status, err.code, "the request cannot be routed"));
  void reply.code(status).send(body);
}
