import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { HTTP_POINTS, REQUEST_DURATIONS, REQUEST_POINTS, REQUEST_SPANS, STEP_POINTS, STEP_SPANS } from "../src/timing/points.js";

const doc = await readFile(join(import.meta.dirname, "..", "..", "docs", "timing.md"), "utf8");

/** The backticked cells of each row of the table under `heading`. */
function table(heading: string): string[][] {
  const section = doc.split(/^## /m).find((s) => s.startsWith(`${heading}\n`));
  assert.ok(section, `docs/timing.md has a "## ${heading}" section`);
  return section
    .split("\n")
    .filter((line) => /^\| `/.test(line))
    .map((line) => line.split("|").slice(1, -1).map((cell) => cell.trim().match(/^`([^`]+)`$/)?.[1] ?? cell.trim()));
}

test("docs/timing.md and the code name the same step points, in the same order", () => {
  assert.deepEqual(table("Step time points").map((row) => row[0]), [...STEP_POINTS]);
});

test("docs/timing.md and the code define the same step spans", () => {
  assert.deepEqual(table("Step spans").map((row) => row.slice(0, 3)), STEP_SPANS.map((s) => [s.name, s.from, s.to]));
});

test("docs/timing.md and the code name the same request points", () => {
  assert.deepEqual(table("Request time points").map((row) => row[0]), [...REQUEST_POINTS]);
});

test("docs/timing.md and the code name the same HTTP points", () => {
  assert.deepEqual(table("HTTP time points").map((row) => row[0]), [...HTTP_POINTS]);
});

test("docs/timing.md and the code name the same request spans, in order", () => {
  assert.deepEqual(table("Request spans").map((row) => row[0]), [...REQUEST_SPANS]);
});

test("docs/timing.md defines every request duration the code computes", () => {
  assert.deepEqual(table("Request durations").map((row) => row[0]), [...REQUEST_DURATIONS]);
});
