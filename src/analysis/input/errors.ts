/**
 * What is wrong with a measurements file, in one line. The messages name the
 * line and the column but not the file: the caller knows its name and adds it,
 * so the readers stay pure (text in, data out).
 */
import { quotedText } from "../../text/shownText.js";

export class TableError extends Error {
  override name = "TableError";

  constructor(
    message: string,
    /** 1-based line of the text, when the problem has one. */
    readonly line?: number,
    /** The header of the column, when the problem has one. */
    readonly column?: string,
  ) {
    super(message);
  }
}

export class StepLogError extends Error {
  override name = "StepLogError";
}

/** A cell or header as it may appear in a message: quoted, on one line, cut short (the file is untrusted). */
export function shown(text: string, max = 60): string {
  return quotedText(text, max);
}
