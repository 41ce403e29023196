import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Agent } from "../src/agent/Agent.js";
import { IncrementalDetokenizer } from "../src/master/IncrementalDetokenizer.js";
import { StopStrings } from "../src/master/StopStrings.js";
import { loadTinyAgent } from "./helpers/tinyModel.js";

let agent: Agent;
before(async () => {
  agent = await loadTinyAgent({ rows: 1, contextSize: 256, warmup: false });
});
after(async () => {
  await agent.dispose();
});

/** Feeds `tokens` one at a time; returns the deltas (flushed at the end). */
function stream(tokens: number[], context: number[] = []): string[] {
  const d = new IncrementalDetokenizer((t) => agent.detokenize(t), context);
  const deltas = tokens.map((t) => d.push(t));
  deltas.push(d.flush());
  return deltas;
}

describe("incremental detokenization", () => {
  for (const text of ["你好，世界！这是一个测试。", "emoji 🙂👍🏽 family 👩‍👩‍👧 flag 🇫🇷", "mixed: naïve café – ∑ 𝔘 ok", " leading space and  double  spaces"]) {
    test(`never splits a UTF-8 character: ${JSON.stringify(text)}`, () => {
      const tokens = agent.tokenize(text);
      assert.ok(tokens.length > 3);
      const deltas = stream(tokens);
      for (const d of deltas) assert.ok(!d.includes("\uFFFD"), `delta ${JSON.stringify(d)} holds a broken character`);
      assert.equal(deltas.join(""), text);
    });
  }

  test("keeps SentencePiece's leading space when it follows the prompt", () => {
    const prompt = [1, ...agent.tokenize("the prompt")];
    const output = agent.tokenize("continues here"); // "▁continues▁here": a word-initial piece
    const whole = agent.detokenize([...prompt, ...output]);
    assert.equal(stream(output, prompt).join(""), whole.slice(agent.detokenize(prompt).length));
    assert.equal(stream(output, prompt).join(""), " continues here");
  });

  test("the last token's text is never dropped, complete or not", () => {
    const tokens = agent.tokenize("end🙂");
    const cut = tokens.slice(0, -1); // the emoji's last byte is missing
    const deltas = stream(cut);
    assert.equal(deltas.slice(0, -1).join(""), "end", "the incomplete character is held back while streaming");
    assert.ok(deltas.at(-1)!.length > 0, "and flushed at the end");
  });

  test("invalid byte runs are not held back forever", () => {
    const bytes = [0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa].map((b) => 3 + b); // byte-fallback tokens <0xFF>…
    const deltas = stream([...bytes, ...agent.tokenize(" ok")]);
    assert.ok(deltas.slice(0, 5).some((d) => d.length > 0), "released after at most 4 tokens");
    assert.ok(deltas.join("").endsWith(" ok"));
  });
});

describe("stop strings", () => {
  const s = new StopStrings(["STOP", "\n\n", "end."]);

  test("finds the earliest stop string", () => {
    assert.deepEqual(s.find("abc end. and STOP", 0), { index: 4, stop: "end." });
    assert.equal(s.find("nothing here", 0), undefined);
    assert.deepEqual(s.find("a\n\nb", 1), { index: 1, stop: "\n\n" });
  });

  test("holds back exactly what could still become a stop string", () => {
    assert.equal(s.heldBack("some text ST", 0), 2);
    assert.equal(s.heldBack("some text STO", 0), 3);
    assert.equal(s.heldBack("line\n", 0), 1);
    assert.equal(s.heldBack("the en", 0), 2);
    assert.equal(s.heldBack("nothing", 0), 0);
    assert.equal(s.heldBack("xxS", 2), 1);
    assert.equal(s.heldBack("xST", 2), 0, "only text after `from` counts");
  });
});
