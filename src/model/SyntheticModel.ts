/**
 * Writes a synthetic LLaMA GGUF model: seeded random weights, the synthetic
 * vocabulary. Same options → byte-identical file. The file is written to a
 * temporary name next to the target and renamed at the end, so a failure never
 * leaves a partial model behind.
 */
import { randomBytes } from "node:crypto";
import { open, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, sep } from "node:path";
import { alignUp, encodeGgufHeader, type GgufValue, type TensorInfo } from "./gguf/GgufHeader.js";
import { DTYPES, encodedByteLength, encodeTensorData, fileTypeOf, ggmlTypeOf, type Dtype } from "./gguf/TensorEncoding.js";
import { Prng } from "./Prng.js";
import { isPresetName, PRESET_NAMES, PRESETS, type ModelShape, type PresetName } from "./presets.js";
import { BOS_ID, buildVocabulary, EOS_ID, FIRST_PIECE_ID, UNK_ID, type Vocabulary } from "./Vocabulary.js";

export interface MakeModelOptions {
  preset: PresetName;
  dtype: Dtype;
  seed: number;
  out: string;
  /** A Jinja chat template to store as tokenizer.chat_template (none by default). */
  chatTemplate?: string;
}

/** Metadata keys marking our synthetic models, so that a server can say so at startup. */
export const SYNTHETIC_KEY = "llm_serving.synthetic";
export const SYNTHETIC_PRESET_KEY = "llm_serving.preset";

export class ModelOptionsError extends Error {
  override name = "ModelOptionsError";
}

export function validateMakeModelOptions(o: { preset: string; dtype: string; seed: number; out: string; chatTemplate?: string }): MakeModelOptions {
  if (!isPresetName(o.preset)) throw new ModelOptionsError(`unknown preset "${o.preset}" (expected one of ${PRESET_NAMES.join(", ")})`);
  if (!(DTYPES as readonly string[]).includes(o.dtype)) throw new ModelOptionsError(`unknown dtype "${o.dtype}" (expected one of ${DTYPES.join(", ")})`);
  if (!Number.isSafeInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) throw new ModelOptionsError(`seed must be an integer in [0, 2^32), got ${o.seed}`);
  if (!o.out) throw new ModelOptionsError("an output path is required");
  return { preset: o.preset, dtype: o.dtype as Dtype, seed: o.seed, out: o.out, chatTemplate: o.chatTemplate };
}

interface TensorPlan extends TensorInfo {
  /** Values are uniform in [-scale, scale); scale 0 means all ones (norm weights). */
  scale: number;
  dtype: Dtype;
  /** Rows (token ids) whose values are zeroed: makes those tokens unlikely outputs. */
  zeroRows?: readonly number[];
}

function planTensors(shape: ModelShape, dtype: Dtype): TensorPlan[] {
  const d = shape.embeddingLength;
  const kv = shape.headCountKv * (d / shape.headCount);
  const ff = shape.feedForwardLength;
  const plans: TensorPlan[] = [];
  const matrix = (name: string, rowLength: number, rows: number, scale: number, zeroRows?: number[]): void => {
    plans.push({ name, dims: [rowLength, rows], type: ggmlTypeOf(dtype), dtype, byteLength: encodedByteLength(dtype, rowLength * rows), scale, zeroRows });
  };
  const norm = (name: string): void => {
    plans.push({ name, dims: [d], type: ggmlTypeOf("F32"), dtype: "F32", byteLength: d * 4, scale: 0 });
  };
  matrix("token_embd.weight", d, shape.vocabSize, 1);
  for (let b = 0; b < shape.blockCount; b++) {
    norm(`blk.${b}.attn_norm.weight`);
    matrix(`blk.${b}.attn_q.weight`, d, d, 1 / Math.sqrt(d));
    matrix(`blk.${b}.attn_k.weight`, d, kv, 1 / Math.sqrt(d));
    matrix(`blk.${b}.attn_v.weight`, d, kv, 1 / Math.sqrt(d));
    matrix(`blk.${b}.attn_output.weight`, d, d, 1 / Math.sqrt(d));
    norm(`blk.${b}.ffn_norm.weight`);
    matrix(`blk.${b}.ffn_gate.weight`, d, ff, 1 / Math.sqrt(d));
    matrix(`blk.${b}.ffn_up.weight`, d, ff, 1 / Math.sqrt(d));
    matrix(`blk.${b}.ffn_down.weight`, ff, d, 1 / Math.sqrt(ff));
  }
  norm("output_norm.weight");
  // A larger output scale keeps the next-token distribution from being flat.
  // <unk>, <s>, </s> and the byte tokens get zero rows: random models would
  // otherwise end early and emit invalid UTF-8 byte runs.
  const rare = [UNK_ID, BOS_ID, EOS_ID];
  for (let id = EOS_ID + 1; id < FIRST_PIECE_ID; id++) rare.push(id);
  matrix("output.weight", d, shape.vocabSize, 6 / Math.sqrt(d), rare);
  return plans;
}

function metadata(o: MakeModelOptions, shape: ModelShape, vocab: Vocabulary): Array<[string, GgufValue]> {
  const u32 = (value: number): GgufValue => ({ type: "u32", value });
  return [
    ["general.architecture", { type: "string", value: "llama" }],
    ["general.name", { type: "string", value: `llm-serving synthetic ${o.preset} ${o.dtype} seed ${o.seed}` }],
    ["general.alignment", u32(32)],
    ["general.file_type", u32(fileTypeOf(o.dtype))],
    [SYNTHETIC_KEY, { type: "bool", value: true }],
    [SYNTHETIC_PRESET_KEY, { type: "string", value: o.preset }],
    ["llama.vocab_size", u32(shape.vocabSize)],
    ["llama.context_length", u32(shape.contextLength)],
    ["llama.embedding_length", u32(shape.embeddingLength)],
    ["llama.block_count", u32(shape.blockCount)],
    ["llama.feed_forward_length", u32(shape.feedForwardLength)],
    ["llama.attention.head_count", u32(shape.headCount)],
    ["llama.attention.head_count_kv", u32(shape.headCountKv)],
    ["llama.rope.dimension_count", u32(shape.embeddingLength / shape.headCount)],
    ["llama.rope.freq_base", { type: "f32", value: 10000 }],
    ["llama.attention.layer_norm_rms_epsilon", { type: "f32", value: 1e-5 }],
    ["tokenizer.ggml.model", { type: "string", value: "llama" }],
    ["tokenizer.ggml.tokens", { type: "string[]", value: vocab.tokens }],
    ["tokenizer.ggml.scores", { type: "f32[]", value: vocab.scores }],
    ["tokenizer.ggml.token_type", { type: "i32[]", value: vocab.types }],
    ["tokenizer.ggml.unknown_token_id", u32(UNK_ID)],
    ["tokenizer.ggml.bos_token_id", u32(BOS_ID)],
    ["tokenizer.ggml.eos_token_id", u32(EOS_ID)],
    ["tokenizer.ggml.add_bos_token", { type: "bool", value: true }],
    ["tokenizer.ggml.add_eos_token", { type: "bool", value: false }],
    ...(o.chatTemplate === undefined ? [] : [["tokenizer.chat_template", { type: "string", value: o.chatTemplate }] as [string, GgufValue]]),
  ];
}

/** Values per chunk: bounds memory for the large embeddings (a multiple of every row length). */
const CHUNK_ROWS = 256;

async function writeTensor(file: import("node:fs/promises").FileHandle, plan: TensorPlan, seed: number, index: number): Promise<void> {
  const rowLength = plan.dims[0];
  const rows = plan.dims.length > 1 ? plan.dims[1] : 1;
  const prng = new Prng(seed, index);
  const zero = new Set(plan.zeroRows ?? []);
  for (let r0 = 0; r0 < rows; r0 += CHUNK_ROWS) {
    const n = Math.min(CHUNK_ROWS, rows - r0);
    const values = new Float32Array(n * rowLength);
    if (plan.scale === 0) values.fill(1);
    else prng.fillUniform(values, plan.scale);
    for (let r = 0; r < n; r++) if (zero.has(r0 + r)) values.fill(0, r * rowLength, (r + 1) * rowLength);
    const bytes = Buffer.alloc(encodedByteLength(plan.dtype, values.length));
    encodeTensorData(plan.dtype, values, bytes);
    await file.write(bytes);
  }
  const padding = alignUp(plan.byteLength) - plan.byteLength;
  if (padding > 0) await file.write(Buffer.alloc(padding));
}

function isAFolder(out: string): ModelOptionsError {
  return new ModelOptionsError(`cannot write ${out}: it is a folder, not a file (give a file path such as ${join(out, "model.gguf")})`);
}

/** Checked before writing: otherwise the whole model is written to a temporary file, then the rename fails. */
async function assertNotAFolder(out: string): Promise<void> {
  const endsWithSeparator = out.endsWith(sep) || out.endsWith("/");
  const folder = endsWithSeparator || (await stat(out).then((s) => s.isDirectory(), () => false));
  if (folder) throw isAFolder(out);
}

export interface MadeModel {
  path: string;
  bytes: number;
  parameters: number;
}

export async function makeModel(options: MakeModelOptions): Promise<MadeModel> {
  const o = validateMakeModelOptions(options);
  await assertNotAFolder(o.out);
  const shape = PRESETS[o.preset];
  const vocab = buildVocabulary(shape.vocabSize);
  const plans = planTensors(shape, o.dtype);
  const { header } = encodeGgufHeader(metadata(o, shape, vocab), plans);
  const tmp = join(dirname(o.out), `.${basename(o.out)}.${randomBytes(4).toString("hex")}.tmp`);
  let file;
  try {
    file = await open(tmp, "wx");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "its folder does not exist" : code === "EACCES" || code === "EROFS" ? "permission denied" : (err as Error).message;
    throw new ModelOptionsError(`cannot write ${o.out}: ${why}`);
  }
  try {
    await file.write(header);
    for (let i = 0; i < plans.length; i++) await writeTensor(file, plans[i], o.seed, i);
    await file.close();
    file = undefined;
    await rename(tmp, o.out).catch((err: NodeJS.ErrnoException) => {
      // A folder made at the path while the model was being written.
      throw err.code === "EISDIR" ? isAFolder(o.out) : err;
    });
  } catch (err) {
    await file?.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  const parameters = plans.reduce((n, p) => n + p.dims.reduce((a, b) => a * b, 1), 0);
  return { path: o.out, bytes: (await stat(o.out)).size, parameters };
}
