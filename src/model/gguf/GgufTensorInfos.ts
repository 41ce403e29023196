/**
 * Walks a GGUF file's tensor infos (name, dimensions, ggml type, data
 * offset) under llama.cpp's rules: names unique and shorter than
 * GGML_MAX_NAME, at most GGML_MAX_DIMS non-negative dimensions, a type
 * llama.cpp knows, rows made of whole blocks, and each tensor's data right
 * after the previous one's, padded to the alignment. Whether the data fits
 * in the file is for the caller, who knows where the data section starts.
 */
import { lookupGgmlType, tensorByteSize, GGML_TYPE_COUNT, type GgmlTypeTraits } from "./GgmlTypes.js";
import { quote } from "./GgufFormatError.js";
import type { GgufReader } from "./GgufReader.js";

/** GGML_MAX_DIMS */
const MAX_DIMS = 4;
/** GGML_MAX_NAME is 64 with the terminating NUL. */
const MAX_NAME_BYTES = 63;
/** Fewest bytes a tensor info takes: name length, dimension count, type, offset. */
export const MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8;
const INT64_MAX = 2n ** 63n - 1n;

export interface TensorExtent {
  name: string;
  typeName: string;
  /** From the start of the data section. */
  offset: bigint;
  bytes: bigint;
}

function alignUpBig(n: bigint, alignment: number): bigint {
  const a = BigInt(alignment);
  return ((n + a - 1n) / a) * a;
}

export async function walkTensorInfos(r: GgufReader, count: number, alignment: number): Promise<TensorExtent[]> {
  const seen = new Map<string, number>();
  const tensors: TensorExtent[] = [];
  let expected = 0n;
  for (let i = 0; i < count; i++) {
    r.where = `tensor ${i}`;
    const name = await readName(r);
    const earlier = seen.get(name);
    if (earlier !== undefined) throw r.fail(`duplicate tensor name ${quote(name)} (also tensor ${earlier})`);
    seen.set(name, i);
    r.where = `tensor ${i} (${quote(name)})`;
    const dims = await readDims(r);
    const traits = await readType(r, dims);
    const bytes = tensorByteSize(traits, dims);
    await r.need(8, "its data offset");
    const at = r.offset;
    const offset = r.u64();
    if (offset !== expected) {
      throw r.fail(`its data is at ${offset} in the data section, where llama.cpp expects ${expected}: each tensor follows the previous one, padded to ${alignment} bytes (offset ${at})`);
    }
    expected += alignUpBig(bytes, alignment);
    tensors.push({ name, typeName: traits.name, offset, bytes });
  }
  r.where = "";
  return tensors;
}

async function readName(r: GgufReader): Promise<string> {
  const { length } = await r.readLength("a name", "its name's length", MAX_NAME_BYTES, `llama.cpp's ${MAX_NAME_BYTES}`);
  await r.need(length, "its name");
  return r.bytes(length);
}

async function readDims(r: GgufReader): Promise<bigint[]> {
  await r.need(4, "its dimension count");
  const countAt = r.offset;
  const count = r.u32();
  if (count > MAX_DIMS) throw r.fail(`${count} dimensions, more than ggml's ${MAX_DIMS} (offset ${countAt})`);
  await r.need(8 * count, "its dimensions");
  const dims: bigint[] = [];
  for (let j = 0; j < count; j++) {
    const at = r.offset;
    const d = r.u64();
    if (d > INT64_MAX) throw r.fail(`dimension ${j} is ${BigInt.asIntN(64, d)}, negative (offset ${at})`);
    dims.push(d);
  }
  const elements = dims.reduce((n, d) => n * d, 1n);
  if (elements >= INT64_MAX) throw r.fail(`a shape of [${dims.join(", ")}] has more elements than ggml can count (offset ${countAt})`);
  return dims;
}

async function readType(r: GgufReader, dims: readonly bigint[]): Promise<GgmlTypeTraits> {
  await r.need(4, "its type");
  const at = r.offset;
  const id = r.u32();
  const type = lookupGgmlType(id);
  if ("unknown" in type) throw r.fail(`unknown ggml type ${id} (offset ${at}; llama.cpp knows types 0–${GGML_TYPE_COUNT - 1})`);
  if ("removed" in type) throw r.fail(`ggml type ${id} (${type.removed}), which llama.cpp no longer reads (offset ${at})`);
  const traits = type.known;
  const rowLength = dims.length > 0 ? dims[0] : 1n;
  if (rowLength % BigInt(traits.blockSize) !== 0n) {
    throw r.fail(`rows of ${rowLength} values are not whole ${traits.name} blocks of ${traits.blockSize} (offset ${at})`);
  }
  return traits;
}
