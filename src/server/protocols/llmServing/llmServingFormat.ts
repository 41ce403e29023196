/**
 * llm-serving's wire formats, byte for byte. A token's stream line, for
 * return_protocol "sse" (the default), is one raw JSON line with no `data:`
 * prefix and no blank line:
 *   {"event":"message","retry":30000,"data":[{"details":null,"generated_text":"<delta>","tokens":{token},"top_tokens":[{token}]}]}
 * Any other return_protocol writes `data:` + the inner object + "\n". With
 * return_full_text, a last line carries the full-response fields.
 */
import type { TokenEvent } from "../../../master/GenerationStream.js";
import type { HttpError } from "../../httpErrors.js";
import type { Generation, StreamFormat } from "../../generation/ResponseFormat.js";
import { tgiFinishReason, tokenObject } from "../tokenText.js";

/** The full response (generate, and the last stream line), with the request's timings when timing is on. */
export function fullResponse(g: Generation, timings?: object): object {
  const tokens = g.tokens.map(tokenObject);
  const first = tokens.slice(0, 1);
  return {
    generated_text: g.text,
    finish_reason: tgiFinishReason(g.finishReason),
    generated_tokens: g.generatedTokens,
    prefill: first,
    seed: g.seed,
    tokens,
    top_tokens: [first],
    details: null,
    ...(timings ? { timings } : {}),
  };
}

function envelope(inner: object): string {
  return `{"event":"message","retry":30000,"data":[${JSON.stringify(inner)}]}\n`;
}

function tokenLine(e: TokenEvent): object {
  const token = tokenObject(e);
  return { details: null, generated_text: e.text, tokens: token, top_tokens: [token] };
}

export function llmServingStreamFormat(returnProtocol: string, returnFullText: boolean): StreamFormat {
  const raw = returnProtocol === "sse";
  const line = (inner: object): string => (raw ? envelope(inner) : `data:${JSON.stringify(inner)}\n`);
  return {
    contentType: "text/event-stream; charset=utf-8",
    head: () => "",
    token: (e) => line(tokenLine(e)),
    // The timings ride on the summary line, or on a line of their own without return_full_text.
    tail: (g, last, timings) =>
      (last ? line(tokenLine(last)) : "") +
      (returnFullText ? line(fullResponse(g, timings)) : timings ? line({ details: null, generated_text: "", timings }) : ""),
    error: (e: HttpError) => line({ details: null, generated_text: "", error: e.message, error_code: e.code, status: e.status }),
  };
}

/** The GET /serving/* answers: one SSE event whose data is llm-serving's envelope around `data`. */
export function servingEvent(data: unknown): string {
  return `data: ${JSON.stringify({ event: "message", retry: 30000, data })}\n\n`;
}
