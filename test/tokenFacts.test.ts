import assert from "node:assert/strict";
import { test } from "node:test";
import { TokenFacts, type TokenOracle } from "../src/agent/TokenFacts.js";

function counting(): TokenOracle & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    isSpecial: (t) => (asked.push(`special ${t}`), t < 3),
    isEndOfGeneration: (t) => (asked.push(`end ${t}`), t === 2),
    text: (t) => (asked.push(`text ${t}`), `<${t}>`),
  };
}

test("each fact is asked of the model once per token id, and answered the same afterwards", () => {
  const model = counting();
  const facts = new TokenFacts(10, model);
  for (let round = 0; round < 3; round++) {
    assert.equal(facts.isSpecial(2), true);
    assert.equal(facts.isSpecial(7), false);
    assert.equal(facts.isEndOfGeneration(2), true);
    assert.equal(facts.isEndOfGeneration(9), false);
    assert.equal(facts.text(0), "<0>");
    assert.equal(facts.text(9), "<9>");
  }
  assert.deepEqual(model.asked, ["special 2", "special 7", "end 2", "end 9", "text 0", "text 9"]);
});

test("ids outside the vocabulary are passed to the model every time and kept nowhere", () => {
  const model = counting();
  const facts = new TokenFacts(4, model);
  for (const id of [4, -1, 1.5, 4]) facts.isSpecial(id);
  facts.text(4);
  facts.text(4);
  assert.deepEqual(model.asked, ["special 4", "special -1", "special 1.5", "special 4", "text 4", "text 4"]);
});
