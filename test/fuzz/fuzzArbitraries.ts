/**
 * Generated fuzz cases: random JSON values (fast-check, fixed seed, so every
 * run sends the same requests) put into every field of every route's valid
 * body, one field at a time, plus whole random bodies and random extra keys.
 * The expected answer is always "a 4xx in the family's shape, or a
 * well-formed 2xx": the point is what never happens (5xx, hang, wrong shape).
 */
import fc from "fast-check";
import { either, type FuzzCase } from "./fuzzCase.js";
import type { GenRoute, Json } from "./fuzzRoutes.js";

/** Change it and the whole generated corpus changes; keep it fixed so failures reproduce. */
export const SEED = 0x5eed_f022;

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));

const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.string({ unit: loneSurrogate, minLength: 1, maxLength: 3 }),
  fc.string({ unit: fc.constantFrom("😀", "語", "\u0301", "\u202e", "\0", "\n", "<s>", "</s>", "<|assistant|>", "{{ x }}", "%n", "\\", '"'), maxLength: 12 }),
  fc.constantFrom("", " ", "True", "false", "0.8", "1e999", "NaN", "-1", "llama2", "tgi", "https://x.test/m", "__proto__", "constructor", "sse"),
  fc.string({ unit: "grapheme-ascii", minLength: 300, maxLength: 3000 }),
);

const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.integer({ min: -5, max: 600 }),
  // NaN and ±Infinity become null in JSON.stringify: the raw-text corpus sends them as such.
  fc.double(),
  fc.constantFrom(0, -0, -1, 1, 0.5, 1e308, -1e308, 5e-324, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 511, 512, 513, 65536, 1e21),
);

const nestedArray = (depth: number): unknown => {
  let v: unknown = [];
  for (let i = 0; i < depth; i++) v = [v];
  return v;
};

export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3, stringUnit: "binary" }) },
  { weight: 2, arbitrary: hostileString },
  { weight: 2, arbitrary: hostileNumber },
  fc.boolean(),
  fc.constant(null),
  fc.array(hostileString, { maxLength: 40 }),
  fc.array(hostileNumber, { maxLength: 40 }),
  fc.dictionary(hostileString, hostileNumber, { maxKeys: 5 }),
  fc.integer({ min: 50, max: 2000 }).map(nestedArray),
);

/** Every field each route reads (dots go into objects, numbers into arrays). */
const LLM_SERVING = ["do_sample", "temperature", "top_k", "top_p", "max_new_tokens", "details", "top_n_tokens", "return_full_text", "return_protocol", "seed", "stop", "ignore_eos", "repetition_penalty", "truncate", "typical_p", "watermark", "decoder_input_details"];
const TGI = ["best_of", "typical_p", "watermark", "grammar", "adapter_id", "do_sample", "max_new_tokens", "temperature", "top_k", "top_p", "repetition_penalty", "truncate", "details", "top_n_tokens", "decoder_input_details", "return_full_text", "frequency_penalty", "seed", "stop", "ignore_eos"];
const OPENAI = ["model", "max_tokens", "n", "best_of", "logit_bias", "stream", "stream_options", "stream_options.include_usage", "temperature", "top_p", "top_k", "min_p", "repetition_penalty", "frequency_penalty", "presence_penalty", "seed", "stop", "ignore_eos", "user"];

export function fieldsOf(route: GenRoute): string[] {
  if (route.family === "llm-serving") return ["inputs", "stream", "parameters", ...LLM_SERVING.map((k) => `parameters.${k}`)];
  if (route.family === "tgi") return ["inputs", "stream", "parameters", ...TGI.map((k) => `parameters.${k}`)];
  if (route.path.endsWith("/chat/completions")) return ["messages", "messages.0", "messages.0.role", "messages.0.content", "max_completion_tokens", "tools", "functions", "response_format", "logprobs", "top_logprobs", ...OPENAI];
  return ["prompt", "suffix", "logprobs", "echo", ...OPENAI];
}

/** `body` with the value at `path` replaced (undefined deletes it); missing containers are made. */
export function setPath(body: Json, path: string, value: unknown): Json {
  const copy = structuredClone(body);
  const keys = path.split(".");
  let at: Record<string, unknown> = copy;
  for (const key of keys.slice(0, -1)) {
    if (at[key] === null || typeof at[key] !== "object") at[key] = {};
    at = at[key] as Record<string, unknown>;
  }
  const last = keys.at(-1)!;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return copy;
}

/** A printable, bounded rendering of a value for a test name. */
export function preview(value: unknown): string {
  const json = JSON.stringify(value) ?? "undefined";
  const ascii = json.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return ascii.length > 60 ? `${ascii.slice(0, 57)}…` : ascii;
}

function sample<T>(arb: fc.Arbitrary<T>, salt: string, count: number): T[] {
  let h = SEED;
  for (const c of salt) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  return fc.sample(arb, { seed: h, numRuns: count });
}

/** One random value in each field of the route's valid body, and `extra` whole-body mutations. */
export function generatedCases(route: GenRoute, extra = 4, label = "generated"): FuzzCase[] {
  const base = route.body();
  const fields = fieldsOf(route);
  const values = sample(hostileValue, route.path, fields.length);
  const cases: FuzzCase[] = fields.map((field, i) => ({
    name: `${label} ${route.path}: ${field} = ${preview(values[i])}`,
    route,
    body: setPath(base, field, values[i]),
    expect: either(),
  }));
  const mutations: Array<fc.Arbitrary<[string, unknown]>> = [
    fc.constantFrom(...fields).map((f): [string, unknown] => [`without ${f}`, setPath(base, f, undefined)]),
    fc.dictionary(hostileString, hostileValue, { minKeys: 1, maxKeys: 4 }).map((d): [string, unknown] => [`extra keys ${preview(d)}`, { ...base, ...d }]),
    fc.jsonValue({ maxDepth: 4, stringUnit: "binary" }).map((v): [string, unknown] => [`the body is ${preview(v)}`, v]),
    fc.tuple(...fields.slice(0, 6).map(() => hostileValue)).map((vs): [string, unknown] => [`six fields at once`, fields.slice(0, 6).reduce((b, f, i) => setPath(b, f, vs[i]), base)]),
  ];
  for (const [i, [what, body]] of sample(fc.oneof(...mutations), `${route.path}#whole`, extra).entries()) {
    cases.push({ name: `${label} ${route.path}: #${i} ${what}`, route, body: JSON.stringify(body) ?? "null", expect: either() });
  }
  return cases;
}
