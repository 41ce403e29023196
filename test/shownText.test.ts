import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { cutText, quotedText } from "../src/text/shownText.js";

test("cutText keeps short text, cuts long text with an ellipsis, and never halves a character", () => {
  assert.equal(cutText("abc", 3), "abc");
  assert.equal(cutText("abcd", 3), "abc…");
  // "😀" is two UTF-16 units: cutting after its first would leave half a character.
  assert.equal(cutText("ab😀cd", 3), "ab…");
  assert.equal(cutText("ab😀cd", 4), "ab😀…");
  fc.assert(
    fc.property(fc.string({ unit: "grapheme-composite" }), fc.integer({ min: 1, max: 40 }), (text, max) => {
      const cut = cutText(text, max);
      assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(cut), "no lone surrogate");
      if (text.length <= max) assert.equal(cut, text);
      else assert.ok(cut.endsWith("…") && text.startsWith(cut.slice(0, -1)) && cut.length <= max + 1);
    }),
  );
});

test("quotedText is one line that a terminal does not act on", () => {
  assert.equal(quotedText("a\nb\u0085c\u2028d\u009b", 80), String.raw`"a\nb\u0085c\u2028d\u009b"`);
  assert.equal(quotedText("x".repeat(100), 5), `"xxxxx…"`);
});
