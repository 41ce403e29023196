/** Token objects shared by the llm-serving and TGI wire formats. */
import type { TokenAlternative } from "../../agent/Agent.js";
import type { FinishReason, TokenEvent } from "../../master/GenerationStream.js";

/** JSON has no NaN: a logprob that was not computed is null. */
export function logprobJson(logprob: number): number | null {
  return Number.isNaN(logprob) ? null : logprob;
}

/** {"id", "logprob", "special", "text"}, in llm-serving's key order (TGI's token has the same fields). */
export function tokenObject(e: TokenEvent): { id: number; logprob: number | null; special: boolean; text: string } {
  return { id: e.id, logprob: logprobJson(e.logprob), special: e.special, text: e.text };
}

/** The alternatives of a token, with their text. */
export function alternatives(top: readonly TokenAlternative[] | undefined, textOf: (id: number) => string, isSpecial: (id: number) => boolean) {
  return (top ?? []).map((t) => ({ id: t.id, logprob: t.logprob, special: isSpecial(t.id), text: textOf(t.id) }));
}

/** TGI's (and llm-serving's) finish reasons. */
export function tgiFinishReason(reason: FinishReason): "length" | "eos_token" | "stop_sequence" {
  if (reason === "eos") return "eos_token";
  if (reason === "stop") return "stop_sequence";
  return "length";
}
