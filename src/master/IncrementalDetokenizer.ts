/**
 * Turns output tokens into text deltas as they arrive, never splitting a
 * UTF-8 character: byte-fallback tokens of one character arrive one by one,
 * and text that ends in an incomplete sequence (U+FFFD) is held back until the
 * character completes. Each delta is the text of a window of recent tokens
 * minus the text of its prefix, so SentencePiece's leading spaces come out
 * right. The window starts with the prompt's last tokens for the same reason.
 */

export type Detokenize = (tokens: readonly number[]) => string;

const CONTEXT_TOKENS = 4;
/** A character is at most 4 bytes: a longer run of U+FFFD is invalid bytes, not an incomplete character. */
const MAX_HELD_TOKENS = 4;
const REPLACEMENT = "\uFFFD";

export class IncrementalDetokenizer {
  private readonly tokens: number[];
  /** tokens[prefixStart, readStart) were already turned into text; they give the next delta its context. */
  private prefixStart = 0;
  private readStart: number;

  constructor(
    private readonly detokenize: Detokenize,
    promptTokens: readonly number[],
  ) {
    this.tokens = promptTokens.slice(-CONTEXT_TOKENS);
    this.readStart = this.tokens.length;
  }

  /** Adds one token; returns the text it completes (often "" while a character is incomplete). */
  push(token: number): string {
    this.tokens.push(token);
    return this.emit(false);
  }

  /** At the end of generation: whatever is held back, complete or not. */
  flush(): string {
    return this.readStart < this.tokens.length ? this.emit(true) : "";
  }

  private emit(force: boolean): string {
    const prefixText = this.detokenize(this.tokens.slice(this.prefixStart, this.readStart));
    const text = this.detokenize(this.tokens.slice(this.prefixStart));
    const held = this.tokens.length - this.readStart;
    if (!force && held < MAX_HELD_TOKENS && (text.length <= prefixText.length || text.endsWith(REPLACEMENT))) return "";
    const delta = text.slice(prefixText.length);
    this.prefixStart = this.readStart;
    this.readStart = this.tokens.length;
    // Keep the window small: drop tokens that no longer serve as context.
    if (this.prefixStart > 64) {
      this.tokens.splice(0, this.prefixStart);
      this.readStart -= this.prefixStart;
      this.prefixStart = 0;
    }
    return delta;
  }
}
