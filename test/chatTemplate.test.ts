/** The engine's chat template (src/engines/ChatTemplate.ts), without a model. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ChatTemplate, type ChatMessage } from "../src/engines/ChatTemplate.js";
import { RequestError } from "../src/master/errors.js";

const tokens = { bos: "<s>", eos: "</s>" };

describe("chat template", () => {
  test("a model without a template gets the plain default, whose markers are plain text", () => {
    const t = new ChatTemplate(undefined, tokens);
    assert.equal(t.fromModel, false);
    assert.equal(t.render([{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }]), "<|system|>\nBe brief.\n<|user|>\nHi\n<|assistant|>\n");
  });

  test("the model's template renders with its BOS and the generation prompt; its special tokens are to be parsed", () => {
    const t = new ChatTemplate("{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}", tokens);
    assert.equal(t.fromModel, true);
    assert.equal(t.render([{ role: "user", content: "Hi" }]), "<s>[user]Hi[assistant]");
  });

  test("a conversation the template rejects is the caller's error, naming the messages", () => {
    const t = new ChatTemplate("{% if messages[0].role != 'user' %}{{ raise_exception('Conversations must start with a user message') }}{% endif %}ok", tokens);
    assert.throws(
      () => t.render([{ role: "assistant", content: "Hi" }]),
      (e: unknown) => e instanceof RequestError && e.code === "invalid_messages" && e.param === "messages" && /must start with a user message/.test(e.message),
    );
  });

  test("tool calls and tool results reach the template; JSON arguments as the value they hold, other arguments as text", () => {
    // As tool-use templates (Qwen's, Llama 3.1's) write them: arguments through tojson, the result under its call's id.
    const t = new ChatTemplate(
      "{% for m in messages %}[{{ m.role }}{% if m.name %} {{ m.name }}{% endif %}]" +
        "{% if 'tool_calls' in m %}{% for c in m.tool_calls %}<{{ c.id }} {{ c.function.name }} {{ c.function.arguments | tojson }}>{% endfor %}" +
        "{% elif m.role == 'tool' %}<result of {{ m.tool_call_id }}>{{ m.content }}{% else %}{{ m.content }}{% endif %}{% endfor %}",
      tokens,
    );
    const messages: ChatMessage[] = [
      { role: "user", content: "Weather in Paris?", name: "ann" },
      {
        role: "assistant",
        content: "",
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "weather", arguments: '{"city": "Paris", "days": [1, 2]}' } },
          { id: "call_2", type: "function", function: { name: "note", arguments: "not JSON" } },
        ],
      },
      { role: "tool", content: "18 °C", tool_call_id: "call_1", name: "weather" },
    ];
    assert.equal(
      t.render(messages),
      '[user ann]Weather in Paris?[assistant]<call_1 weather {"city": "Paris", "days": [1, 2]}><call_2 note "not JSON">[tool weather]<result of call_1>18 °C',
    );
  });

  test("a template that does not parse says so when the engine loads it", () => {
    assert.throws(() => new ChatTemplate("{% for m in messages %}", tokens), /chat template does not parse/);
  });
});
