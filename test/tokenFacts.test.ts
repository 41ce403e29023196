import assert from "node:assert/strict";
import { test } from "node:test";
import { TokenFacts, type TokenOracle } from "../src/agent/TokenFacts.js";
import { tokenBytes, vocabularyBytes } from "../src/agent/tokenBytes.js";

function counting(): TokenOracle & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    isSpecial: (t) => (asked.push(`special ${t}`), t < 3),
    isEndOfGeneration: (t) => (asked.push(`end ${t}`), t === 2),
    text: (t) => (asked.push(`text ${t}`), `<${t}>`),
    bytes: (t) => (asked.push(`bytes ${t}`), [t]),
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
    assert.deepEqual(facts.bytes(3), [3]);
  }
  assert.deepEqual(model.asked, ["special 2", "special 7", "end 2", "end 9", "text 0", "text 9", "bytes 3"]);
});

test("ids outside the vocabulary are passed to the model every time and kept nowhere", () => {
  const model = counting();
  const facts = new TokenFacts(4, model);
  for (const id of [4, -1, 1.5, 4]) facts.isSpecial(id);
  facts.text(4);
  facts.text(4);
  assert.deepEqual(model.asked, ["special 4", "special -1", "special 1.5", "special 4", "text 4", "text 4"]);
});

test("a token that is part of a character has the byte(s) its vocabulary spells, not U+FFFD's UTF-8", () => {
  // SentencePiece byte tokens, and byte-level BPE's spelling of bytes (GPT-2's table: "Ġ" is the space byte, "Ã" 0xC3).
  assert.deepEqual(tokenBytes("\uFFFD", "llama", "<0xE6>"), [0xe6]);
  assert.deepEqual(tokenBytes("\uFFFD", "gpt2", "Ã"), [0xc3]);
  assert.deepEqual(tokenBytes("\uFFFD", "gpt2", "ĠÃ"), [0x20, 0xc3]);
  // A whole character, and a vocabulary this does not read: the text's UTF-8.
  assert.deepEqual(tokenBytes(" the", "llama", "▁the"), [0x20, 0x74, 0x68, 0x65]);
  assert.deepEqual(tokenBytes("\uFFFD", "bert", "##x"), [0xef, 0xbf, 0xbd]);
  assert.equal(vocabularyBytes("llama", "▁the"), undefined);
});
