/**
 * What never changes about a token of a loaded model — is it special, does it
 * end a generation, its own text — asked once per token id and then kept.
 * node-llama-cpp answers each of these with one to four calls into its addon;
 * the master asks them for every generated token, right after the decode has
 * come back and before the next one starts (the text and bytes, for
 * logprobs, as each response is formatted). There, on this project's VM,
 * "is it special" alone took ~24 µs per token (the thread has just woken;
 * ~2 µs in a tight loop), about 1 % of a small model's decode. Kept per id
 * in arrays sized to the vocabulary, so they cannot grow past it.
 */

const UNKNOWN = 0;
const NO = 1;
const YES = 2;

export interface TokenOracle {
  isSpecial(token: number): boolean;
  isEndOfGeneration(token: number): boolean;
  text(token: number): string;
  /** Its bytes (see tokenBytes.ts). */
  bytes(token: number): number[];
}

export class TokenFacts implements TokenOracle {
  private readonly special: Uint8Array;
  private readonly end: Uint8Array;
  private readonly texts: Array<string | undefined>;
  private readonly byteLists: Array<number[] | undefined>;

  constructor(
    private readonly vocabSize: number,
    private readonly ask: TokenOracle,
  ) {
    this.special = new Uint8Array(vocabSize);
    this.end = new Uint8Array(vocabSize);
    this.texts = new Array<string | undefined>(vocabSize);
    this.byteLists = new Array<number[] | undefined>(vocabSize);
  }

  isSpecial(token: number): boolean {
    return this.known(this.special, token, (t) => this.ask.isSpecial(t));
  }

  isEndOfGeneration(token: number): boolean {
    return this.known(this.end, token, (t) => this.ask.isEndOfGeneration(t));
  }

  text(token: number): string {
    if (!this.inVocabulary(token)) return this.ask.text(token);
    return (this.texts[token] ??= this.ask.text(token));
  }

  bytes(token: number): number[] {
    if (!this.inVocabulary(token)) return this.ask.bytes(token);
    return (this.byteLists[token] ??= this.ask.bytes(token));
  }

  private known(facts: Uint8Array, token: number, ask: (token: number) => boolean): boolean {
    if (!this.inVocabulary(token)) return ask(token);
    const fact = facts[token];
    if (fact !== UNKNOWN) return fact === YES;
    const answer = ask(token);
    facts[token] = answer ? YES : NO;
    return answer;
  }

  /** An id outside the vocabulary is asked every time (and kept nowhere): the model says what it says about it. */
  private inVocabulary(token: number): boolean {
    return Number.isInteger(token) && token >= 0 && token < this.vocabSize;
  }
}
