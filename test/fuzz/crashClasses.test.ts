/**
 * Fuzz corpus, the inputs that crashed or hung other inference servers:
 * max_tokens beyond the context, max_tokens 0 with echo, logprobs with echo,
 * prompt logprobs on a long prompt (TGI decoder_input_details, OpenAI
 * echo + logprobs), prompts longer than the context given as token ids (no
 * tokenizing involved: the length check is all that stands in the way), and
 * output cut inside a multi-byte character: the tiny model's vocabulary has
 * byte-fallback tokens (ids 3–258 are the bytes 0x00–0xFF), so an emoji
 * prompt is four byte tokens, and sampling at a high temperature emits lone
 * bytes of 0x80 and above: a generation can end, or a stream chunk break,
 * in the middle of a character. Answers must still be valid UTF-8 and JSON,
 * and a stream must add up to the same text as the whole response (both
 * seeded, so they are the same generation).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { sseData } from "../helpers/serverHarness.js";
import { answered, either, fuzzer, judge, refused, send, type FuzzCase } from "./fuzzRunner.js";
import { CHAT, COMPLETIONS, GEN_ROUTES, LS_GENERATE, TGI_GENERATE, TGI_STREAM, type GenRoute, type Json } from "./fuzzRoutes.js";
import { casesOf, invalid, MAX_TOKENS_PARAM, spread, tooBig, type Row, type Variant } from "./fuzzTable.js";

const fuzz = fuzzer();

/** The test server's context: prompt + output tokens per request. */
const CONTEXT = 512;
/** "\n" is one byte-fallback token; the tokenizer adds BOS and a leading-space piece: n newlines are n + 2 tokens. */
const newlines = (tokens: number): string => "\n".repeat(tokens - 2);
const LONG = 490;
const FIRST_BYTE_ID = 3;
const byteToken = (b: number): number => FIRST_BYTE_ID + b;
/** Seeds whose 8 sampled tokens (temperature 100, prompt below) include bytes ≥ 0x80; checked, not assumed. */
const SEEDS = [3, 5, 6, 7, 8];
const PROMPT = "😀語";

const usage = (body: Json) => body.usage as { prompt_tokens: number; completion_tokens: number };
const choice = (body: Json) => (body.choices as Json[])[0];
const details = (body: Json) => body.details as { generated_tokens: number; prefill: Json[]; tokens: Json[]; top_tokens?: Json[][] };

describe("max tokens beyond the context", () => {
  const bad = invalid(MAX_TOKENS_PARAM, false);
  const rows: Row[] = [
    { what: "max tokens 512 (the whole context, no room for the prompt)", parts: { maxTokens: CONTEXT }, expect: bad },
    { what: "max tokens 100 000", parts: { maxTokens: 100_000 }, expect: bad },
    { what: "max tokens 2^31 - 1", parts: { maxTokens: 2 ** 31 - 1 }, expect: bad },
    { what: "max tokens 2^53 - 1", parts: { maxTokens: Number.MAX_SAFE_INTEGER }, expect: bad },
  ];
  fuzz.cases([
    ...casesOf(rows, GEN_ROUTES, (route) => route.path),
    {
      name: "/v1/chat/completions: max_completion_tokens 513",
      route: CHAT,
      body: CHAT.body({ maxTokens: undefined, top: { max_completion_tokens: 513 } }),
      // Named as the client sent it, not as max_tokens or the engine's max_new_tokens.
      expect: refused({ statuses: [400], param: "max_completion_tokens" }),
    },
    {
      // Exactly the room left: prompt + max tokens = 512.
      name: `/v1/completions: max tokens ${CONTEXT - LONG} on a ${LONG}-token prompt (fills the context exactly)`,
      route: COMPLETIONS,
      body: COMPLETIONS.body({ prompt: newlines(LONG), maxTokens: CONTEXT - LONG }),
      expect: answered((b) => assert.equal(usage(b).prompt_tokens + usage(b).completion_tokens, CONTEXT)),
    },
    {
      name: `/v1/completions: max tokens ${CONTEXT - LONG + 1} on a ${LONG}-token prompt (one too many)`,
      route: COMPLETIONS,
      body: COMPLETIONS.body({ prompt: newlines(LONG), maxTokens: CONTEXT - LONG + 1 }),
      expect: refused({ statuses: [400], param: MAX_TOKENS_PARAM }),
    },
    {
      // No limit given: TGI's default (100) shrinks to what fits.
      name: `/generate: no max_new_tokens on a ${LONG}-token prompt (the default shrinks to fit)`,
      route: TGI_GENERATE,
      body: { inputs: newlines(LONG), parameters: { details: true } },
      expect: answered((b) => assert.ok(details(b).generated_tokens <= CONTEXT - LONG, `${details(b).generated_tokens} tokens`)),
    },
    {
      name: `/v1/chat/completions: no max_tokens on a long conversation (generates to the end of the context)`,
      route: CHAT,
      body: CHAT.body({ maxTokens: undefined, top: { messages: Array.from({ length: 25 }, () => ({ role: "user", content: "a b c d" })) } }),
      expect: answered((b) => assert.ok(usage(b).prompt_tokens + usage(b).completion_tokens <= CONTEXT)),
    },
  ]);
});

describe("max tokens 0 with echo", () => {
  // OpenAI's prompt-scoring idiom. Either a 400 naming the limit (this engine generates at least one token),
  // or exactly the prompt back with no tokens: never a crash on an empty generation.
  const promptBack = (prompt: string) => either({ statuses: [400], param: MAX_TOKENS_PARAM }, (b) => {
    assert.equal(choice(b).text, prompt);
    assert.equal(usage(b).completion_tokens, 0);
  });
  const cases: FuzzCase[] = [
    { name: "/v1/completions: max_tokens 0, echo", route: COMPLETIONS, body: COMPLETIONS.body({ prompt: "score me", maxTokens: 0, top: { echo: true } }), expect: promptBack("score me") },
    { name: "/v1/completions: max_tokens 0, echo, logprobs 5", route: COMPLETIONS, body: COMPLETIONS.body({ prompt: "score me", maxTokens: 0, top: { echo: true, logprobs: 5 } }), expect: promptBack("score me") },
    { name: "/v1/completions: max_tokens 0, echo, streamed", route: COMPLETIONS, body: COMPLETIONS.body({ prompt: "score me", maxTokens: 0, top: { echo: true, stream: true } }), expect: either({ statuses: [400] }) },
    { name: "/v1/completions: max_tokens 0, echo, token-id prompt", route: COMPLETIONS, body: COMPLETIONS.body({ prompt: [1, 400, 500], maxTokens: 0, top: { echo: true, logprobs: 1 } }), expect: either({ statuses: [400] }) },
    {
      name: "/generate: max_new_tokens 0 with return_full_text and decoder_input_details",
      route: TGI_GENERATE,
      body: { inputs: "score me", parameters: { max_new_tokens: 0, return_full_text: true, details: true, decoder_input_details: true } },
      expect: either({ statuses: [422] }, (b) => assert.equal(b.generated_text, "score me")),
    },
  ];
  fuzz.cases(cases);
});

// Logprobs and echo are documented opt-in features: answered, with arrays that agree with the text.
describe("logprobs with echo", () => {
  const echoed = (prompt: string, top: number) =>
    answered((b) => {
      const c = choice(b);
      assert.ok((c.text as string).startsWith(prompt), "the text begins with the prompt");
      const l = c.logprobs as { tokens: string[]; token_logprobs: unknown[]; top_logprobs: Json[]; text_offset: number[] };
      assert.ok(l.token_logprobs.every((p) => typeof p === "number" && Number.isFinite(p)), "every logprob is a finite number");
      // As OpenAI's: the most likely `logprobs` tokens and the chosen one, so up to logprobs + 1.
      assert.ok(l.top_logprobs.every((t) => Object.keys(t).length <= top + 1), "at most `logprobs` + 1 alternatives");
      // (Among them by its text: two tokens may share one, such as byte tokens that read as "\ufffd".)
      assert.ok(l.top_logprobs.every((t, i) => l.tokens[i] in t), "the chosen token among them");
      if (l.text_offset.length > 0) assert.ok(l.text_offset[0] >= [...prompt].length, "offsets count from after the echoed prompt, in characters");
    });
  const cases: FuzzCase[] = [
    { name: "/v1/completions: echo, logprobs 5", route: COMPLETIONS, body: COMPLETIONS.body({ prompt: "echo me", top: { echo: true, logprobs: 5 } }), expect: echoed("echo me", 5) },
    { name: "/v1/completions: echo, logprobs 0", route: COMPLETIONS, body: COMPLETIONS.body({ prompt: "echo me", top: { echo: true, logprobs: 0 } }), expect: echoed("echo me", 0) },
    { name: "/v1/completions: echo, logprobs 5, an emoji prompt", route: COMPLETIONS, body: COMPLETIONS.body({ prompt: "😀😀 語", top: { echo: true, logprobs: 5 } }), expect: echoed("😀😀 語", 5) },
    { name: "/v1/completions: echo, logprobs 5, streamed with usage", route: COMPLETIONS, body: COMPLETIONS.body({ prompt: "echo me", top: { echo: true, logprobs: 5, stream: true, stream_options: { include_usage: true } } }), expect: answered() },
    { name: "/v1/completions: echo, logprobs 5, a token-id prompt", route: COMPLETIONS, body: COMPLETIONS.body({ prompt: [1, 2, 0, 400], top: { echo: true, logprobs: 5 } }), expect: answered() },
    { name: "/v1/chat/completions: logprobs, top_logprobs 20", route: CHAT, body: CHAT.body({ top: { logprobs: true, top_logprobs: 20 } }), expect: answered() },
    { name: "/v1/chat/completions: logprobs, top_logprobs 20, streamed", route: CHAT, body: CHAT.body({ top: { logprobs: true, top_logprobs: 20, stream: true } }), expect: answered() },
  ];
  fuzz.cases(cases);
});

// Prompts that fit, however long: answered, with one prefill entry per prompt token where asked for.
describe("prompt logprobs on a long prompt", () => {
  const prompt = newlines(LONG);
  const cases: FuzzCase[] = [
    {
      name: `/generate: decoder_input_details, details, top_n_tokens 5 on a ${LONG}-token prompt`,
      route: TGI_GENERATE,
      body: { inputs: prompt, parameters: { max_new_tokens: 1, details: true, decoder_input_details: true, top_n_tokens: 5 } },
      expect: answered((b) => {
        assert.equal(details(b).prefill.length, LONG, "one prefill entry per prompt token");
        for (const p of details(b).prefill) assert.ok(Number.isInteger(p.id) && typeof p.text === "string");
        assert.equal(details(b).top_tokens?.[0].length, 5);
      }),
    },
    { name: `/generate_stream: decoder_input_details, top_n_tokens 5 on a ${LONG}-token prompt`, route: TGI_STREAM, body: { inputs: prompt, parameters: { max_new_tokens: 2, details: true, decoder_input_details: true, top_n_tokens: 5 } }, expect: answered() },
    {
      name: `/v1/completions: echo, logprobs 5 on a ${LONG}-token prompt`,
      route: COMPLETIONS,
      body: COMPLETIONS.body({ prompt, maxTokens: 1, top: { echo: true, logprobs: 5 } }),
      expect: answered((b) => assert.equal(usage(b).prompt_tokens, LONG)),
    },
    { name: `/v1/completions: echo, logprobs 5, streamed on a ${LONG}-token prompt`, route: COMPLETIONS, body: COMPLETIONS.body({ prompt, maxTokens: 2, top: { echo: true, logprobs: 5, stream: true } }), expect: answered() },
    { name: "/v1/chat/completions: top_logprobs 20 on a long message", route: CHAT, body: CHAT.body({ prompt: newlines(LONG - 20), maxTokens: 2, top: { logprobs: true, top_logprobs: 20 } }), expect: answered() },
    { name: `/models/llama2/generate: details, top_n_tokens 20 on a ${LONG}-token prompt`, route: LS_GENERATE, body: LS_GENERATE.body({ prompt, maxTokens: 2, params: { details: true, top_n_tokens: 20 } }), expect: answered() },
  ];
  fuzz.cases(cases);
});

describe("prompts as token ids at and beyond the context", () => {
  const ids = (n: number): number[] => Array.from({ length: n }, (_, i) => 259 + (i % 700));
  const cases: FuzzCase[] = [
    { name: "/v1/completions: 511 token ids + max_tokens 1 (fits exactly)", route: COMPLETIONS, body: COMPLETIONS.body({ prompt: ids(CONTEXT - 1), maxTokens: 1 }), expect: answered((b) => assert.equal(usage(b).prompt_tokens, CONTEXT - 1)) },
    { name: "/v1/completions: 511 token ids + max_tokens 2", route: COMPLETIONS, body: COMPLETIONS.body({ prompt: ids(CONTEXT - 1), maxTokens: 2 }), expect: refused({ statuses: [400], param: MAX_TOKENS_PARAM }) },
    { name: "/v1/completions: 512 token ids", route: COMPLETIONS, body: COMPLETIONS.body({ prompt: ids(CONTEXT), maxTokens: 1 }), expect: refused({ statuses: [400], param: "prompt" }) },
    { name: "/v1/completions: 100 000 token ids", route: COMPLETIONS, body: COMPLETIONS.body({ prompt: ids(100_000), maxTokens: 1 }), expect: tooBig(COMPLETIONS) },
    { name: "/v1/completions: 512 token ids, no max_tokens, echo", route: COMPLETIONS, body: COMPLETIONS.body({ prompt: ids(CONTEXT), maxTokens: undefined, top: { echo: true } }), expect: refused({ statuses: [400], param: "prompt" }) },
    // A list holding one list is one prompt; end-of-text ids are valid ids, and prompts are used as given.
    { name: "/v1/completions: [[511 ids]] (a list holding one list)", route: COMPLETIONS, body: COMPLETIONS.body({ prompt: [ids(CONTEXT - 1)], maxTokens: 1 }), expect: answered() },
    { name: "/v1/completions: end-of-text token ids only", route: COMPLETIONS, body: COMPLETIONS.body({ prompt: [2, 2, 2], maxTokens: 2 }), expect: answered() },
    // Over 4 KiB a prompt is tokenized on a worker thread (src/agent/PromptTokenizer.ts): hostile text goes there too.
    { name: "/generate: a 4.5 KB prompt of newlines, emoji and lone surrogates (the worker thread's tokenizer)", route: TGI_GENERATE, body: { inputs: "\n😀\ud800".repeat(600), parameters: { max_new_tokens: 1 } }, expect: either({ statuses: [422] }) },
    { name: "/v1/completions: a 4.5 KB prompt of 1 500 newlines and 750 emoji, echoed", route: COMPLETIONS, body: COMPLETIONS.body({ prompt: "\n\n😀".repeat(750), maxTokens: 1, top: { echo: true } }), expect: refused({ statuses: [400] }) },
    // TGI's truncate keeps the last tokens: a prompt four times the context becomes one that fits.
    { name: "/generate: a 2000-token prompt with truncate 100", route: TGI_GENERATE, body: { inputs: newlines(2000), parameters: { max_new_tokens: 2, truncate: 100, details: true } }, expect: answered() },
    { name: "/generate: a 2000-token prompt with truncate 600", route: TGI_GENERATE, body: { inputs: newlines(2000), parameters: { max_new_tokens: 2, truncate: 600 } }, expect: refused({ statuses: [422] }) },
  ];
  fuzz.cases(cases);
});

describe("greedy output of 1 and 3 tokens after emoji and CJK prompts", () => {
  const prompts = ["😀", "語語語", "👩‍👩‍👧‍👦", "e\u0301\u0301\u0301", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢"];
  // Any text is a prompt: the answer must be well-formed even when the output ends inside a character.
  const variants: Variant[] = prompts.flatMap((prompt) =>
    [1, 3].map((n) => ({ what: `max tokens ${n} after ${JSON.stringify(prompt)}`, make: (route: GenRoute) => ({ body: route.body({ prompt, maxTokens: n }), expect: answered() }) })),
  );
  fuzz.cases(spread(variants));
});

describe("token-id prompts that end inside a character, echoed", () => {
  // 😀 is F0 9F 98 80: its first two bytes alone, a lone continuation byte, a lone lead byte.
  const prompts: Array<[string, number[]]> = [
    ["half an emoji F0 9F", [1, byteToken(0xf0), byteToken(0x9f)]],
    ["a lone continuation byte 0x80", [1, byteToken(0x80)]],
    ["a lone lead byte 0xE8 then a word", [1, byteToken(0xe8), 400]],
    ["0xFF 0xFE", [1, byteToken(0xff), byteToken(0xfe)]],
  ];
  // Valid token ids, even where they decode to half a character: the echo shows U+FFFD, never broken UTF-8.
  const cases: FuzzCase[] = prompts.flatMap(([what, prompt]) => [
    { name: `/v1/completions: echo, logprobs 2, ${what}`, route: COMPLETIONS, body: COMPLETIONS.body({ prompt, maxTokens: 2, top: { echo: true, logprobs: 2 } }), expect: answered() },
    { name: `/v1/completions: echo, streamed, ${what}`, route: COMPLETIONS, body: COMPLETIONS.body({ prompt, maxTokens: 2, top: { echo: true, stream: true } }), expect: answered() },
  ]);
  fuzz.cases(cases);
});

/** The text of a reply to `route`, and the texts its stream chunks carried (streams only). */
function texts(route: GenRoute, body: Json): { whole: string; pieces?: string[] } {
  if (route === TGI_GENERATE) return { whole: body.generated_text as string };
  if (route === COMPLETIONS) return { whole: (body.choices as Json[])[0].text as string };
  if (route === CHAT) return { whole: ((body.choices as Json[])[0].message as Json).content as string };
  throw new Error(`no text reader for ${route.path}`);
}

function streamTexts(route: GenRoute, raw: string): { whole: string; pieces: string[] } {
  const events = sseData(raw) as Json[];
  if (route === TGI_STREAM) return { whole: events.at(-1)!.generated_text as string, pieces: events.map((e) => (e.token as Json).text as string) };
  const pieces = events.flatMap((e) => (e.choices as Json[]).map((c) => (route === CHAT ? (((c.delta as Json).content as string | undefined) ?? "") : (c.text as string))));
  return { whole: pieces.join(""), pieces };
}

describe("sampled bytes ≥ 0x80: the stream adds up to the whole response", () => {
  const pairs: Array<[GenRoute, GenRoute, (seed: number, stream: boolean) => Json]> = [
    [TGI_GENERATE, TGI_STREAM, (seed) => ({ inputs: PROMPT, parameters: { max_new_tokens: 8, temperature: 100, seed, details: true } })],
    [COMPLETIONS, COMPLETIONS, (seed, stream) => COMPLETIONS.body({ prompt: PROMPT, maxTokens: 8, params: { temperature: 100, seed, stream } })],
    [CHAT, CHAT, (seed, stream) => CHAT.body({ prompt: PROMPT, maxTokens: 8, params: { temperature: 100, seed, stream } })],
  ];
  for (const seed of SEEDS) {
    for (const [whole, streamed, body] of pairs) {
      test(`${streamed.path}: seed ${seed}, temperature 100, 8 tokens, streamed and not`, async () => {
        const one: FuzzCase = { name: "whole", route: whole, body: body(seed, false), expect: answered() };
        const two: FuzzCase = { name: "streamed", route: streamed, body: body(seed, true), expect: answered() };
        const [a, b] = [await send(fuzz.url(), one), await send(fuzz.url(), two)];
        judge(one, a);
        judge(two, b);
        const full = texts(whole, JSON.parse(a.text) as Json);
        const parts = streamTexts(streamed, b.text);
        assert.equal(parts.whole, full.whole, "the stream's text is the whole response's text");
        assert.equal(parts.pieces.join(""), full.whole, "the chunks add up to the text");
        if (whole === TGI_GENERATE) {
          const ids = ((JSON.parse(a.text) as Json).details as { tokens: Array<{ id: number }> }).tokens.map((t) => t.id);
          assert.ok(ids.some((id) => id >= byteToken(0x80) && id <= byteToken(0xff)), `seed ${seed} samples a byte ≥ 0x80 (ids ${ids.join(",")})`);
        }
        await fuzz.afterwards();
      });
    }
  }
});

fuzz.finalCheck();
