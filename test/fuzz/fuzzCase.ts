/**
 * One fuzz case: the request (as JSON, as exact bytes, or as raw TCP bytes)
 * and what may come back. Kept apart from the runner so that the case tables
 * load without starting anything (Node's test runner also loads every .js
 * file under dist/test/ as a test file of its own).
 */
import type { Refusal } from "./fuzzExpect.js";
import type { RawOptions, Reply } from "../helpers/rawHttp.js";
import type { Json, Route } from "./fuzzRoutes.js";

export type Expect =
  | ({ kind: "refused" } & Refusal)
  | { kind: "answered"; check?: (body: Json, reply: Reply) => void }
  | ({ kind: "either"; check?: (body: Json, reply: Reply) => void } & Refusal);

export const refused = (r: Refusal = {}): Expect => ({ kind: "refused", ...r });
export const answered = (check?: (body: Json, reply: Reply) => void): Expect => ({ kind: "answered", check });
export const either = (r: Refusal = {}, check?: (body: Json, reply: Reply) => void): Expect => ({ kind: "either", check, ...r });

export interface FuzzCase {
  name: string;
  route: Route;
  /** Overrides the route's path (unknown models, query strings). */
  path?: string;
  method?: string;
  /** JSON-encoded unless it is a string or a Buffer, which are sent byte for byte. */
  body?: unknown;
  /** The Content-Type header; null sends none. Default: application/json when there is a body. */
  contentType?: string | null;
  headers?: Record<string, string>;
  /** Bytes written on a bare TCP connection instead (broken HTTP framing). */
  raw?: { bytes: string | Buffer; options?: RawOptions; mayCloseSilently?: boolean };
  expect: Expect;
}
