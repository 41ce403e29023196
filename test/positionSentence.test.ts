import assert from "node:assert/strict";
import { test } from "node:test";
import { positionSentence } from "../src/analysis/serverSection.js";

const groups = (means: number[]) => means.map((meanMs, i) => ({ from: 2 + 8 * i, to: 9 + 8 * i, steps: 40, meanMs }));

test("the step time by position is called a trend only when the groups go one way", () => {
  // Found by a new user: "falls … a warmer cache" over a table that went 30, 46, 41, 15.
  const upAndDown = positionSentence(groups([30.44, 46.04, 41.62, 15.07]));
  assert.match(upAndDown, /falls from 30\.440 ms at positions 2–9 to 15\.070 ms at 26–33 \(-50\.5 %\)\. Not steadily, though: between them it runs from 15\.070 to 46\.040 ms/);
  assert.doesNotMatch(upAndDown, /warmer cache/);
  assert.match(positionSentence(groups([30, 25, 20, 15])), /It falls with the position: long requests' later steps were cheaper/);
  assert.match(positionSentence(groups([10, 11, 12.5, 14])), /A step attends to every token before it/);
  assert.match(positionSentence(groups([10, 10.4, 10.2, 10.5])), /changes by 10 % or less/);
});
