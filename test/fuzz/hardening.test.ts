/**
 * Fuzz corpus for the hardening these cases were written ahead of (now in
 * place, see docs/operations.md):
 *  - OpenAI bodies: an absent model, "tgi", and an http(s) URL all mean the
 *    served model (200); other unknown names stay 404, naming the served ones;
 *  - TGI's POST / (a /generate body; streamed when "stream": true);
 *  - a prompt too long for the context is refused (400/422) before tokenizing.
 */
import assert from "node:assert/strict";
import { describe } from "node:test";
import { generatedCases } from "./fuzzArbitraries.js";
import { at, bodyOfSize, withRaw } from "./fuzzBodies.js";
import { answered, either, fuzzer, refused, type FuzzCase } from "./fuzzRunner.js";
import { CHAT, COMPLETIONS, GEN_ROUTES, LS_GENERATE, LS_STREAM, MODEL, TGI_ROOT, invalidStatus, type GenRoute, type Json } from "./fuzzRoutes.js";

const fuzz = fuzzer();
/** A 404 for an unknown model says which names are served. */
const unknownModel = refused({ statuses: [404], message: new RegExp(MODEL) });
const servedModel = (b: Json) => assert.equal(b.model, MODEL, "the response names the served model");

describe("model names in OpenAI bodies", () => {
  const withModel = (route: GenRoute, model: unknown) => route.body({ top: { model } });
  const cases: FuzzCase[] = [];
  for (const route of [COMPLETIONS, CHAT]) {
    const streamed = { ...route.body({ top: { stream: true } }), model: undefined };
    cases.push(
      { name: `${route.path}: no model`, route, body: withModel(route, undefined), expect: answered(servedModel) },
      { name: `${route.path}: no model, streamed`, route, body: streamed, expect: answered() },
      { name: `${route.path}: model "tgi"`, route, body: withModel(route, "tgi"), expect: answered(servedModel) },
      { name: `${route.path}: model https URL`, route, body: withModel(route, "https://huggingface.co/meta-llama/Llama-2-7b-chat-hf"), expect: answered(servedModel) },
      { name: `${route.path}: model http URL`, route, body: withModel(route, "http://127.0.0.1:8080/v1"), expect: answered(servedModel) },
      { name: `${route.path}: model "gpt-4o" (unknown)`, route, body: withModel(route, "gpt-4o"), expect: unknownModel },
      { name: `${route.path}: model "gpt-4o" (unknown), streamed`, route, body: { ...route.body({ top: { stream: true } }), model: "gpt-4o" }, expect: unknownModel },
      { name: `${route.path}: model "ftp://x/llama2" (not http)`, route, body: withModel(route, "ftp://x/llama2"), expect: unknownModel },
      { name: `${route.path}: model "${"x".repeat(64)}…" (10 000 characters)`, route, body: withModel(route, "x".repeat(10_000)), expect: unknownModel },
      // Not names at all: a type error (400) or an unknown name (404), never a 5xx.
      { name: `${route.path}: model 5`, route, body: withModel(route, 5), expect: refused({ statuses: [400, 404], param: "model" }) },
      { name: `${route.path}: model ["llama2"]`, route, body: withModel(route, [MODEL]), expect: refused({ statuses: [400, 404], param: "model" }) },
      // Near misses of the served name: serving them or a 404 naming it are both defensible.
      { name: `${route.path}: model null`, route, body: withModel(route, null), expect: either({ statuses: [400, 404] }) },
      { name: `${route.path}: model ""`, route, body: withModel(route, ""), expect: either({ statuses: [400, 404] }) },
      { name: `${route.path}: model "LLAMA2"`, route, body: withModel(route, MODEL.toUpperCase()), expect: either({ statuses: [404], message: new RegExp(MODEL) }) },
      { name: `${route.path}: model "https://" (a bare scheme)`, route, body: withModel(route, "https://"), expect: either({ statuses: [400, 404] }) },
    );
  }
  cases.push(
    { name: "/models/gpt-4o/generate (unknown)", route: LS_GENERATE, path: "/models/gpt-4o/generate", body: LS_GENERATE.body(), expect: unknownModel },
    { name: "/models/gpt-4o/generate_stream (unknown)", route: LS_STREAM, path: "/models/gpt-4o/generate_stream", body: LS_STREAM.body(), expect: unknownModel },
  );
  fuzz.cases(cases);
});

describe("TGI's POST /", () => {
  const route = TGI_ROOT;
  const body = route.body();
  const cases: FuzzCase[] = [
    { name: "POST /: a /generate body", route, body, expect: answered() },
    { name: 'POST /: "stream": true', route, body: { ...body, stream: true }, expect: answered() },
    { name: 'POST /: "stream": false, details', route, body: { ...body, stream: false, parameters: { max_new_tokens: 3, details: true, decoder_input_details: true } }, expect: answered() },
    { name: 'POST /: "stream": "yes"', route, body: { ...body, stream: "yes" }, expect: either({ statuses: [422] }) },
    { name: "POST /: malformed JSON", route, body: '{"inputs": "x",', expect: refused({ statuses: [422] }) },
    { name: "POST /: max_new_tokens NaN", route, body: withRaw(route, at.maxTokens, "NaN"), expect: refused({ statuses: [422] }) },
    { name: "POST /: no inputs", route, body: { parameters: {} }, expect: refused({ statuses: [422], param: "inputs" }) },
    { name: "POST /: the body is an array", route, body: "[]", expect: refused({ statuses: [422] }) },
    { name: "POST /: 1000 stop strings", route, body: route.body({ params: { stop: Array(1000).fill("x") } }), expect: refused({ statuses: [422], param: "stop" }) },
    { name: "POST /: a body of 1 MiB + 1 byte", route, body: bodyOfSize(route, (1 << 20) + 1), expect: refused({ statuses: [413] }) },
    { name: "POST /: Content-Type application/xml", route, body: JSON.stringify(body), contentType: "application/xml", expect: refused({ statuses: [415] }) },
    { name: "POST /: a prompt longer than the context", route, body: route.body({ prompt: "word ".repeat(2000) }), expect: refused({ statuses: [422] }) },
    { name: "POST /: max_new_tokens 100 000", route, body: route.body({ maxTokens: 100_000 }), expect: refused({ statuses: [422] }) },
  ];
  fuzz.cases([...cases, ...generatedCases(route)]);
});

describe("prompts too long for the context, refused before tokenizing", () => {
  const cases: FuzzCase[] = [];
  for (const route of GEN_ROUTES) {
    cases.push({ name: `${route.path}: 2000 words`, route, body: route.body({ prompt: "word ".repeat(2000) }), expect: refused({ statuses: [invalidStatus(route)] }) });
    // Near the body limit the prompt is a million characters: refused without tokenizing them (413 for the size alone is fine too).
    cases.push({ name: `${route.path}: a prompt of 1 MiB - 200 bytes`, route, body: bodyOfSize(route, (1 << 20) - 200), expect: refused({ statuses: [invalidStatus(route), 413] }) });
  }
  fuzz.cases(cases);
});

fuzz.finalCheck();
