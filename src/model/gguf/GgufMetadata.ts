/**
 * Walks a GGUF file's metadata key/values without trusting them: every
 * value type must be one GGUF defines, every string and array must fit in
 * the bytes left in the file, and the rules llama.cpp adds (non-empty,
 * unique keys; a u32 power-of-two general.alignment; no arrays of arrays)
 * hold. Values are skipped, not read, except the alignment.
 */
import { quote } from "./GgufFormatError.js";
import { GGUF_ALIGNMENT, GgufValueType } from "./GgufHeader.js";
import type { GgufReader } from "./GgufReader.js";

/** Each GgufValueType (the index) with its name and the bytes of one value (0: variable length). */
const VALUE_TYPES: ReadonlyArray<readonly [name: string, bytes: number]> = [
  ["u8", 1],
  ["i8", 1],
  ["u16", 2],
  ["i16", 2],
  ["u32", 4],
  ["i32", 4],
  ["f32", 4],
  ["bool", 1],
  ["string", 0],
  ["array", 0],
  ["u64", 8],
  ["i64", 8],
  ["f64", 8],
];

/** llama.cpp's GGUF_MAX_STRING_LENGTH and GGUF_MAX_ARRAY_ELEMENTS. */
const MAX_STRING_BYTES = 1024 ** 3;
const MAX_ARRAY_ELEMENTS = 1024 ** 3;
/** The GGUF spec's limit on keys; keys are held in memory to find duplicates, so it matters here. */
const MAX_KEY_BYTES = 65535;
/** Arrays of arrays are walked this deep at most: a chain of nested headers must not exhaust the stack. */
const MAX_ARRAY_DEPTH = 8;
/** Fewest bytes a key/value can take: an 8-byte length, a 1-byte key, a type, a 1-byte value. */
export const MIN_KEY_VALUE_BYTES = 8 + 1 + 4 + 1;

export interface MetadataSummary {
  /** general.alignment, or the default. */
  alignment: number;
}

export async function walkMetadata(r: GgufReader, count: number): Promise<MetadataSummary> {
  const seen = new Map<string, number>();
  let alignment = GGUF_ALIGNMENT;
  for (let i = 0; i < count; i++) {
    r.where = `metadata key ${i}`;
    const key = await readKey(r);
    const earlier = seen.get(key);
    if (earlier !== undefined) throw r.fail(`duplicate key ${quote(key)} (also key ${earlier})`);
    seen.set(key, i);
    r.where = `metadata key ${i} (${quote(key)})`;
    await r.need(4, "the value type");
    const typeAt = r.offset;
    const type = r.u32();
    checkType(r, type, typeAt, "value type");
    if (key === "general.alignment") alignment = await readAlignment(r, type, typeAt);
    else await skipValue(r, type);
  }
  r.where = "";
  return { alignment };
}

async function readKey(r: GgufReader): Promise<string> {
  const { length, at } = await r.readLength("a key", "the key's length", MAX_KEY_BYTES, `GGUF's ${MAX_KEY_BYTES}`);
  if (length === 0) throw r.fail(`an empty key (offset ${at})`);
  await r.need(length, "the key");
  return r.bytes(length);
}

function checkType(r: GgufReader, type: number, at: number, what: string): void {
  if (type >= VALUE_TYPES.length) throw r.fail(`unknown ${what} ${type} (offset ${at}; GGUF value types are 0–${VALUE_TYPES.length - 1})`);
}

async function readAlignment(r: GgufReader, type: number, typeAt: number): Promise<number> {
  if (type !== GgufValueType.U32) throw r.fail(`must be a u32, not ${VALUE_TYPES[type][0]} (offset ${typeAt})`);
  await r.need(4, "the value");
  const at = r.offset;
  const alignment = r.u32();
  if (alignment === 0 || (alignment & (alignment - 1)) !== 0) throw r.fail(`an alignment of ${alignment}, not a power of 2 (offset ${at})`);
  return alignment;
}

async function skipValue(r: GgufReader, type: number): Promise<void> {
  if (type === GgufValueType.STRING) await skipString(r);
  else if (type === GgufValueType.ARRAY) await skipArray(r, 0);
  else r.skipWithin(VALUE_TYPES[type][1], `its ${VALUE_TYPES[type][0]} value`);
}

async function skipString(r: GgufReader): Promise<void> {
  const { length } = await r.readLength("a string", "a string's length", MAX_STRING_BYTES, `llama.cpp's limit of ${MAX_STRING_BYTES}`);
  r.skip(length);
}

/** Fewest bytes one element takes: a string its length, an array its type and count. */
function minElementBytes(type: number): number {
  if (type === GgufValueType.STRING) return 8;
  if (type === GgufValueType.ARRAY) return 12;
  return VALUE_TYPES[type][1];
}

async function skipArray(r: GgufReader, depth: number): Promise<void> {
  await r.need(12, "an array's element type and count");
  const typeAt = r.offset;
  const type = r.u32();
  checkType(r, type, typeAt, "array element type");
  const countAt = r.offset;
  const count = r.u64();
  const minBytes = count * BigInt(minElementBytes(type));
  const elements = type === GgufValueType.STRING ? "strings" : type === GgufValueType.ARRAY ? "arrays" : `${VALUE_TYPES[type][0]} values`;
  if (minBytes > BigInt(r.left)) {
    throw r.fail(`an array of ${count} ${elements} (at least ${minBytes} bytes) runs past the end of the file (count at offset ${countAt}, ${r.left} bytes left)`);
  }
  if (count > MAX_ARRAY_ELEMENTS) throw r.fail(`an array of ${count} ${elements}, more than llama.cpp's limit of ${MAX_ARRAY_ELEMENTS} (offset ${countAt})`);
  const n = Number(count);
  if (type === GgufValueType.STRING) await skipStrings(r, n);
  else if (type === GgufValueType.ARRAY) await skipNestedArrays(r, n, depth, typeAt);
  else r.skip(Number(minBytes));
}

async function skipStrings(r: GgufReader, count: number): Promise<void> {
  const where = r.where;
  for (let i = 0; i < count; i++) {
    i += r.skipBufferedStrings(count - i, MAX_STRING_BYTES);
    if (i === count) break;
    r.where = `${where}, element ${i}`;
    await skipString(r);
    r.where = where;
  }
}

/** GGUF allows arrays of arrays; llama.cpp does not read them, so a well-formed one is still refused. */
async function skipNestedArrays(r: GgufReader, count: number, depth: number, typeAt: number): Promise<void> {
  if (depth + 1 >= MAX_ARRAY_DEPTH) throw r.fail(`arrays nested more than ${MAX_ARRAY_DEPTH} deep (offset ${typeAt})`);
  const where = r.where;
  for (let i = 0; i < count; i++) {
    r.where = `${where}, element ${i}`;
    await skipArray(r, depth + 1);
  }
  r.where = where;
  if (depth === 0) throw r.fail(`an array of arrays (offset ${typeAt}), which llama.cpp does not read`);
}
