/** Shapes of the synthetic LLaMA models. Head size is 64 throughout; every row length is a multiple of 32 (Q8_0 blocks). */
export interface ModelShape {
  vocabSize: number;
  embeddingLength: number;
  blockCount: number;
  headCount: number;
  headCountKv: number;
  feedForwardLength: number;
  contextLength: number;
}

export type PresetName = "tiny" | "small" | "medium" | "large";

export const PRESETS: Readonly<Record<PresetName, ModelShape>> = {
  // ≈ 3.7 M parameters: loads in milliseconds, decodes in ~0.5 ms; for tests.
  tiny: { vocabSize: 1024, embeddingLength: 256, blockCount: 4, headCount: 4, headCountKv: 4, feedForwardLength: 704, contextLength: 4096 },
  // ≈ 31 M
  small: { vocabSize: 4096, embeddingLength: 512, blockCount: 8, headCount: 8, headCountKv: 8, feedForwardLength: 1536, contextLength: 4096 },
  // ≈ 220 M
  medium: { vocabSize: 32000, embeddingLength: 1024, blockCount: 12, headCount: 16, headCountKv: 16, feedForwardLength: 2816, contextLength: 4096 },
  // ≈ 300 M
  large: { vocabSize: 32000, embeddingLength: 1024, blockCount: 18, headCount: 16, headCountKv: 16, feedForwardLength: 2816, contextLength: 4096 },
};

export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

export function isPresetName(name: string): name is PresetName {
  return Object.hasOwn(PRESETS, name);
}
