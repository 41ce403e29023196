/**
 * A SentencePiece-style vocabulary that llama.cpp loads as SPM and that
 * round-trips any UTF-8 text: <unk>, <s>, </s>, the 256 byte-fallback tokens,
 * then word pieces ranked by score (▁ marks a leading space). The pieces are
 * made deterministically from a small word list and syllables, so generated
 * text looks like words even though it means nothing.
 */

export const UNK_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
export const FIRST_BYTE_ID = 3;
export const FIRST_PIECE_ID = FIRST_BYTE_ID + 256;

/** llama.cpp token types */
const NORMAL = 1;
const UNKNOWN = 2;
const CONTROL = 3;
const BYTE = 6;

const SPACE = "\u2581";

const WORDS =
  "the of and to in is was for on that with as by at from it an be this are or his which had not but " +
  "have were they one all their has been new more first also other its time when who would after two can " +
  "there into some out only than most many may year over them such where these so made about between " +
  "then under city during world while state over she her him work like high three well system part each " +
  "known through large used what because day use both life since before people same any long will own " +
  "early found could team model token server request time point step batch queue serve fast slow data " +
  "light water music house small great place name number water story line group school family north " +
  "south east west river history game way back end left right home even still year just book war";

const CONSONANTS = "bcdfghjklmnprstvwxyz".split("");
const VOWELS = "aeiou".split("");

export interface Vocabulary {
  tokens: string[];
  scores: Float32Array;
  types: Int32Array;
}

/** Pieces in rank order until `count` are collected (duplicates skipped). */
function* pieceCandidates(): Generator<string> {
  for (let c = 0x21; c < 0x7f; c++) yield String.fromCharCode(c);
  yield SPACE;
  for (let c = 0x21; c < 0x7f; c++) yield SPACE + String.fromCharCode(c);
  for (const w of WORDS.split(" ")) {
    // prefixes first, so that merges can reach the whole word
    for (let i = 2; i <= w.length; i++) yield SPACE + w.slice(0, i);
    yield w;
  }
  const syllables = CONSONANTS.flatMap((c) => VOWELS.map((v) => c + v));
  for (const s of syllables) yield s;
  for (const s of syllables) yield SPACE + s;
  for (const s of syllables) for (const c of CONSONANTS) yield s + c;
  for (const a of syllables) for (const b of syllables) yield SPACE + a + b;
  for (const a of syllables) for (const b of syllables) yield a + b;
  for (const a of syllables) for (const b of syllables) for (const c of CONSONANTS) yield SPACE + a + b + c;
}

export function buildVocabulary(size: number): Vocabulary {
  if (size < FIRST_PIECE_ID + 200) throw new Error(`vocabulary size ${size} is too small`);
  const tokens = ["<unk>", "<s>", "</s>"];
  const types = [UNKNOWN, CONTROL, CONTROL];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(BYTE);
  }
  const seen = new Set<string>();
  for (const piece of pieceCandidates()) {
    if (tokens.length === size) break;
    if (seen.has(piece)) continue;
    seen.add(piece);
    tokens.push(piece);
    types.push(NORMAL);
  }
  if (tokens.length !== size) throw new Error(`vocabulary size ${size} is larger than the piece generator`);
  const scores = new Float32Array(size);
  for (let i = FIRST_PIECE_ID; i < size; i++) scores[i] = -(i - FIRST_PIECE_ID);
  return { tokens, scores, types: Int32Array.from(types) };
}
