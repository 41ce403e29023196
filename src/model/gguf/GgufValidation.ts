/**
 * Checks a whole GGUF header, and that the tensor data it describes is in
 * the file, before llama.cpp (or node-llama-cpp's own GGUF reader, which
 * spins on some corrupt files) gets it. Nothing read from the file is
 * trusted: counts must fit the file's size before anything loops over
 * them, and every length is checked against the bytes left.
 */
import { alignUp, GGUF_MAGIC } from "./GgufHeader.js";
import { GgufFormatError, quote } from "./GgufFormatError.js";
import { MIN_KEY_VALUE_BYTES, walkMetadata } from "./GgufMetadata.js";
import { GgufReader, type ReadAt } from "./GgufReader.js";
import { MIN_TENSOR_INFO_BYTES, walkTensorInfos, type TensorExtent } from "./GgufTensorInfos.js";

/**
 * Past the format's own bounds: what this reader keeps per tensor and per
 * key grows with their counts, and no real model comes near these.
 */
const MAX_TENSORS = 1 << 20;
const MAX_KEYS = 1 << 20;

export interface GgufSummary {
  version: number;
  tensorCount: number;
  keyCount: number;
  alignment: number;
  /** File offset of the tensor data (the header's size, padded). */
  dataStart: number;
  /** Bytes of tensor data the header describes, up to the end of the last tensor. */
  dataBytes: number;
}

/** Validates the GGUF file of `size` bytes that `readAt` reads; throws GgufFormatError saying what is wrong and where. */
export async function validateGguf(readAt: ReadAt, size: number): Promise<GgufSummary> {
  const r = new GgufReader(readAt, size);
  const version = await readMagicAndVersion(r);
  const { tensorCount, keyCount } = await readCounts(r);
  const { alignment } = await walkMetadata(r, keyCount);
  const tensors = await walkTensorInfos(r, tensorCount, alignment);
  const headerEnd = r.offset;
  // llama.cpp pads to the alignment only when there are tensors to align.
  const dataStart = tensorCount > 0 ? alignUp(headerEnd, alignment) : headerEnd;
  if (dataStart > size) {
    throw new GgufFormatError(`the tensor data should start at offset ${dataStart} (the header ends at ${headerEnd}, padded to ${alignment}), past the end of the file (${size} bytes)`);
  }
  const dataBytes = checkDataFits(tensors, dataStart, size);
  return { version, tensorCount, keyCount, alignment, dataStart, dataBytes };
}

async function readMagicAndVersion(r: GgufReader): Promise<number> {
  const noMagic = (): GgufFormatError => new GgufFormatError("no GGUF magic at its start", "magic");
  // Shorter than the magic: not GGUF at all, rather than a GGUF file cut short.
  if (r.size < 4) throw noMagic();
  await r.need(4, "its magic");
  if (r.u32() !== GGUF_MAGIC) throw noMagic();
  await r.need(4, "its version");
  const version = r.u32();
  if (version === 2 || version === 3) return version;
  // A big-endian file's version 3 reads as 0x03000000 here.
  const hint = version !== 0 && (version & 0xffff) === 0 ? " (a big-endian file? llama.cpp reads little-endian GGUF here)" : "";
  throw new GgufFormatError(`GGUF version ${version}${hint}`, "version");
}

async function readCounts(r: GgufReader): Promise<{ tensorCount: number; keyCount: number }> {
  await r.need(16, "the tensor and metadata key counts");
  const tensors = r.u64();
  const keys = r.u64();
  const room = BigInt(r.left);
  const claims = (what: string): GgufFormatError => new GgufFormatError(`the header claims ${what}, more than fit in its ${r.size} bytes`);
  if (tensors * BigInt(MIN_TENSOR_INFO_BYTES) > room) throw claims(`${tensors} tensors`);
  if (keys * BigInt(MIN_KEY_VALUE_BYTES) > room) throw claims(`${keys} metadata keys`);
  if (tensors * BigInt(MIN_TENSOR_INFO_BYTES) + keys * BigInt(MIN_KEY_VALUE_BYTES) > room) throw claims(`${tensors} tensors and ${keys} metadata keys`);
  if (tensors > MAX_TENSORS) throw new GgufFormatError(`the header claims ${tensors} tensors; llm-serving reads at most ${MAX_TENSORS}`);
  if (keys > MAX_KEYS) throw new GgufFormatError(`the header claims ${keys} metadata keys; llm-serving reads at most ${MAX_KEYS}`);
  return { tensorCount: Number(tensors), keyCount: Number(keys) };
}

/** Offsets were checked to run in order, so the first tensor past the end is the one to name. Returns the data's extent. */
function checkDataFits(tensors: readonly TensorExtent[], dataStart: number, size: number): number {
  const room = BigInt(size - dataStart);
  let end = 0n;
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i];
    end = t.offset + t.bytes;
    if (end > room) {
      const at = BigInt(dataStart) + t.offset;
      throw new GgufFormatError(`tensor ${i} (${quote(t.name)}): its ${t.bytes} bytes of ${t.typeName} data at offset ${at} run past the end of the file (${size} bytes)`);
    }
  }
  return Number(end);
}
