/**
 * A token's own bytes, from the model's vocabulary, for a token whose text is
 * only part of a character (OpenAI's logprobs carry `bytes` so that a client
 * can put such tokens back together). Its detokenized text is then U+FFFD,
 * whose UTF-8 says nothing of the byte. SentencePiece vocabularies spell a
 * byte token "<0xE6>"; byte-level BPE ("gpt2") spells every byte as one
 * printable character (GPT-2's bytes_to_unicode table).
 */

/** GPT-2's table read backwards: the character that stands for a byte → the byte. */
function gpt2Bytes(): Map<number, number> {
  const printable = (b: number): boolean => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const byChar = new Map<number, number>();
  let next = 256;
  for (let b = 0; b < 256; b++) byChar.set(printable(b) ? b : next++, b);
  return byChar;
}

let gpt2: Map<number, number> | undefined;

/** The bytes the vocabulary's spelling of a token stands for; undefined when this kind of vocabulary is not known here. */
export function vocabularyBytes(tokenizer: string | undefined, spelling: string): number[] | undefined {
  if (tokenizer === "llama") {
    const byte = /^<0x([0-9A-Fa-f]{2})>$/.exec(spelling);
    return byte ? [parseInt(byte[1], 16)] : undefined;
  }
  if (tokenizer === "gpt2") {
    gpt2 ??= gpt2Bytes();
    const bytes: number[] = [];
    for (const c of spelling) {
      const b = gpt2.get(c.codePointAt(0)!);
      if (b === undefined) return undefined;
      bytes.push(b);
    }
    return bytes;
  }
  return undefined;
}

/** A token's bytes: its text's UTF-8, unless the text is a stand-in for part of a character and the vocabulary says which bytes. */
export function tokenBytes(text: string, tokenizer: string | undefined, spelling: string | undefined): number[] {
  if (text.includes("\uFFFD") && spelling !== undefined) {
    const raw = vocabularyBytes(tokenizer, spelling);
    if (raw) return raw;
  }
  return [...Buffer.from(text, "utf8")];
}
