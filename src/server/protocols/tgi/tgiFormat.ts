/**
 * TGI's responses. /generate: {"generated_text", "details"?}; /generate_stream:
 * standard SSE, one `data:{...}` event per token and a blank line, the last
 * event carrying generated_text and details.
 */
import type { EngineTokens } from "../../../engines/Engine.js";
import type { TokenEvent } from "../../../master/GenerationStream.js";
import type { Generation, StreamFormat } from "../../generation/ResponseFormat.js";
import { errorBody, type HttpError } from "../../httpErrors.js";
import { alternatives, tgiFinishReason, tokenObject } from "../tokenText.js";

/** Looks up token texts for prefill tokens and alternatives: the engine's own. */
export type TokenTexts = Pick<EngineTokens, "text" | "isSpecial">;

export interface TgiOptions {
  details: boolean;
  decoderInputDetails: boolean;
  /** The inputs, prepended to generated_text when return_full_text. */
  prefix: string;
  topN: number;
  prompt: readonly number[];
  /** Report the seed: when sampling (TGI reports none for greedy decoding) or when the client gave one. */
  showSeed: boolean;
}

function topTokens(e: TokenEvent, texts: TokenTexts) {
  return alternatives(e.top, (id) => texts.text(id), (id) => texts.isSpecial(id));
}

export function tgiResponse(g: Generation, o: TgiOptions, texts: TokenTexts, timings?: object): object {
  const response: Record<string, unknown> = { generated_text: o.prefix + g.text };
  if (o.details) {
    const details: Record<string, unknown> = {
      finish_reason: tgiFinishReason(g.finishReason),
      generated_tokens: g.generatedTokens,
      seed: o.showSeed ? g.seed : null,
      prefill: o.decoderInputDetails ? o.prompt.map((id) => ({ id, text: texts.text(id), logprob: null })) : [],
      tokens: g.tokens.map(tokenObject),
    };
    if (o.topN > 0) details.top_tokens = g.tokens.map((e) => topTokens(e, texts));
    response.details = details;
  }
  if (timings) response.timings = timings;
  return response;
}

export function tgiStreamFormat(o: TgiOptions, texts: TokenTexts): StreamFormat {
  const event = (e: TokenEvent, g?: Generation, timings?: object): string => {
    const body: Record<string, unknown> = { index: e.index + 1, token: tokenObject(e) };
    if (o.topN > 0) body.top_tokens = topTokens(e, texts);
    body.generated_text = g ? o.prefix + g.text : null;
    // As TGI: the last event's details only when they were asked for.
    body.details = g && o.details ? { finish_reason: tgiFinishReason(g.finishReason), generated_tokens: g.generatedTokens, seed: o.showSeed ? g.seed : null, input_length: o.prompt.length } : null;
    if (timings) body.timings = timings;
    return `data:${JSON.stringify(body)}\n\n`;
  };
  return {
    contentType: "text/event-stream; charset=utf-8",
    head: () => "",
    token: (e) => event(e),
    tail: (g, last, timings) => (last ? event(last, g, timings) : ""),
    error: (e: HttpError) => `data:${JSON.stringify(errorBody("tgi", e).body)}\n\n`,
  };
}
