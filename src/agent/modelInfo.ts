/** What the agent says about its model, read from the GGUF metadata node-llama-cpp loaded. */
import { GgufFileType, type LlamaModel } from "node-llama-cpp";

export interface ModelInfo {
  path: string;
  name: string;
  architecture: string;
  /** True for models made by `llm-serving make-model`: random weights, meaningless text. */
  synthetic: boolean;
  preset: string | undefined;
  vocabSize: number;
  bosToken: number | null;
  eosToken: number | null;
  addBos: boolean;
  trainContextSize: number;
  sizeBytes: number;
  /** Weight type, e.g. "Q8_0", "F16" (from general.file_type). */
  fileType: string;
  /** The Jinja chat template from the GGUF metadata, if any. */
  chatTemplate: string | undefined;
  bosText: string | null;
  eosText: string | null;
}

export function describeModel(model: LlamaModel): ModelInfo {
  const md = model.fileInfo.metadata as unknown as {
    general?: { name?: string; architecture?: string; file_type?: number };
    tokenizer?: { ggml?: { tokens?: unknown[] }; chat_template?: string };
    llm_serving?: { synthetic?: boolean; preset?: string };
  } & Record<string, { vocab_size?: number } | undefined>;
  const architecture = md.general?.architecture ?? "unknown";
  return {
    path: model.filename ?? "",
    name: md.general?.name ?? model.filename ?? "model",
    architecture,
    synthetic: md.llm_serving?.synthetic === true,
    preset: md.llm_serving?.preset,
    vocabSize: md.tokenizer?.ggml?.tokens?.length ?? md[architecture]?.vocab_size ?? 0,
    bosToken: model.tokens.bos,
    eosToken: model.tokens.eos,
    addBos: model.tokens.shouldPrependBosToken,
    trainContextSize: model.trainContextSize,
    sizeBytes: model.size,
    fileType: fileTypeName(md.general?.file_type),
    chatTemplate: typeof md.tokenizer?.chat_template === "string" ? md.tokenizer.chat_template : undefined,
    bosText: model.tokens.bosString,
    eosText: model.tokens.eosString,
  };
}

/**
 * The most UTF-8 bytes of text one token can stand for, for tokenizers that
 * never shrink text (SentencePiece "llama", byte-level BPE "gpt2"): the
 * vocabulary's spelling of a token is never shorter than the text it stands
 * for ("▁" for a space, "<0x41>" for a byte, "Ġ" for a space byte).
 * Undefined for other tokenizers (some normalize text, so no bound holds).
 */
export function longestTokenBytes(model: LlamaModel): number | undefined {
  const md = model.fileInfo.metadata as unknown as { tokenizer?: { ggml?: { model?: string; tokens?: unknown[] } } };
  const kind = md.tokenizer?.ggml?.model;
  const tokens = md.tokenizer?.ggml?.tokens;
  if ((kind !== "llama" && kind !== "gpt2") || !Array.isArray(tokens) || tokens.length === 0) return undefined;
  let longest = 1;
  for (const t of tokens) if (typeof t === "string") longest = Math.max(longest, Buffer.byteLength(t, "utf8"));
  return longest;
}

/** The GGUF's tokenizer kind ("llama" = SentencePiece, "gpt2" = byte-level BPE, …). */
export function tokenizerKind(model: LlamaModel): string | undefined {
  const kind = (model.fileInfo.metadata as unknown as { tokenizer?: { ggml?: { model?: unknown } } }).tokenizer?.ggml?.model;
  return typeof kind === "string" ? kind : undefined;
}

/** How the vocabulary spells a token ("▁the", "<0xE6>", "Ġthe"). */
export function vocabularySpelling(model: LlamaModel, token: number): string | undefined {
  const tokens = (model.fileInfo.metadata as unknown as { tokenizer?: { ggml?: { tokens?: unknown[] } } }).tokenizer?.ggml?.tokens;
  const spelling = Array.isArray(tokens) ? tokens[token] : undefined;
  return typeof spelling === "string" ? spelling : undefined;
}

function fileTypeName(fileType: number | undefined): string {
  const name = fileType === undefined ? undefined : GgufFileType[fileType];
  return name ? name.replace(/^(MOSTLY|ALL)_/, "") : "unknown";
}
