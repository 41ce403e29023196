/**
 * What is wrong with a GGUF file's bytes, and where. The message is a
 * fragment without the file's name: the caller names the file (and turns
 * it into a ModelFileError), so that the reader stays independent of paths.
 */
import { quotedText } from "../../text/shownText.js";

/**
 * "magic": not a GGUF file at all; "version": a GGUF version llama.cpp does
 * not read; "format": a GGUF file whose header or data is damaged.
 */
export type GgufProblem = "magic" | "version" | "format";

export class GgufFormatError extends Error {
  override name = "GgufFormatError";

  constructor(
    message: string,
    readonly problem: GgufProblem = "format",
  ) {
    super(message);
  }
}

/**
 * A name or key from the file (one char per byte, as GgufReader.bytes gives
 * it), shown as UTF-8, quoted on one line and cut short: the bytes are
 * untrusted. JSON escapes C0 controls; C1 controls (a terminal may act on
 * them) and the Unicode line separators are escaped too.
 */
export function quote(raw: string, max = 80): string {
  return quotedText(Buffer.from(raw, "latin1").toString("utf8"), max);
}
