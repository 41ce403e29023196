/** How one API family writes a generation: a whole response, or a stream of chunks. */
import type { Completion, TokenEvent } from "../../master/GenerationStream.js";
import type { HttpError } from "../httpErrors.js";

/** A finished generation with all its token events. */
export interface Generation extends Completion {
  tokens: TokenEvent[];
}

export interface StreamFormat {
  contentType: string;
  /** Written right after the headers (may be ""). */
  head(): string;
  /** The chunk for one token that is not the last ("" to write nothing). */
  token(event: TokenEvent): string;
  /**
   * The end: the last token (held until the finish is known, which costs no
   * wait: both arrive in the same step) and whatever closes the stream.
   */
  tail(generation: Generation, last: TokenEvent | undefined, timings: object | undefined): string;
  /** Once headers are sent, an error can only be reported in the stream. */
  error(e: HttpError): string;
}
