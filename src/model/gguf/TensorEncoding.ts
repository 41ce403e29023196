/**
 * How a row-major block of float32 values becomes the bytes of a GGML tensor
 * type: F32 as is, F16 rounded to nearest even, Q8_0 as ggml's reference
 * quantizer does it (blocks of 32: an f16 scale max|x|/127 and 32 int8).
 */
import { GgmlType } from "./GgufHeader.js";

export const Q8_0_BLOCK = 32;
const Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK;

export type Dtype = "F32" | "F16" | "Q8_0";

export const DTYPES: readonly Dtype[] = ["F32", "F16", "Q8_0"];

export function ggmlTypeOf(dtype: Dtype): GgmlType {
  switch (dtype) {
    case "F32":
      return GgmlType.F32;
    case "F16":
      return GgmlType.F16;
    case "Q8_0":
      return GgmlType.Q8_0;
  }
}

/** llama.cpp's `general.file_type` (LLAMA_FTYPE_*) for a whole-model dtype. */
export function fileTypeOf(dtype: Dtype): number {
  switch (dtype) {
    case "F32":
      return 0;
    case "F16":
      return 1;
    case "Q8_0":
      return 7;
  }
}

export function encodedByteLength(dtype: Dtype, count: number): number {
  switch (dtype) {
    case "F32":
      return count * 4;
    case "F16":
      return count * 2;
    case "Q8_0":
      if (count % Q8_0_BLOCK !== 0) throw new Error(`Q8_0 needs a multiple of ${Q8_0_BLOCK} values, got ${count}`);
      return (count / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES;
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary32 → binary16 bits, round to nearest even; overflow → ±Inf. */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf or NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // too small even for a subnormal
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++; // may carry into the exponent, which is correct
  return sign | half;
}

/** binary16 bits → number (for tests and for Q8_0 scales). */
export function fromFloat16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Encodes `values` in `dtype` into `out` (which must hold encodedByteLength bytes). */
export function encodeTensorData(dtype: Dtype, values: Float32Array, out: Buffer): void {
  switch (dtype) {
    case "F32":
      Buffer.from(values.buffer, values.byteOffset, values.byteLength).copy(out);
      return;
    case "F16": {
      const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
      for (let i = 0; i < values.length; i++) view.setUint16(i * 2, toFloat16Bits(values[i]), true);
      return;
    }
    case "Q8_0":
      encodeQ8_0(values, out);
      return;
  }
}

function encodeQ8_0(values: Float32Array, out: Buffer): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const blocks = values.length / Q8_0_BLOCK;
  for (let b = 0; b < blocks; b++) {
    const base = b * Q8_0_BLOCK;
    let amax = 0;
    for (let j = 0; j < Q8_0_BLOCK; j++) amax = Math.max(amax, Math.abs(values[base + j]));
    const d = Math.fround(amax / 127);
    const id = d ? Math.fround(1 / d) : 0;
    const at = b * Q8_0_BLOCK_BYTES;
    view.setUint16(at, toFloat16Bits(d), true);
    for (let j = 0; j < Q8_0_BLOCK; j++) {
      // as C's roundf: half away from zero
      const x = Math.fround(values[base + j] * id);
      view.setInt8(at + 2 + j, x < 0 ? -Math.round(-x) : Math.round(x));
    }
  }
}
