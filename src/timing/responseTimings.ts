/**
 * A request's timings as they go out with its response: the Server-Timing
 * header, a `timings` object (llama.cpp server's prompt/predicted fields plus
 * ours) and TGI's x-* headers. A response is timed before its last bytes are
 * written, so these cover the request up to that moment (`complete: false`);
 * GET /debug/requests/{id} has the final figures.
 */
import type { RequestBreakdown } from "./requestBreakdown.js";
import { durationsJson, hopJson, ms } from "./timelineJson.js";

function spanTotal(b: RequestBreakdown, name: string): number {
  return b.span.children!.filter((c) => c.name === name).reduce((a, c) => a + c.dur, 0);
}

/** Server-Timing: total, the request's spans by name, and ttft, tpot, gc, stall, untimed. */
export function serverTimingHeader(b: RequestBreakdown): string {
  const d = b.durations;
  const entries: Array<[string, number | null]> = [
    ["total", d.e2e],
    ["receive", spanTotal(b, "receive")],
    ["validate", spanTotal(b, "validate")],
    ["tokenize", spanTotal(b, "tokenize")],
    ["queue", d.queue],
    ["prefill", d.prefill],
    ["decode", d.decode],
    ...(b.hop ? (["connect", "send", "wait", "stream"] as const).map((n): [string, number] => [n, spanTotal(b, n)]) : []),
    ["respond", d.respond],
    ["ttft", d.ttft],
    ["tpot", d.tpot],
    ["gc", d.gc],
    ["stall", d.stall],
    ["untimed", d.untimed],
  ];
  return entries
    .filter(([, v]) => v !== null && !Number.isNaN(v))
    .map(([name, v]) => `${name};dur=${ms(v)}`)
    .join(", ");
}

/**
 * Prefill and decode, ms: our engine's steps, or for a relayed request what
 * the backend reported (null when it did not: no step of ours ran it).
 */
function engineTimes(b: RequestBreakdown): { prompt: number | null; predicted: number | null } {
  if (b.hop) return { prompt: b.hop.backend?.prefillMs ?? null, predicted: b.hop.backend?.decodeMs ?? null };
  return { prompt: b.durations.prefill ?? 0, predicted: b.durations.decode ?? 0 };
}

/** The `timings` object: llama.cpp server's fields, then ours (docs/timing.md). */
export function timingsObject(b: RequestBreakdown): object {
  const { prompt, predicted } = engineTimes(b);
  const decodedTokens = Math.max(0, b.generatedTokens - 1);
  return {
    prompt_n: b.promptTokens,
    prompt_ms: ms(prompt),
    prompt_per_token_ms: prompt !== null && b.promptTokens ? ms(prompt / b.promptTokens) : null,
    prompt_per_second: prompt ? ms((b.promptTokens * 1000) / prompt) : null,
    predicted_n: b.generatedTokens,
    predicted_ms: ms(predicted),
    predicted_per_token_ms: predicted !== null && decodedTokens ? ms(predicted / decodedTokens) : null,
    predicted_per_second: predicted ? ms((decodedTokens * 1000) / predicted) : null,
    id: b.id,
    complete: b.complete,
    ...durationsJson(b),
    // A relayed request waited in its engine's queue, not ours (which it skips): the engine's, as prefill and decode are, or null.
    ...(b.hop ? { queue: ms(b.hop.backend?.queueMs) } : {}),
    points: Object.fromEntries(Object.entries(b.points).map(([k, v]) => [k, ms(v)])),
    ...(b.hop ? { hop: hopJson(b.hop) } : {}),
  };
}

/** TGI's response headers: times in ms (x-compute-time in seconds), as TGI sends them. */
export function tgiTimingHeaders(b: RequestBreakdown, characters: number): Record<string, string> {
  const d = b.durations;
  const int = (x: number | null): string => String(Math.round(x ?? 0));
  const validation = spanTotal(b, "receive") + spanTotal(b, "validate") + spanTotal(b, "tokenize") + spanTotal(b, "enqueue");
  const { prompt, predicted } = engineTimes(b);
  const inference = b.hop?.backend?.inferenceMs ?? (prompt ?? 0) + (predicted ?? 0);
  return {
    "x-compute-type": "cpu+llama.cpp",
    "x-compute-time": (d.e2e / 1000).toFixed(6),
    "x-compute-characters": String(characters),
    "x-total-time": int(d.e2e),
    "x-validation-time": int(validation),
    "x-queue-time": int(d.queue),
    "x-inference-time": int(inference),
    "x-time-per-token": int(b.generatedTokens ? inference / b.generatedTokens : 0),
    "x-prompt-tokens": String(b.promptTokens),
    "x-generated-tokens": String(b.generatedTokens),
  };
}
