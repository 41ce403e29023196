/**
 * The ggml tensor types a GGUF file may name, with the block layout that
 * fixes a tensor's size in bytes. The figures are those of the llama.cpp
 * release node-llama-cpp ships (ggml_blck_size / ggml_type_size): a type
 * llama.cpp does not know is refused, as llama.cpp would refuse it.
 */

export interface GgmlTypeTraits {
  name: string;
  /** Values per block; every row length must be a multiple of it. */
  blockSize: number;
  /** Bytes per block. */
  blockBytes: number;
}

/** Ids llama.cpp once had and now refuses to read from a file. */
const REMOVED: Readonly<Record<number, string>> = {
  4: "Q4_2",
  5: "Q4_3",
  31: "Q4_0_4_4",
  32: "Q4_0_4_8",
  33: "Q4_0_8_8",
  36: "IQ4_NL_4_4",
  37: "IQ4_NL_4_8",
  38: "IQ4_NL_8_8",
};

const t = (name: string, blockSize: number, blockBytes: number): GgmlTypeTraits => ({ name, blockSize, blockBytes });

const TRAITS: Readonly<Record<number, GgmlTypeTraits>> = {
  0: t("F32", 1, 4),
  1: t("F16", 1, 2),
  2: t("Q4_0", 32, 18),
  3: t("Q4_1", 32, 20),
  6: t("Q5_0", 32, 22),
  7: t("Q5_1", 32, 24),
  8: t("Q8_0", 32, 34),
  9: t("Q8_1", 32, 36),
  10: t("Q2_K", 256, 84),
  11: t("Q3_K", 256, 110),
  12: t("Q4_K", 256, 144),
  13: t("Q5_K", 256, 176),
  14: t("Q6_K", 256, 210),
  15: t("Q8_K", 256, 292),
  16: t("IQ2_XXS", 256, 66),
  17: t("IQ2_XS", 256, 74),
  18: t("IQ3_XXS", 256, 98),
  19: t("IQ1_S", 256, 50),
  20: t("IQ4_NL", 32, 18),
  21: t("IQ3_S", 256, 110),
  22: t("IQ2_S", 256, 82),
  23: t("IQ4_XS", 256, 136),
  24: t("I8", 1, 1),
  25: t("I16", 1, 2),
  26: t("I32", 1, 4),
  27: t("I64", 1, 8),
  28: t("F64", 1, 8),
  29: t("IQ1_M", 256, 56),
  30: t("BF16", 1, 2),
  34: t("TQ1_0", 256, 54),
  35: t("TQ2_0", 256, 66),
  39: t("MXFP4", 32, 17),
  40: t("NVFP4", 64, 36),
  41: t("Q1_0", 128, 18),
  42: t("Q2_0", 64, 18),
};

/** One past the highest id llama.cpp knows (GGML_TYPE_COUNT). */
export const GGML_TYPE_COUNT = 43;

export type GgmlTypeLookup = { known: GgmlTypeTraits } | { removed: string } | { unknown: true };

export function lookupGgmlType(id: number): GgmlTypeLookup {
  if (Object.hasOwn(TRAITS, id)) return { known: TRAITS[id] };
  if (Object.hasOwn(REMOVED, id)) return { removed: REMOVED[id] };
  return { unknown: true };
}

/**
 * Bytes of a contiguous tensor (ggml_nbytes): whole blocks along the row,
 * times the other dimensions. BigInt because untrusted dims can overflow 2^53.
 */
export function tensorByteSize(traits: GgmlTypeTraits, dims: readonly bigint[]): bigint {
  if (dims.some((d) => d <= 0n)) return 0n;
  const [rowLength, ...rest] = dims.length === 0 ? [1n] : dims;
  const rowBytes = (rowLength / BigInt(traits.blockSize)) * BigInt(traits.blockBytes);
  return rest.reduce((bytes, d) => bytes * d, rowBytes);
}
