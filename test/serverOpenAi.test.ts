import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Template } from "@huggingface/jinja";
import OpenAI from "openai";
import { jsonOf, postJson, sharedTestServer } from "./helpers/serverHarness.js";
import type { TokenEvent } from "../src/master/GenerationStream.js";
import type { Generation } from "../src/server/generation/ResponseFormat.js";
import { completionResponse, completionStreamFormat } from "../src/server/protocols/openai/openAiFormat.js";

const shared = sharedTestServer();
const client = () => new OpenAI({ baseURL: `${shared.get().url}/v1`, apiKey: "unused", maxRetries: 0 });

/** A streamed completion's text_offset values, and where each token chunk's text starts in the whole text (in characters). */
async function streamedOffsets(request: OpenAI.CompletionCreateParamsNonStreaming): Promise<{ offsets: number[]; starts: number[] }> {
  const offsets: number[] = [];
  const starts: number[] = [];
  let text = "";
  for await (const chunk of await client().completions.create({ ...request, stream: true })) {
    const choice = chunk.choices[0];
    if (!choice) continue;
    for (const offset of choice.logprobs?.text_offset ?? []) {
      offsets.push(offset);
      starts.push([...text].length);
    }
    text += choice.text;
  }
  return { offsets, starts };
}

describe("OpenAI routes, through the official client", () => {
  test("models.list", async () => {
    const models = await client().models.list();
    assert.deepEqual(models.data.map((m) => m.id), ["llama2"]);
  });

  test("completions: non-stream and stream agree; seed and stop work", async () => {
    const c = await client().completions.create({ model: "llama2", prompt: "Once upon", max_tokens: 8, temperature: 0 });
    assert.equal(c.object, "text_completion");
    assert.equal(c.choices[0].finish_reason, "length");
    assert.equal(c.usage!.completion_tokens, 8);
    assert.equal(c.usage!.total_tokens, c.usage!.prompt_tokens + 8);
    let streamed = "";
    let finish: string | null = null;
    let usage;
    for await (const chunk of await client().completions.create({ model: "llama2", prompt: "Once upon", max_tokens: 8, temperature: 0, stream: true, stream_options: { include_usage: true } })) {
      if (chunk.choices.length) {
        streamed += chunk.choices[0].text;
        finish = chunk.choices[0].finish_reason ?? finish;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(streamed, c.choices[0].text);
    assert.equal(finish, "length");
    assert.equal(usage!.completion_tokens, 8);
    const a = await client().completions.create({ model: "llama2", prompt: "Seeded", max_tokens: 10, temperature: 1, seed: 5 });
    const b = await client().completions.create({ model: "llama2", prompt: "Seeded", max_tokens: 10, temperature: 1, seed: 5 });
    assert.equal(a.choices[0].text, b.choices[0].text);
    const stop = c.choices[0].text.slice(3, 6);
    const stopped = await client().completions.create({ model: "llama2", prompt: "Once upon", max_tokens: 8, temperature: 0, stop: [stop] });
    assert.equal(stopped.choices[0].finish_reason, "stop");
    assert.equal(stopped.choices[0].text, c.choices[0].text.slice(0, c.choices[0].text.indexOf(stop)));
  });

  test("completions with echo and logprobs: streamed text_offset counts the prompt once, as the whole response does", async () => {
    // Found by a new user: streamed, the offsets were shifted by the prompt's length ([22, 25] for [11, 14]).
    const request = { model: "llama2", prompt: "Hello world", max_tokens: 2, echo: true, logprobs: 0, temperature: 0 };
    const whole = await client().completions.create(request);
    assert.deepEqual(whole.choices[0].logprobs!.text_offset, [11, 14]);
    const streamed = await streamedOffsets(request);
    assert.deepEqual(streamed.offsets, whole.choices[0].logprobs!.text_offset);
    assert.deepEqual(streamed.starts, streamed.offsets, "each chunk's offset is where its text starts in the whole text");
  });

  test("text_offset counts characters (code points), as OpenAI and vLLM do, not UTF-16 units", async () => {
    // 10 characters, 11 UTF-16 units (the emoji is two): the first generated token starts at 10.
    const request = { model: "llama2", prompt: "日本語 🎉 café", max_tokens: 3, echo: true, logprobs: 1, temperature: 0 };
    const whole = await client().completions.create(request);
    assert.equal(whole.choices[0].logprobs!.text_offset![0], 10);
    const streamed = await streamedOffsets(request);
    assert.deepEqual(streamed.offsets, whole.choices[0].logprobs!.text_offset);
    assert.deepEqual(streamed.starts, streamed.offsets);
  });

  test("chat completions: non-stream and stream, with the default chat template", async () => {
    const messages = [
      { role: "system" as const, content: "You are terse." },
      { role: "user" as const, content: "Say something." },
    ];
    const r = await client().chat.completions.create({ model: "llama2", messages, max_tokens: 6, temperature: 0 });
    assert.equal(r.object, "chat.completion");
    assert.equal(r.choices[0].message.role, "assistant");
    assert.equal(r.usage!.completion_tokens, 6);
    let content = "";
    let role;
    let sawUsage = false;
    for await (const chunk of await client().chat.completions.create({ model: "llama2", messages, max_tokens: 6, temperature: 0, stream: true, stream_options: { include_usage: true } })) {
      if (chunk.choices[0]?.delta.role) role = chunk.choices[0].delta.role;
      content += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) sawUsage = chunk.usage.completion_tokens === 6;
    }
    assert.equal(role, "assistant");
    assert.equal(content, r.choices[0].message.content);
    assert.ok(sawUsage);
  });

  test("chat logprobs with top_logprobs", async () => {
    const r = await client().chat.completions.create({ model: "llama2", messages: [{ role: "user", content: "Hi" }], max_tokens: 3, temperature: 0, logprobs: true, top_logprobs: 2 });
    const lp = r.choices[0].logprobs!.content!;
    assert.equal(lp.length, 3);
    for (const t of lp) {
      assert.equal(t.top_logprobs.length, 2);
      assert.ok(t.logprob <= 0);
    }
  });

  test("chat logprobs' bytes put the content back together, byte tokens of a character included", async () => {
    // Hot sampling on the tiny model's vocabulary (a quarter of it byte tokens) makes characters of several byte tokens.
    const r = await client().chat.completions.create({ model: "llama2", messages: [{ role: "user", content: "x" }], max_tokens: 400, temperature: 100, seed: 4, logprobs: true, ignore_eos: true } as never);
    const lp = r.choices[0].logprobs!.content!;
    const content = r.choices[0].message.content!;
    // A byte token above 0x7f reads as U+FFFD alone: its bytes are the byte itself, not U+FFFD's UTF-8.
    const partial = lp.filter((t) => t.token === "\uFFFD");
    assert.ok(partial.length > 0, "the sample has byte tokens that are part of a character");
    for (const t of partial) assert.ok(t.bytes!.length === 1 && t.bytes![0] >= 0x80, JSON.stringify(t.bytes));
    assert.equal(Buffer.concat(lp.map((t) => Buffer.from(t.bytes!))).toString("utf8"), content);
  });

  test("errors come back as OpenAI errors", async () => {
    await assert.rejects(client().chat.completions.create({ model: "nope", messages: [{ role: "user", content: "x" }] }), (e: InstanceType<typeof OpenAI.NotFoundError>) => e.status === 404);
    await assert.rejects(client().completions.create({ model: "llama2", prompt: "x", n: 2 }), (e: InstanceType<typeof OpenAI.BadRequestError>) => e.status === 400 && /n = 1/.test(e.message));
    const res = await postJson(`${shared.get().url}/v1/chat/completions`, { model: "llama2", messages: [] });
    assert.equal(res.status, 400);
    const body = await jsonOf(res);
    assert.equal(body.error.param, "messages");
    assert.equal(body.error.type, "invalid_request_error");
  });

  test("a refusal names the parameter as the client sent it, not as the engine calls it", async () => {
    const url = shared.get().url;
    const refusal = async (path: string, body: object): Promise<{ message: string; param: string }> => {
      const res = await postJson(`${url}${path}`, { model: "llama2", ...body });
      assert.equal(res.status, 400);
      return (await jsonOf(res)).error;
    };
    const huge = 10_000_000;
    let e = await refusal("/v1/completions", { prompt: "x", max_tokens: huge });
    assert.equal(e.param, "max_tokens");
    assert.match(e.message, /^max_tokens: must be in \[1, \d+\], got 10000000$/);
    e = await refusal("/v1/chat/completions", { messages: [{ role: "user", content: "x" }], max_completion_tokens: huge });
    assert.equal(e.param, "max_completion_tokens");
    // Within the row's bound, but not beside the prompt the messages make.
    const bound = Number(/\[1, (\d+)\]/.exec(e.message)![1]);
    e = await refusal("/v1/chat/completions", { messages: [{ role: "user", content: "x" }], max_tokens: bound });
    assert.equal(e.param, "max_tokens");
    assert.match(e.message, new RegExp(`^max_tokens: prompt \\(\\d+ tokens\\) \\+ max_tokens \\(${bound}\\) exceeds the context`));
    assert.doesNotMatch(e.message, /max_new_tokens/);
    // The SDK shows the message as is.
    await assert.rejects(client().completions.create({ model: "llama2", prompt: "x", max_tokens: huge }), (err: Error) => /400 max_tokens: /.test(err.message));
    // An integer beyond what a JSON number holds exactly is one: it is refused as too large, not as "not an integer".
    const seed = await postJson(`${url}/v1/completions`, '{"model": "llama2", "prompt": "x", "max_tokens": 2, "seed": 18446744073709551615}');
    assert.equal(seed.status, 400);
    assert.match((await jsonOf(seed)).error.message, /^seed: is too large to be an exact integer \(at most 9007199254740991 either way\), got number 18446744073709552000$/);
  });

  test("a malformed tool call, tool_call_id or name in messages is a 400 naming the field; the request's tools stay refused", async () => {
    const url = shared.get().url;
    const user = { role: "user", content: "Weather in Paris?" };
    const call = { id: "call_1", type: "function", function: { name: "weather", arguments: '{"city": "Paris"}' } };
    const chat = (body: object) => postJson(`${url}/v1/chat/completions`, { model: "llama2", max_tokens: 1, ...body });
    const cases: Array<[message: object, param: string, why: RegExp]> = [
      [{ role: "assistant", content: null, tool_calls: call }, "messages[1].tool_calls", /must be a list of tool calls/],
      [{ role: "assistant", content: null, tool_calls: ["weather"] }, "messages[1].tool_calls[0]", /must be an object/],
      [{ role: "assistant", content: null, tool_calls: [{ ...call, type: "tool" }] }, "messages[1].tool_calls[0].type", /must be "function"/],
      [{ role: "assistant", content: null, tool_calls: [{ ...call, function: undefined }] }, "messages[1].tool_calls[0].function", /name and arguments/],
      [{ role: "assistant", content: null, tool_calls: [{ ...call, function: { arguments: "{}" } }] }, "messages[1].tool_calls[0].function.name", /is required: a string/],
      [{ role: "assistant", content: null, tool_calls: [{ ...call, function: { name: "weather", arguments: { city: "Paris" } } }] }, "messages[1].tool_calls[0].function.arguments", /must be a string, got an object/],
      [{ role: "assistant", content: null, tool_calls: [{ ...call, id: 7 }] }, "messages[1].tool_calls[0].id", /must be a string/],
      [{ role: "tool", content: "18 °C", tool_call_id: 1 }, "messages[1].tool_call_id", /must be a string/],
      [{ role: "user", content: "and Lyon?", name: ["ann"] }, "messages[1].name", /must be a string, got an array/],
    ];
    for (const [message, param, why] of cases) {
      const res = await chat({ messages: [user, message] });
      assert.equal(res.status, 400, param);
      const { error } = await jsonOf(res);
      assert.equal(error.param, param);
      assert.ok(error.message.startsWith(`${param}: `), error.message);
      assert.match(error.message, why);
    }
    // The same history, well formed, is taken: an assistant that only calls tools has content null.
    const history = [user, { role: "assistant", content: null, tool_calls: [call] }, { role: "tool", tool_call_id: "call_1", content: "18 °C" }];
    assert.equal((await chat({ messages: history })).status, 200);
    // Tool definitions are another matter: this server cannot hold its output to them.
    const res = await chat({ messages: history, tools: [{ type: "function", function: { name: "weather", parameters: {} } }] });
    assert.equal(res.status, 400);
    assert.equal((await jsonOf(res)).error.param, "tools");
  });

  test("special tokens written as text in a prompt are read as those tokens, as llama.cpp's server and vLLM read them", async () => {
    // Found by a new user: "<s></s><s></s><unk></s>" made 24 tokens of plain text.
    const url = shared.get().url;
    const promptTokens = async (prompt: string): Promise<number> => (await jsonOf(postJson(`${url}/v1/completions`, { model: "llama2", prompt, max_tokens: 1 }))).usage.prompt_tokens;
    const specials = await promptTokens("<s></s><s></s><unk></s>");
    const words = await promptTokens("hello");
    // Six special tokens, and what the model puts before any prompt (BOS): no more than a one-word prompt's share of it.
    assert.ok(specials <= 6 + (words - 1), `${specials} prompt tokens`);
    assert.ok(specials >= 6, `${specials} prompt tokens`);
  });
});

describe("OpenAI completions format", () => {
  test("text_offset moves one character past a generated emoji, whole and streamed", () => {
    // The synthetic model's text is mostly ASCII, so the tokens are made here.
    const tokenTexts = ["🎉", "a"];
    const texts = { text: (id: number) => tokenTexts[id], bytes: (id: number) => [...Buffer.from(tokenTexts[id])] };
    const tokens: TokenEvent[] = tokenTexts.map((text, id) => ({ type: "token", index: id, id, text, logprob: -1, special: false }));
    const g: Generation = { id: "x", finishReason: "length", text: "🎉a", promptTokens: 2, generatedTokens: 2, seed: 0, tokens };
    const ids = { id: "cmpl-x", created: 0, model: "m" };
    const echo = "é🎉";
    const whole = completionResponse(g, ids, echo, true, texts) as { choices: [{ logprobs: { text_offset: number[] } }] };
    assert.deepEqual(whole.choices[0].logprobs.text_offset, [2, 3]);
    const format = completionStreamFormat(ids, echo, true, false, texts);
    const events = format.head() + format.token(tokens[0]) + format.tail(g, tokens[1], undefined);
    const offsets = events
      .split("\n\n")
      .filter((e) => e.startsWith("data: {"))
      .flatMap((e) => (JSON.parse(e.slice("data: ".length)).choices[0].logprobs?.text_offset ?? []) as number[]);
    assert.deepEqual(offsets, [2, 3]);
  });
});

describe("chat templates", () => {
  /** A server on a tiny model whose GGUF holds `template`; `fn` gets a client and the model's tokenizer (special tokens parsed). */
  async function withTemplateModel(template: string, fn: (client: OpenAI, tokenize: (text: string) => number[]) => Promise<void>): Promise<void> {
    const { mkdtemp, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { makeModel } = await import("../src/model/SyntheticModel.js");
    const { startTestServer } = await import("./helpers/serverHarness.js");
    const dir = await mkdtemp(join(tmpdir(), "llm-serving-chat-"));
    const modelPath = join(dir, "chat.gguf");
    await makeModel({ preset: "tiny", dtype: "Q8_0", seed: 0, out: modelPath, chatTemplate: template });
    const s = await startTestServer({}, async () => modelPath);
    try {
      await s.server.engine.ready;
      const agent = s.server.localEngine!.master!.agent;
      await fn(new OpenAI({ baseURL: `${s.url}/v1`, apiKey: "unused", maxRetries: 0 }), (text) => agent.tokenize(text, true));
    } finally {
      await s.server.close(1000);
      await rm(dir, { recursive: true, force: true });
    }
  }

  const render = (template: string, messages: object[]): string => new Template(template).render({ messages, add_generation_prompt: true, bos_token: "<s>", eos_token: "</s>" });

  test("the model's own template from the GGUF metadata is used, its special tokens parsed as such", async () => {
    const template = "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}";
    await withTemplateModel(template, async (c, tokenize) => {
      const messages = [{ role: "user" as const, content: "Hello there" }];
      const r = await c.chat.completions.create({ model: "llama2", messages, max_tokens: 2, temperature: 0 });
      const expected = tokenize(render(template, messages));
      assert.equal(expected[0], 1, "the template's <s> is the BOS token");
      assert.ok(expected.includes(2), "and its </s> the EOS token");
      assert.equal(r.usage!.prompt_tokens, expected.length, "BOS not added twice, special tokens not spelled out");
    });
  });

  test("a conversation's tool calls and tool results reach the model's template, arguments parsed from their JSON", async () => {
    // Found by a new user: tool_calls, tool_call_id and name were dropped before the template saw them.
    const template =
      "{{ bos_token }}{% for m in messages %}[{{ m.role }}{% if m.name %} {{ m.name }}{% endif %}] " +
      "{% if 'tool_calls' in m %}{% for c in m.tool_calls %}<call {{ c.id }}>{{ c.function.name }} {{ c.function.arguments | tojson }}</call>{% endfor %}" +
      "{% elif m.role == 'tool' %}<result {{ m.tool_call_id }}>{{ m.content }}</result>{% else %}{{ m.content }}{% endif %}{% endfor %}" +
      "{% if add_generation_prompt %}[assistant] {% endif %}";
    await withTemplateModel(template, async (c, tokenize) => {
      const r = await c.chat.completions.create({
        model: "llama2",
        max_tokens: 1,
        temperature: 0,
        messages: [
          { role: "user", content: "Weather in Paris?", name: "ann" },
          { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Paris","days":2}' } }] },
          { role: "tool", tool_call_id: "call_1", content: "18 °C" },
        ],
      });
      // As vLLM and llama.cpp give them to a template: the arguments as an object, no tool keys on messages that sent none.
      const rendered = render(template, [
        { role: "user", content: "Weather in Paris?", name: "ann" },
        { role: "assistant", content: "", tool_calls: [{ id: "call_1", type: "function", function: { name: "weather", arguments: { city: "Paris", days: 2 } } }] },
        { role: "tool", content: "18 °C", tool_call_id: "call_1" },
      ]);
      assert.match(rendered, /<call call_1>weather \{"city": "Paris", "days": 2\}<\/call>\[tool\] <result call_1>18 °C<\/result>/);
      assert.equal(r.usage!.prompt_tokens, tokenize(rendered).length);
    });
  });
});
