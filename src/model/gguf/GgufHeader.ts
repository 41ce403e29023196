/**
 * The metadata and tensor directory of a GGUF v3 file, encoded to bytes.
 * Layout (little-endian): magic, version, tensor count, key/value count,
 * the key/values, the tensor infos, padding to the alignment. Tensor data
 * follows, each tensor padded to the alignment, offsets relative to the data start.
 */

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
/** GGUF's default alignment (GGUF_DEFAULT_ALIGNMENT): this writer's, and a reader's when general.alignment is absent. */
export const GGUF_ALIGNMENT = 32;

/** GGUF metadata value types (gguf_type), as the format numbers them. */
export const enum GgufValueType {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
}

export type GgufValue =
  | { type: "u32"; value: number }
  | { type: "f32"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "string[]"; value: readonly string[] }
  | { type: "f32[]"; value: ArrayLike<number> }
  | { type: "i32[]"; value: ArrayLike<number> };

/** GGML tensor types this writer produces. */
export const enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q8_0 = 8,
}

export interface TensorInfo {
  name: string;
  /** dims[0] is the row length (ggml's ne0). */
  dims: readonly number[];
  type: GgmlType;
  /** Bytes of encoded data, before padding. */
  byteLength: number;
}

export function alignUp(n: number, alignment = GGUF_ALIGNMENT): number {
  return Math.ceil(n / alignment) * alignment;
}

/** A growable little-endian byte sink for the header; the header is small (the vocabulary dominates). */
class ByteSink {
  private buf = Buffer.alloc(1 << 16);
  private len = 0;

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + extra));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  u32(v: number): void {
    this.ensure(4);
    this.len = this.buf.writeUInt32LE(v, this.len);
  }

  i32(v: number): void {
    this.ensure(4);
    this.len = this.buf.writeInt32LE(v, this.len);
  }

  u64(v: number): void {
    this.ensure(8);
    this.len = this.buf.writeBigUInt64LE(BigInt(v), this.len);
  }

  f32(v: number): void {
    this.ensure(4);
    this.len = this.buf.writeFloatLE(v, this.len);
  }

  u8(v: number): void {
    this.ensure(1);
    this.len = this.buf.writeUInt8(v, this.len);
  }

  string(s: string): void {
    const bytes = Buffer.from(s, "utf8");
    this.u64(bytes.length);
    this.ensure(bytes.length);
    this.len += bytes.copy(this.buf, this.len);
  }

  padTo(alignment: number): void {
    const target = alignUp(this.len, alignment);
    this.ensure(target - this.len);
    this.buf.fill(0, this.len, target);
    this.len = target;
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

function writeValue(sink: ByteSink, v: GgufValue): void {
  switch (v.type) {
    case "u32":
      sink.u32(GgufValueType.U32);
      sink.u32(v.value);
      return;
    case "f32":
      sink.u32(GgufValueType.F32);
      sink.f32(v.value);
      return;
    case "bool":
      sink.u32(GgufValueType.BOOL);
      sink.u8(v.value ? 1 : 0);
      return;
    case "string":
      sink.u32(GgufValueType.STRING);
      sink.string(v.value);
      return;
    case "string[]":
      sink.u32(GgufValueType.ARRAY);
      sink.u32(GgufValueType.STRING);
      sink.u64(v.value.length);
      for (const s of v.value) sink.string(s);
      return;
    case "f32[]":
      sink.u32(GgufValueType.ARRAY);
      sink.u32(GgufValueType.F32);
      sink.u64(v.value.length);
      for (let i = 0; i < v.value.length; i++) sink.f32(v.value[i]);
      return;
    case "i32[]":
      sink.u32(GgufValueType.ARRAY);
      sink.u32(GgufValueType.I32);
      sink.u64(v.value.length);
      for (let i = 0; i < v.value.length; i++) sink.i32(v.value[i]);
      return;
  }
}

/**
 * Encodes the header (everything before the tensor data) and returns it with
 * each tensor's offset inside the data section.
 */
export function encodeGgufHeader(
  metadata: ReadonlyArray<readonly [string, GgufValue]>,
  tensors: readonly TensorInfo[],
): { header: Buffer; offsets: number[] } {
  const sink = new ByteSink();
  sink.u32(GGUF_MAGIC);
  sink.u32(GGUF_VERSION);
  sink.u64(tensors.length);
  sink.u64(metadata.length);
  for (const [key, value] of metadata) {
    sink.string(key);
    writeValue(sink, value);
  }
  const offsets: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    sink.string(t.name);
    sink.u32(t.dims.length);
    for (const d of t.dims) sink.u64(d);
    sink.u32(t.type);
    sink.u64(offset);
    offsets.push(offset);
    offset += alignUp(t.byteLength);
  }
  sink.padTo(GGUF_ALIGNMENT);
  return { header: sink.bytes(), offsets };
}
