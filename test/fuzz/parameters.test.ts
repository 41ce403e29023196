/**
 * Fuzz corpus, parameters on every generation route: missing fields, wrong
 * types, empty values, huge, negative, fractional and unsafe numbers in the
 * prompt, the output limit and each sampling parameter; stop lists (1000
 * entries, huge, empty, not strings); logit_bias with non-integer and
 * out-of-vocabulary keys; unknown sampler fields (llama.cpp's, vLLM's, HF's);
 * features this engine refuses; malformed chat messages. Each row's
 * expectation follows the family's documented rules (see fuzzTable.ts).
 */
import { describe } from "node:test";
import { either, fuzzer, refused } from "./fuzzRunner.js";
import { chatApart, CHAT, COMPLETIONS, GEN_ROUTES, invalidStatus, type BodyParts, type GenRoute } from "./fuzzRoutes.js";
import { casesOf, ignoredOrNamed, invalid, MAX_TOKENS_PARAM, ok, tooBig, type Row } from "./fuzzTable.js";

const fuzz = fuzzer();

const isChat = (route: GenRoute): boolean => route.path.endsWith("/chat/completions");
const isCompletions = (route: GenRoute): boolean => route.path.endsWith("/v1/completions");
/** A prompt value; for chat it is the message content, which has rules of its own. */
const prompt = (value: unknown) => (): BodyParts => ({ prompt: value });
const OPENAI = [COMPLETIONS, CHAT];
const stop = (value: unknown): BodyParts => ({ params: { stop: value } });
/** How many stop strings each family takes (TGI's and OpenAI's APIs say 4; llm-serving took 16). */
const maxStops = (route: GenRoute): number => (route.family === "llm-serving" ? 16 : 4);

describe("missing and mistyped prompts", () => {
  const rows: Row[] = [
    // Chat without messages; the others without their prompt field.
    { what: "no prompt at all", parts: (r) => (isChat(r) ? { top: { messages: undefined } } : { prompt: undefined }), expect: (r) => invalid(isChat(r) ? "messages" : r.promptParam, false)(r) },
    { what: "prompt is a number", parts: prompt(5), expect: (r) => invalid(r.promptParam, false)(r) },
    { what: "prompt is true", parts: prompt(true), expect: (r) => invalid(r.promptParam, false)(r) },
    { what: "prompt is an object", parts: prompt({ text: "x" }), expect: (r) => invalid(r.promptParam, false)(r) },
    // OpenAI completions take one prompt per request; a list of two is refused.
    { what: "prompt is a list of two strings", parts: prompt(["a", "b"]), expect: (r) => invalid(isChat(r) ? /messages\[0\]\.content/ : r.promptParam, false)(r) },
    // A one-element list is one prompt for completions; a list of text parts needs {"type": "text"} in chat.
    { what: "prompt is a one-element list", parts: prompt(["fuzz"]), expect: (r) => (isCompletions(r) ? ok : invalid(isChat(r) ? /messages\[0\]\.content/ : r.promptParam, false)(r)) },
    // Token ids are a documented prompt form of completions only.
    { what: "prompt is token ids", parts: prompt([1, 300, 400]), expect: (r) => (isCompletions(r) ? ok : invalid(isChat(r) ? /messages\[0\]\.content/ : r.promptParam, false)(r)) },
    { what: "prompt is token ids out of the vocabulary", parts: prompt([1, 99_999_999]), expect: (r) => invalid(isChat(r) ? /messages\[0\]\.content/ : isCompletions(r) ? "prompt" : r.promptParam, false)(r) },
    { what: "prompt is negative and fractional token ids", parts: prompt([-1, 2.5]), expect: (r) => invalid(isChat(r) ? /messages\[0\]\.content/ : isCompletions(r) ? "prompt" : r.promptParam, false)(r) },
    { what: "prompt is an empty list", parts: prompt([]), expect: (r) => (isChat(r) ? ok : invalid(isCompletions(r) ? "prompt" : r.promptParam, false)(r)) },
    // Chat content null is an empty message (the template still renders the roles); elsewhere null is a missing prompt.
    { what: "prompt is null", parts: prompt(null), expect: (r) => (isChat(r) ? ok : invalid(r.promptParam, false)(r)) },
    { what: "prompt is the empty string", parts: prompt(""), expect: (r) => (isChat(r) ? ok : invalid(r.promptParam === "inputs" ? "inputs" : "prompt", false)(r)) },
    // Any non-empty text is a prompt; outside chat templates special-token text is plain text.
    { what: "prompt is one space", parts: prompt(" "), expect: ok },
    { what: "prompt is 3 000 newlines", parts: prompt("\n".repeat(3000)), expect: (r) => refused({ statuses: [invalidStatus(r)] }) },
    { what: "prompt holds special-token text <s></s><unk>", parts: prompt("<s></s><unk><|assistant|>"), expect: ok },
    { what: "parameters is a list", parts: (r) => (r.paramPrefix ? { top: { parameters: [1, 2] } } : { top: { stream_options: [1] } }), expect: (r) => invalid(r.paramPrefix ? "parameters" : "stream_options", false)(r) },
    { what: "parameters is a string", parts: (r) => (r.paramPrefix ? { top: { parameters: "max_new_tokens=4" } } : { top: { stream_options: "x" } }), expect: (r) => invalid(r.paramPrefix ? "parameters" : "stream_options", false)(r) },
  ];
  fuzz.cases(casesOf(rows, GEN_ROUTES, chatApart));
});

describe("the output limit: huge, negative, fractional, mistyped", () => {
  const max = (value: unknown): BodyParts => ({ maxTokens: value });
  const bad = invalid(MAX_TOKENS_PARAM, false);
  const rows: Row[] = [
    { what: "max tokens -1", parts: max(-1), expect: bad },
    { what: "max tokens 0", parts: max(0), expect: bad },
    { what: "max tokens -2^31", parts: max(-(2 ** 31)), expect: bad },
    { what: "max tokens 2.5", parts: max(2.5), expect: bad },
    { what: "max tokens 2^31", parts: max(2 ** 31), expect: bad },
    { what: "max tokens 2^53 + 2 (not a safe integer)", parts: max(2 ** 53 + 2), expect: bad },
    { what: "max tokens 1e308", parts: max(1e308), expect: bad },
    { what: "max tokens 5e-324", parts: max(5e-324), expect: bad },
    // llm-serving reads numbers given as strings ("4"), as MindSpore's server did.
    { what: 'max tokens "4"', parts: max("4"), expect: { "llm-serving": ok, tgi: bad, openai: bad } },
    { what: 'max tokens "4.5"', parts: max("4.5"), expect: bad },
    { what: 'max tokens "lots"', parts: max("lots"), expect: bad },
    { what: "max tokens true", parts: max(true), expect: bad },
    { what: "max tokens [4]", parts: max([4]), expect: bad },
    { what: "max tokens {}", parts: max({}), expect: bad },
    // null means "not given": each family's default limit applies (shrunk to fit the context).
    { what: "max tokens null", parts: max(null), expect: ok },
  ];
  fuzz.cases(casesOf(rows, GEN_ROUTES));
});

describe("sampling parameters out of range or mistyped", () => {
  const param = (name: string, value: unknown): BodyParts => ({ params: { [name]: value } });
  // llm-serving clamps what MindSpore's server clamped; TGI and OpenAI refuse it.
  const clamped = (name: string) => ({ "llm-serving": ok, tgi: invalid(name), openai: invalid(name) });
  const refusedEverywhere = (name: string) => invalid(name);
  const rows: Row[] = [
    { what: "temperature -1", parts: param("temperature", -1), expect: clamped("temperature") },
    { what: "temperature 1e308", parts: param("temperature", 1e308), expect: { "llm-serving": ok, tgi: invalid(/temperature/), openai: invalid("temperature") } },
    // 0 is greedy for llm-serving and OpenAI; TGI asks for a strictly positive temperature.
    { what: "temperature 0", parts: param("temperature", 0), expect: { "llm-serving": ok, tgi: invalid("temperature"), openai: ok } },
    { what: 'temperature "hot"', parts: param("temperature", "hot"), expect: refusedEverywhere("temperature") },
    { what: 'temperature "0.5" (a string)', parts: param("temperature", "0.5"), expect: { "llm-serving": ok, tgi: invalid("temperature"), openai: invalid("temperature") } },
    { what: "top_p 0", parts: param("top_p", 0), expect: clamped("top_p") },
    { what: "top_p 1.5", parts: param("top_p", 1.5), expect: clamped("top_p") },
    { what: "top_p -1", parts: param("top_p", -1), expect: clamped("top_p") },
    // -1 is vLLM's "off", taken on the OpenAI routes; TGI refuses it, llm-serving clamps.
    { what: "top_k -1", parts: param("top_k", -1), expect: { "llm-serving": ok, tgi: invalid("top_k"), openai: ok } },
    { what: "top_k -2", parts: param("top_k", -2), expect: clamped("top_k") },
    // Beyond the vocabulary: llm-serving falls back to 1; TGI and OpenAI refuse it.
    { what: "top_k 1e9", parts: param("top_k", 1e9), expect: { "llm-serving": ok, tgi: invalid(/top_k/), openai: invalid(/top_k/) } },
    { what: "top_k 2.5", parts: param("top_k", 2.5), expect: refusedEverywhere("top_k") },
    { what: "seed -1", parts: param("seed", -1), expect: invalid(/seed/) },
    // Seeds past 32 bits are taken, as vLLM, OpenAI (int64) and TGI (u64) take them: a time in ms is a common one.
    { what: "seed 2^32", parts: param("seed", 2 ** 32), expect: ok },
    { what: "seed 1733251200000", parts: param("seed", 1733251200000), expect: ok },
    { what: "seed 2^53 (past what JSON carries exactly)", parts: param("seed", 2 ** 53), expect: invalid(/seed/) },
    { what: "seed 1.5", parts: param("seed", 1.5), expect: invalid(/seed/) },
    { what: 'seed "7" (a string)', parts: param("seed", "7"), expect: { "llm-serving": ok, tgi: invalid("seed"), openai: invalid("seed") } },
    { what: "repetition_penalty 0", parts: param("repetition_penalty", 0), expect: invalid(/repetition_penalty/) },
    { what: "repetition_penalty -1", parts: param("repetition_penalty", -1), expect: invalid(/repetition_penalty/) },
    { what: "repetition_penalty 1e9", parts: param("repetition_penalty", 1e9), expect: invalid(/repetition_penalty/) },
    // llm-serving has no frequency or presence penalty (unknown fields are ignored there); TGI knows frequency_penalty.
    { what: "frequency_penalty 3", parts: param("frequency_penalty", 3), expect: { "llm-serving": ok, tgi: invalid(/frequency_penalty/), openai: invalid(/frequency_penalty/) } },
    // TGI has no presence_penalty or min_p: there they are unknown fields, ignored.
    { what: "presence_penalty -3", parts: param("presence_penalty", -3), expect: { "llm-serving": ok, tgi: ok, openai: invalid(/presence_penalty/) } },
    { what: "min_p 2", parts: param("min_p", 2), expect: { "llm-serving": ok, tgi: ok, openai: invalid(/min_p/) } },
    { what: "ignore_eos \"yes\"", parts: param("ignore_eos", "yes"), expect: invalid("ignore_eos") },
    { what: "do_sample \"maybe\"", parts: param("do_sample", "maybe"), expect: { "llm-serving": invalid("do_sample"), tgi: invalid("do_sample") } },
    // MindSpore's curl examples send "False"; TGI wants a JSON boolean.
    { what: 'do_sample "False"', parts: param("do_sample", "False"), expect: { "llm-serving": ok, tgi: invalid("do_sample") } },
    // llm-serving reads 1 and 0 as booleans, as MindSpore's server did.
    { what: "details 1", parts: param("details", 1), expect: { "llm-serving": ok, tgi: invalid("details") } },
    { what: "top_n_tokens 1000", parts: { params: { top_n_tokens: 1000, details: true } }, expect: { "llm-serving": invalid(/top_n_tokens|top_logprobs/, false), tgi: invalid(/top_n_tokens|top_logprobs/, false) } },
    // llm-serving accepts and ignores truncate; TGI keeps the last `truncate` tokens, any positive number.
    { what: "truncate 0", parts: param("truncate", 0), expect: { "llm-serving": ok, tgi: invalid("truncate") } },
    { what: "truncate 1e12", parts: param("truncate", 1e12), expect: { "llm-serving": ok, tgi: ok } },
    { what: "return_protocol 5", parts: param("return_protocol", 5), expect: { "llm-serving": invalid("return_protocol") } },
    { what: 'return_protocol "json" (not "sse": `data:` lines)', parts: param("return_protocol", "json"), expect: { "llm-serving": ok } },
    { what: 'stream "yes"', parts: { top: { stream: "yes" } }, expect: { "llm-serving": invalid("stream", false), openai: invalid("stream", false) } },
    { what: 'echo "true" (a string)', parts: { top: { echo: "true" } }, expect: (r) => (isCompletions(r) ? invalid("echo", false)(r) : undefined) },
    { what: "logprobs -1", parts: { top: { logprobs: -1 } }, expect: (r) => (isCompletions(r) ? invalid("logprobs", false)(r) : undefined) },
    { what: "logprobs 6", parts: { top: { logprobs: 6 } }, expect: (r) => (isCompletions(r) ? invalid("logprobs", false)(r) : undefined) },
    { what: "top_logprobs 21", parts: { top: { logprobs: true, top_logprobs: 21 } }, expect: (r) => (isChat(r) ? invalid(/top_logprobs/, false)(r) : undefined) },
    { what: "top_logprobs without logprobs", parts: { top: { top_logprobs: 2 } }, expect: (r) => (isChat(r) ? invalid("top_logprobs", false)(r) : undefined) },
  ];
  fuzz.cases(casesOf(rows, GEN_ROUTES));
});

describe("stop lists", () => {
  const rows: Row[] = [
    { what: "1000 stop strings", parts: stop(Array.from({ length: 1000 }, (_, i) => `stop${i}`)), expect: invalid("stop") },
    { what: "1000 stop strings of 200 characters", parts: stop(Array.from({ length: 1000 }, (_, i) => `${i}`.padEnd(200, "x"))), expect: tooBig },
    { what: "1000 empty stop strings", parts: stop(Array(1000).fill("")), expect: invalid("stop") },
    // The limits themselves are allowed.
    { what: "the most stop strings allowed, 256 characters each", parts: (r) => stop(Array.from({ length: maxStops(r) }, (_, i) => `${i}`.padEnd(256, "z"))), expect: ok },
    { what: "one stop string too many", parts: (r) => stop(Array.from({ length: maxStops(r) + 1 }, (_, i) => `s${i}`)), expect: invalid("stop") },
    { what: "a stop string of 257 characters", parts: stop(["y".repeat(257)]), expect: invalid(/stop/) },
    { what: "a stop string of 100 000 characters", parts: stop(["y".repeat(100_000)]), expect: tooBig },
    { what: "an empty stop string", parts: stop([""]), expect: invalid(/stop/) },
    { what: "stop strings that are numbers", parts: stop([1, 2]), expect: invalid("stop") },
    { what: "stop is an object", parts: stop({ a: "b" }), expect: invalid("stop") },
    { what: "stop is a number", parts: stop(42), expect: invalid("stop") },
    { what: "stop is a nested list", parts: stop([["a"]]), expect: invalid("stop") },
    // A single string is a list of one; an empty list is no stop strings.
    { what: "stop is one string", parts: stop("zzz"), expect: ok },
    { what: "stop is an empty list", parts: stop([]), expect: ok },
    // Multi-byte and combining stops are text like any other; a stop that matches at once leaves an empty generation, still well-formed.
    { what: "stop strings of emoji and CJK", parts: stop(["😀", "語", "\u0301"]), expect: ok },
    { what: "a stop string that is one space (stops at once)", parts: stop([" "]), expect: ok },
  ];
  fuzz.cases(casesOf(rows, GEN_ROUTES));
});

describe("logit_bias keys", () => {
  const bias = (value: unknown): BodyParts => ({ top: { logit_bias: value } });
  // The README: logit_bias is refused rather than ignored. Malformed maps must be refused all the more.
  const refusedBias = (route: GenRoute) => refused({ statuses: [invalidStatus(route)], param: "logit_bias" });
  const rows: Row[] = [
    { what: 'logit_bias key "abc" (not an integer)', parts: bias({ abc: 1 }), expect: refusedBias },
    { what: 'logit_bias key "1.5"', parts: bias({ "1.5": 1 }), expect: refusedBias },
    { what: 'logit_bias key "-1"', parts: bias({ "-1": 1 }), expect: refusedBias },
    { what: 'logit_bias key "" (empty)', parts: bias({ "": 1 }), expect: refusedBias },
    { what: "logit_bias key beyond the vocabulary", parts: bias({ "99999999": 100 }), expect: refusedBias },
    { what: "logit_bias key 2^64", parts: bias({ "18446744073709551616": 1 }), expect: refusedBias },
    { what: "logit_bias value 1e308", parts: bias({ "5": 1e308 }), expect: refusedBias },
    { what: 'logit_bias value "x"', parts: bias({ "5": "x" }), expect: refusedBias },
    { what: "logit_bias with 10 000 keys", parts: bias(Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [String(i), -100]))), expect: tooBig },
    { what: "logit_bias is a string", parts: bias("5:100"), expect: refusedBias },
    // An empty map asks for nothing: documented as accepted (openAiParams.ts).
    { what: "logit_bias is {}", parts: bias({}), expect: ok },
    // A list is the wrong type; an empty one asks for nothing either.
    { what: "logit_bias is []", parts: bias([]), expect: either({ param: "logit_bias" }) },
  ];
  fuzz.cases(casesOf(rows, OPENAI));
  // TGI and llm-serving have no logit_bias: an unknown field there.
  fuzz.cases(casesOf([{ what: 'an unknown logit_bias with key "abc"', parts: { params: { logit_bias: { abc: 1, "99999999": 5 } } }, expect: ignoredOrNamed("logit_bias") }], GEN_ROUTES.filter((r) => r.family !== "openai")));
});

describe("unknown sampler fields", () => {
  const fields: Array<[string, unknown]> = [
    ["mirostat", 2],
    ["mirostat_tau", "x"],
    ["tfs_z", -1],
    ["top_a", 1e308],
    ["dynatemp_range", [1, 2]],
    ["min_tokens", 10_000],
    ["use_beam_search", true],
    ["length_penalty", null],
    ["no_repeat_ngram_size", { a: 1 }],
    ["dry_multiplier", "0.8"],
    ["guided_json", { type: "object" }],
    ["", 1],
  ];
  const rows: Row[] = fields.map(([field, value]) => ({ what: `unknown field ${JSON.stringify(field)}: ${JSON.stringify(value)}`, parts: { params: { [field]: value } }, expect: ignoredOrNamed(field) }));
  fuzz.cases(casesOf(rows, GEN_ROUTES));
});

describe("features this engine refuses", () => {
  const top = (fields: Record<string, unknown>): BodyParts => ({ top: fields });
  const rows: Row[] = [
    { what: "n 2", parts: top({ n: 2 }), expect: invalid("n") },
    { what: "n 0", parts: top({ n: 0 }), expect: invalid("n") },
    // n = 1 is the default and the only n this engine does.
    { what: "n 1", parts: top({ n: 1 }), expect: ok },
    { what: "best_of 3", parts: top({ best_of: 3 }), expect: invalid("best_of") },
    { what: "tools: one function", parts: top({ tools: [{ type: "function", function: { name: "f" } }] }), expect: (r) => (r === CHAT ? invalid("tools")(r) : ignoredOrNamed("tools")) },
    { what: "response_format json_object", parts: top({ response_format: { type: "json_object" } }), expect: (r) => (r === CHAT ? invalid("response_format")(r) : ignoredOrNamed("response_format")) },
    { what: "response_format 5", parts: top({ response_format: 5 }), expect: (r) => (r === CHAT ? invalid("response_format")(r) : ignoredOrNamed("response_format")) },
    { what: "suffix", parts: top({ suffix: "end" }), expect: (r) => (r === COMPLETIONS ? invalid("suffix")(r) : ignoredOrNamed("suffix")) },
    { what: 'suffix ""', parts: top({ suffix: "" }), expect: ok },
    // vLLM's and llama.cpp's extensions: refused when they ask for something (a 200 with text that ignores them would look like success), taken when they ask nothing.
    { what: "guided_choice", parts: top({ guided_choice: ["yes", "no"] }), expect: invalid("guided_choice") },
    { what: "guided_regex", parts: top({ guided_regex: "a+" }), expect: invalid("guided_regex") },
    { what: "structured_outputs", parts: top({ structured_outputs: { choice: ["a"] } }), expect: invalid("structured_outputs") },
    { what: "a llama.cpp grammar", parts: top({ grammar: 'root ::= "a"' }), expect: invalid("grammar") },
    { what: "a llama.cpp json_schema", parts: top({ json_schema: { type: "object" } }), expect: invalid("json_schema") },
    { what: "min_tokens 5", parts: top({ min_tokens: 5 }), expect: invalid("min_tokens") },
    { what: "min_tokens 0", parts: top({ min_tokens: 0 }), expect: ok },
    { what: "stop_token_ids [2]", parts: top({ stop_token_ids: [2] }), expect: invalid("stop_token_ids") },
    { what: "stop_token_ids []", parts: top({ stop_token_ids: [] }), expect: ok },
    { what: "include_stop_str_in_output true", parts: top({ include_stop_str_in_output: true }), expect: invalid("include_stop_str_in_output") },
    { what: "include_stop_str_in_output false", parts: top({ include_stop_str_in_output: false }), expect: ok },
    { what: "tool_choice naming a function", parts: top({ tool_choice: { type: "function", function: { name: "f" } } }), expect: (r) => (r === CHAT ? invalid("tool_choice")(r) : ignoredOrNamed("tool_choice")) },
    { what: 'tool_choice "required"', parts: top({ tool_choice: "required" }), expect: (r) => (r === CHAT ? invalid("tool_choice")(r) : ignoredOrNamed("tool_choice")) },
    { what: 'tool_choice "auto"', parts: top({ tool_choice: "auto" }), expect: ok },
  ];
  // Both OpenAI routes: each refuses a different subset.
  fuzz.cases(casesOf(rows, OPENAI, (route) => route.path));
  const tgiRows: Row[] = [
    { what: "best_of 2", parts: { params: { best_of: 2 } }, expect: { tgi: invalid("best_of"), "llm-serving": ignoredOrNamed("best_of") } },
    // llm-serving accepts and ignores typical_p and watermark, as MindSpore's server did; TGI refuses them.
    { what: "typical_p 0.5", parts: { params: { typical_p: 0.5 } }, expect: { tgi: invalid("typical_p"), "llm-serving": ok } },
    { what: "watermark true", parts: { params: { watermark: true } }, expect: { tgi: invalid("watermark"), "llm-serving": ok } },
    { what: "a grammar", parts: { params: { grammar: { type: "json", value: {} } } }, expect: { tgi: invalid("grammar"), "llm-serving": ignoredOrNamed("grammar") } },
    { what: "an adapter_id", parts: { params: { adapter_id: "lora" } }, expect: { tgi: invalid("adapter_id"), "llm-serving": ignoredOrNamed("adapter_id") } },
  ];
  fuzz.cases(casesOf(tgiRows, GEN_ROUTES.filter((r) => r.family !== "openai")));
});

describe("malformed chat messages", () => {
  const messages = (value: unknown): BodyParts => ({ top: { messages: value } });
  const rows: Row[] = [
    { what: "messages is []", parts: messages([]), expect: invalid("messages") },
    { what: "messages is a string", parts: messages("hi"), expect: invalid("messages") },
    { what: "messages is an object", parts: messages({ role: "user", content: "hi" }), expect: invalid("messages") },
    { what: "a message that is null", parts: messages([null]), expect: invalid("messages[0]") },
    { what: "a message that is a string", parts: messages(["hi"]), expect: invalid("messages[0]") },
    { what: "a message without a role", parts: messages([{ content: "hi" }]), expect: invalid("messages[0].role") },
    { what: 'role "wizard"', parts: messages([{ role: "wizard", content: "hi" }]), expect: invalid("messages[0].role") },
    { what: "role 5", parts: messages([{ role: 5, content: "hi" }]), expect: invalid("messages[0].role") },
    { what: "an image part", parts: messages([{ role: "user", content: [{ type: "image_url", image_url: { url: "http://x" } }] }]), expect: invalid("messages[0].content[0]") },
    { what: "a text part whose text is a number", parts: messages([{ role: "user", content: [{ type: "text", text: 5 }] }]), expect: invalid("messages[0].content[0]") },
    { what: "the second message is bad", parts: messages([{ role: "user", content: "a" }, { role: "user", content: 7 }]), expect: invalid("messages[1].content") },
    // The default template is plain text: Jinja in content is content, not code.
    { what: "Jinja in the content", parts: messages([{ role: "user", content: "{{ 7*7 }}{% for x in range(99999999) %}x{% endfor %}" }]), expect: ok },
    { what: "1000 messages (far longer than the context)", parts: messages(Array.from({ length: 1000 }, () => ({ role: "user", content: "hello there" }))), expect: invalid() },
    // Roles the API allows, in any order and with extra fields: the default template renders them all.
    { what: "an assistant message last (no user turn)", parts: messages([{ role: "assistant", content: "I begin" }]), expect: ok },
    { what: "a tool message with extra fields", parts: messages([{ role: "tool", content: "42", tool_call_id: "x", name: "calc", extra: 5 }]), expect: ok },
    // The tool fields templates read are checked: a bad one is named.
    { what: "a tool message whose name is a number", parts: messages([{ role: "tool", content: "42", tool_call_id: "x", name: 5 }]), expect: invalid("messages[0].name") },
    { what: "tool call arguments as an object", parts: messages([{ role: "assistant", content: null, tool_calls: [{ type: "function", function: { name: "f", arguments: { a: 1 } } }] }]), expect: invalid("messages[0].tool_calls[0].function.arguments") },
  ];
  fuzz.cases(casesOf(rows, [CHAT]));
});

fuzz.finalCheck();
