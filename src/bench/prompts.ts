/** What the load client asks: prompts from a JSONL file, or synthetic ones of a given length. */
import { readFile } from "node:fs/promises";
import { Prng } from "../model/Prng.js";

export interface PromptSpec {
  prompt: string;
  /** This prompt's own output length, if the file gives one. */
  maxTokens?: number;
}

/** One JSON object per line: the prompt as "prompt", "inputs" or "text"; optionally "max_new_tokens" or "max_tokens". */
export async function loadPrompts(path: string): Promise<PromptSpec[]> {
  const lines = (await readFile(path, "utf8")).split("\n").filter((l) => l.trim() !== "");
  return lines.map((line, i) => {
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`${path}:${i + 1}: not valid JSON`);
    }
    const prompt = o.prompt ?? o.inputs ?? o.text;
    if (typeof prompt !== "string" || prompt === "") throw new Error(`${path}:${i + 1}: needs a non-empty "prompt" (or "inputs", "text")`);
    const max = o.max_new_tokens ?? o.max_tokens;
    if (max !== undefined && !(Number.isInteger(max) && (max as number) > 0)) throw new Error(`${path}:${i + 1}: max_new_tokens must be a positive integer`);
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
