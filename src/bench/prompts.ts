/** What the load client asks: prompts from a JSONL file, or synthetic ones of a given length. */
import { Prng } from "../model/Prng.js";
import { jsonLines, readRecordsFile } from "./clientRecords.js";

export interface PromptSpec {
  prompt: string;
  /** This prompt's own output length, if the file gives one. */
  maxTokens?: number;
}

/** One JSON object per line: the prompt as "prompt", "inputs" or "text"; optionally "max_new_tokens" or "max_tokens". */
export async function loadPrompts(path: string): Promise<PromptSpec[]> {
  return jsonLines(await readRecordsFile(path, "the prompts"), path, "a prompt").map(({ value, line }) => {
    const o = (value !== null && typeof value === "object" && !Array.isArray(value) ? value : {}) as Record<string, unknown>;
    const prompt = o.prompt ?? o.inputs ?? o.text;
    if (typeof prompt !== "string" || prompt === "") throw new Error(`${path}:${line}: needs a non-empty "prompt" (or "inputs", "text")`);
    const max = o.max_new_tokens ?? o.max_tokens;
    if (max !== undefined && !(Number.isInteger(max) && (max as number) > 0)) throw new Error(`${path}:${line}: max_new_tokens must be a positive integer`);
    return { prompt, maxTokens: max as number | undefined };
  });
}

const WORDS = "the model serves a request in steps and every step decodes one token for each row of the batch while the server writes what it has".split(" ");

/**
 * `count` prompts of about `words` words each (most common words are one
 * token; the server's tokenizer decides the exact count), different per
 * prompt so no cache can serve them.
 */
export function syntheticPrompts(words: number, count: number, seed = 0): PromptSpec[] {
  const prng = new Prng(seed, 0x9071);
  return Array.from({ length: count }, (_, i) => {
    const w = [`request ${i}:`];
    for (let k = 1; k < words; k++) w.push(WORDS[prng.nextUint32() % WORDS.length]);
    return { prompt: w.join(" ") };
  });
}
