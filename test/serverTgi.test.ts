import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { jsonOf, postJson, sharedTestServer, sseData } from "./helpers/serverHarness.js";

const shared = sharedTestServer();
const url = (path: string) => shared.get().url + path;

interface StreamEvent {
  index: number;
  token: { id: number; text: string; logprob: number | null; special: boolean };
  generated_text: string | null;
  details: { finish_reason: string; generated_tokens: number; seed: number; input_length: number } | null;
  top_tokens?: unknown[];
}

describe("TGI routes", () => {
  test("/generate with details, top tokens and prefill", async () => {
    const res = await postJson(url("/generate"), { inputs: "Hello TGI", parameters: { max_new_tokens: 5, details: true, decoder_input_details: true, top_n_tokens: 3, seed: 11 } });
    assert.equal(res.status, 200);
    const body = await jsonOf(res);
    const d = body.details;
    assert.equal(d.finish_reason, "length");
    assert.equal(d.generated_tokens, 5);
    assert.equal(d.seed, 11);
    assert.equal(d.tokens.length, 5);
    assert.ok(d.prefill.length > 1 && d.prefill.every((t: { logprob: null }) => t.logprob === null));
    assert.equal(d.top_tokens.length, 5);
    for (const [i, alts] of d.top_tokens.entries()) {
      assert.equal(alts.length, 3);
      assert.ok(alts[0].logprob >= alts[1].logprob && alts[1].logprob >= alts[2].logprob);
      assert.ok(d.tokens[i].logprob <= 0);
    }
    assert.equal(body.generated_text, d.tokens.map((t: { text: string }) => t.text).join(""));
  });

  test("/generate without details answers generated_text only; return_full_text prepends the inputs", async () => {
    const plain = await jsonOf(postJson(url("/generate"), { inputs: "Hello TGI", parameters: { max_new_tokens: 4 } }));
    assert.deepEqual(Object.keys(plain), ["generated_text", "timings"]);
    const full = await jsonOf(postJson(url("/generate"), { inputs: "Hello TGI", parameters: { max_new_tokens: 4, return_full_text: true } }));
    assert.equal(full.generated_text, "Hello TGI" + plain.generated_text);
  });

  test("/generate_stream: standard SSE framing, the last event with generated_text and details (only when asked for, as TGI)", async () => {
    const plain = sseData(await (await postJson(url("/generate_stream"), { inputs: "Hello TGI", parameters: { max_new_tokens: 2 } })).text()) as StreamEvent[];
    assert.equal(plain.at(-1)!.details, null);
    const res = await postJson(url("/generate_stream"), { inputs: "Hello TGI", parameters: { max_new_tokens: 6, details: true } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
    const raw = await res.text();
    assert.match(raw, /^(data:\{.*\}\n\n)+$/s, "data: lines, each followed by a blank line");
    const events = sseData(raw) as StreamEvent[];
    assert.equal(events.length, 6);
    assert.deepEqual(events.map((e) => e.index), [1, 2, 3, 4, 5, 6]);
    for (const e of events.slice(0, -1)) assert.equal(e.generated_text, null);
    const last = events.at(-1)!;
    assert.equal(last.generated_text, events.map((e) => e.token.text).join(""));
    assert.equal(last.details!.finish_reason, "length");
    assert.equal(last.details!.generated_tokens, 6);
    assert.equal(last.details!.seed, null, "greedy: no seed, as TGI");
    const whole = await jsonOf(postJson(url("/generate"), { inputs: "Hello TGI", parameters: { max_new_tokens: 6 } }));
    assert.equal(last.generated_text, whole.generated_text);
  });

  test("a 64-bit seed (a time in ms, as clients send) is taken, reported as sent, and gives the same text again", async () => {
    const seed = 1733251200000;
    const run = async () => (await jsonOf(postJson(url("/generate"), { inputs: "Hello TGI", parameters: { max_new_tokens: 8, do_sample: true, details: true, seed } }))) as { generated_text: string; details: { seed: number } };
    const [a, b] = [await run(), await run()];
    assert.equal(a.details.seed, seed);
    assert.equal(b.generated_text, a.generated_text);
  });

  test("/info describes the model", async () => {
    const info = await jsonOf(fetch(url("/info")));
    assert.equal(info.model_id, "llama2");
    assert.equal(info.max_total_tokens, 512);
    assert.equal(info.model_pipeline_tag, "text-generation");
    // What it says the routes take, they take (it said 16 while /generate refused a fifth).
    const stop = (n: number) => postJson(url("/generate"), { inputs: "Hello", parameters: { max_new_tokens: 1, stop: Array.from({ length: n }, (_, i) => `s${i}`) } });
    assert.equal((await stop(info.max_stop_sequences)).status, 200);
    assert.equal((await stop(info.max_stop_sequences + 1)).status, 422);
  });

  // A check after the submit answered 422 but left the generation running for nobody, holding its row to max_new_tokens.
  test("POST / with a bad stream flag is refused before anything is generated", async () => {
    const stats = async () => (await jsonOf(await fetch(url("/stats")))) as { running: number; waiting: number; steps: number };
    const before = await stats();
    const res = await postJson(url("/"), { inputs: "Hello", stream: "yes", parameters: { max_new_tokens: 400 } });
    assert.equal(res.status, 422);
    assert.match((await jsonOf(res)).error, /stream/);
    const after = await stats();
    assert.equal(after.running, 0);
    assert.equal(after.waiting, 0);
    assert.equal(after.steps, before.steps, "no step ran for it");
  });

  test("validation errors are 422 with TGI's error body", async () => {
    for (const parameters of [{ max_new_tokens: "5" }, { temperature: 0 }, { top_p: 1.5 }, { stop: ["a", "b", "c", "d", "e"] }, { typical_p: 0.5 }, { best_of: 2 }]) {
      const res = await postJson(url("/generate"), { inputs: "x", parameters });
      assert.equal(res.status, 422, JSON.stringify(parameters));
      const body = await jsonOf(res);
      assert.equal(body.error_type, "validation");
      assert.equal(typeof body.error, "string");
    }
  });

  test("a refusal names the parameter as TGI's client sent it, not as the engine or OpenAI calls it", async () => {
    // Found by a new user: top_n_tokens 1000 was refused as "top_logprobs: must be in [0, 20]".
    const refused = async (body: object): Promise<string> => {
      const res = await postJson(url("/generate"), body);
      assert.equal(res.status, 422, JSON.stringify(body));
      return (await jsonOf(res)).error;
    };
    assert.equal(await refused({ inputs: "x", parameters: { max_new_tokens: 2, details: true, top_n_tokens: 1000 } }), "parameters.top_n_tokens: must be in [0, 20], got 1000");
    assert.match(await refused({ inputs: "x", parameters: { max_new_tokens: 100000 } }), /^parameters\.max_new_tokens: must be in \[1, \d+\], got 100000$/);
    assert.match(await refused({ inputs: "x", parameters: { max_new_tokens: 2, seed: -1 } }), /^parameters\.seed: /);
  });
});
