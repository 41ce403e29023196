import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { jsonOf, lines, postJson, sharedTestServer } from "./helpers/serverHarness.js";

const shared = sharedTestServer();
const url = (path: string) => shared.get().url + path;

/** What llm-serving's Python client does with each line of a stream. */
const generatedText = (line: string): string => (JSON.parse(line) as { data: Array<{ generated_text: string }> }).data[0].generated_text;

describe("llm-serving routes", () => {
  test("generate: the full response, one JSON object then a newline", async () => {
    const res = await postJson(url("/models/llama2/generate"), { inputs: "Hello", parameters: { max_new_tokens: 6, do_sample: "False" } });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.ok(text.endsWith("}\n"));
    const body = JSON.parse(text);
    assert.deepEqual(Object.keys(body), ["generated_text", "finish_reason", "generated_tokens", "prefill", "seed", "tokens", "top_tokens", "details", "timings"]);
    assert.equal(body.finish_reason, "length");
    assert.equal(body.generated_tokens, 6);
    assert.equal(body.tokens.length, 6);
    assert.deepEqual(Object.keys(body.tokens[0]), ["id", "logprob", "special", "text"]);
    assert.deepEqual(body.prefill, [body.tokens[0]]);
    assert.deepEqual(body.top_tokens, [[body.tokens[0]]]);
    assert.equal(body.generated_text, body.tokens.map((t: { text: string }) => t.text).join(""));
  });

  test('generate_stream, return_protocol "sse": raw JSON lines read as the Python client reads them', async () => {
    const params = { max_new_tokens: 8, do_sample: "False", return_full_text: "True" };
    const full = await jsonOf(postJson(url("/models/llama2/generate"), { inputs: "Stream me", parameters: params }));
    const res = await postJson(url("/models/llama2/generate_stream"), { inputs: "Stream me", parameters: params });
    assert.equal(res.status, 200);
    const raw = await res.text();
    for (const line of raw.split("\n").slice(0, -1)) assert.match(line, /^\{"event":"message","retry":30000,"data":\[\{/, "each line is one raw JSON envelope");
    const ls = lines(raw);
    assert.equal(ls.length, 8 + 1, "one line per token plus the summary");
    const firstToken = ls.find((l) => generatedText(l) !== "");
    assert.equal(generatedText(firstToken!), full.tokens[0].text, "the first non-empty line is the first token");
    assert.equal(generatedText(ls.at(-1)!), full.generated_text, "the last line is the full text");
    assert.equal(ls.slice(0, -1).map(generatedText).join(""), full.generated_text);
    const last = JSON.parse(ls.at(-1)!).data[0];
    assert.equal(last.finish_reason, "length");
    assert.equal(last.generated_tokens, 8);
  });

  test("POST /models/{model}: its stream flag decides; another return_protocol writes data: lines", async () => {
    const whole = await postJson(url("/models/llama2"), { inputs: "Flag", stream: false, parameters: { max_new_tokens: 3, do_sample: false } });
    assert.equal((await jsonOf(whole)).generated_tokens, 3);
    const res = await postJson(url("/models/llama2"), { inputs: "Flag", stream: "True", parameters: { max_new_tokens: 3, do_sample: false, return_protocol: "plain", return_full_text: false } });
    const ls = lines(await res.text());
    assert.equal(ls.length, 3 + 1, "no summary line without return_full_text: the tokens, then the timings");
    for (const l of ls.slice(0, -1)) {
      assert.ok(l.startsWith("data:"));
      assert.deepEqual(Object.keys(JSON.parse(l.slice(5))), ["details", "generated_text", "tokens", "top_tokens"]);
    }
    assert.deepEqual(Object.keys(JSON.parse(ls.at(-1)!.slice(5))), ["details", "generated_text", "timings"]);
    assert.equal(JSON.parse(ls.at(-1)!.slice(5)).generated_text, "");
  });

  test("defaults, string coercion and clamping as in llm-serving; seed, stop and repetition_penalty work", async () => {
    const run = async (parameters: object) => {
      const { timings: _timings, ...body } = await jsonOf(postJson(url("/models/llama2/generate"), { inputs: "Coerce", parameters }));
      return body;
    };
    const greedy = await run({ max_new_tokens: "10", do_sample: "False" });
    assert.equal(greedy.generated_tokens, 10);
    // Greedy requests report the random seed each got: it does not matter to them.
    const noSeed = ({ seed: _seed, ...rest }: Record<string, unknown>) => rest;
    assert.deepEqual(noSeed(await run({ max_new_tokens: 10, temperature: "0.000001" })), noSeed(greedy), "temperature ≤ 1e-5 turns sampling off");
    const sampled = await run({ max_new_tokens: 10, temperature: "0.8", top_k: "50", seed: "7" });
    assert.deepEqual(await run({ max_new_tokens: 10, temperature: 0.8, top_k: 50, seed: 7 }), sampled, "same seed, same text");
    const clamped = await run({ max_new_tokens: 10, top_k: -5, seed: 1 });
    assert.deepEqual(clamped.tokens, greedy.tokens, "top_k ≤ 0 becomes 1: the most likely token");
    const defaults = await run({});
    assert.ok(defaults.generated_tokens > 0 && defaults.generated_tokens <= 300);
    // Unseeded samples differ (llm-serving ignored its default seed 0, so its samples did too), and the seed each reports gives its text again.
    const unseeded = [await run({ max_new_tokens: 12 }), await run({ max_new_tokens: 12 })];
    assert.notEqual(unseeded[0].seed, unseeded[1].seed);
    assert.equal((await run({ max_new_tokens: 12, seed: unseeded[1].seed })).generated_text, unseeded[1].generated_text);
    const stopAt = greedy.tokens[3].text;
    const stopped = await run({ max_new_tokens: 10, do_sample: false, stop: [stopAt] });
    assert.equal(stopped.finish_reason, "stop_sequence");
    assert.equal(stopped.generated_text, greedy.generated_text.slice(0, greedy.generated_text.indexOf(stopAt)));
    const penalized = await run({ max_new_tokens: 10, do_sample: false, repetition_penalty: 5 });
    assert.ok(new Set(penalized.tokens.map((t: { id: number }) => t.id)).size >= new Set(greedy.tokens.map((t: { id: number }) => t.id)).size);
  });

  test("refusals name the body's own fields: inputs missing, inputs too long for the context", async () => {
    const refusal = async (body: object) => {
      const res = await postJson(url("/models/llama2/generate"), body);
      assert.equal(res.status, 400);
      return ((await jsonOf(res)) as { error: { message: string; param: string } }).error;
    };
    assert.deepEqual(await refusal({ parameters: {} }), { ...(await refusal({ parameters: {} })), message: "inputs: is required: a string", param: "inputs" });
    const long = await refusal({ inputs: "word ".repeat(2000), parameters: { max_new_tokens: 5 } });
    assert.equal(long.param, "inputs");
    assert.match(long.message, /^inputs: .* do not fit the context/);
  });

  test("GET /serving/* answer one SSE event with llm-serving's envelope", async () => {
    for (const [path, check] of [
      ["/serving/get_bs", (d: unknown) => assert.equal(typeof d, "number")],
      ["/serving/get_request_numbers", (d: unknown) => assert.equal(d, 0)],
      ["/serving/get_serverd_model_info", (d: unknown) => assert.deepEqual([(d as { model_id: string }).model_id, (d as { max_stop_sequences: number }).max_stop_sequences], ["llama2", 16])],
    ] as const) {
      const res = await fetch(url(path));
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type")!, /text\/event-stream/);
      const text = await res.text();
      assert.ok(text.startsWith("data: ") && text.endsWith("\n\n"));
      const event = JSON.parse(text.slice(6));
      assert.equal(event.event, "message");
      assert.equal(event.retry, 30000);
      check(event.data);
    }
  });

  test("an unknown model name is a 404 with a JSON error", async () => {
    const res = await postJson(url("/models/gpt-9/generate"), { inputs: "x" });
    assert.equal(res.status, 404);
    assert.equal((await jsonOf(res)).error.code, "model_not_found");
  });
});
