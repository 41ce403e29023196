/**
 * Real clients, unchanged, against the server: Hugging Face's
 * @huggingface/inference (endpoint URL as the model, OpenAI routes) and the
 * openai SDK with the names people use.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InferenceClient } from "@huggingface/inference";
import OpenAI from "openai";
import { sharedTestServer } from "./helpers/serverHarness.js";

const shared = sharedTestServer();

describe("@huggingface/inference 4.x with an endpoint URL", () => {
  test("textGeneration, textGenerationStream, chatCompletion and chatCompletionStream", async () => {
    const client = new InferenceClient(undefined, { endpointUrl: shared.get().url });
    const whole = await client.textGeneration({ inputs: "Hello", parameters: { max_new_tokens: 5, temperature: 0 } });
    assert.ok(whole.generated_text.length > 0);
    let streamed = "";
    let chunks = 0;
    for await (const chunk of client.textGenerationStream({ inputs: "Hello", parameters: { max_new_tokens: 5, temperature: 0 } })) {
      chunks++;
      const c = chunk as unknown as { choices?: Array<{ text?: string }>; token?: { text: string } };
      streamed += c.choices?.[0]?.text ?? c.token?.text ?? "";
    }
    assert.ok(chunks >= 5);
    assert.equal(streamed, whole.generated_text, "streamed and whole agree (greedy)");
    const chat = await client.chatCompletion({ messages: [{ role: "user", content: "Hi" }], max_tokens: 4, temperature: 0 });
    assert.equal(chat.choices[0].message.role, "assistant");
    assert.equal(chat.usage.completion_tokens, 4);
    let deltas = "";
    for await (const chunk of client.chatCompletionStream({ messages: [{ role: "user", content: "Hi" }], max_tokens: 4, temperature: 0 })) deltas += chunk.choices[0]?.delta?.content ?? "";
    assert.equal(deltas, chat.choices[0].message.content);
  });
});

describe("the openai SDK", () => {
  test('"tgi" (Hugging Face\'s docs) and the served name both work; an unknown one is a NotFoundError that names the served model', async () => {
    const openai = new OpenAI({ baseURL: `${shared.get().url}/v1`, apiKey: "unused" });
    for (const model of ["tgi", "llama2"]) {
      const r = await openai.chat.completions.create({ model, messages: [{ role: "user", content: "Hi" }], max_tokens: 3 });
      assert.equal(r.choices[0].finish_reason, "length");
    }
    await assert.rejects(openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "Hi" }], max_tokens: 3 }), (err: Error) => {
      assert.ok(err instanceof OpenAI.NotFoundError);
      assert.match(err.message, /serves "llama2"/);
      return true;
    });
  });

  test("models.list and models.retrieve: the served model, with the time it began to be served; another name is a NotFoundError", async () => {
    const openai = new OpenAI({ baseURL: `${shared.get().url}/v1`, apiKey: "unused" });
    const listed = [];
    for await (const m of openai.models.list()) listed.push(m);
    assert.deepEqual(listed.map((m) => m.id), ["llama2"]);
    const one = await openai.models.retrieve("llama2");
    assert.deepEqual(one, listed[0]);
    assert.ok(one.created > 1_700_000_000 && one.created <= Date.now() / 1000, `created ${one.created}`);
    await assert.rejects(openai.models.retrieve("org/other-model"), (err: Error) => err instanceof OpenAI.NotFoundError && /serves "llama2"/.test(err.message));
  });
});
