import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { tinyModelPath } from "./helpers/tinyModel.js";
import { cli } from "./helpers/cli.js";

const run = promisify(execFile);

test("generate streams text from a model and says when it is synthetic", async () => {
  const { stdout, stderr } = await run(process.execPath, [cli, "generate", "--model", await tinyModelPath(), "--prompt", "Hello", "--max-new-tokens", "12", "--seed", "3", "--temperature", "0.8"]);
  assert.ok(stdout.trim().length > 0, "some text was generated");
  assert.match(stderr, /SYNTHETIC model \(tiny preset, random weights\)/);
  assert.match(stderr, /finish: length; 12 tokens/);
  const again = await run(process.execPath, [cli, "generate", "--model", await tinyModelPath(), "--prompt", "Hello", "--max-new-tokens", "12", "--seed", "3", "--temperature", "0.8"]);
  assert.equal(again.stdout, stdout, "same seed, same text");
});

test("without --model, the default model is made on first use into the cache", async () => {
  const cache = await mkdtemp(join(tmpdir(), "llm-serving-cache-"));
  try {
    const env = { ...process.env, LLM_SERVING_CACHE: cache };
    const first = await run(process.execPath, [cli, "generate", "--prompt", "Hi", "--max-new-tokens", "4"], { env });
    assert.match(first.stderr, /making the built-in default model \(first use\)/);
    assert.match(first.stderr, /finish: length; 4 tokens/);
    assert.deepEqual(await readdir(join(cache, "models")), ["synthetic-small-Q8_0-seed0.gguf"]);
    const second = await run(process.execPath, [cli, "generate", "--prompt", "Hi", "--max-new-tokens", "4"], { env });
    assert.doesNotMatch(second.stderr, /making/);
    assert.equal(second.stdout, first.stdout);
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
});

test("an empty prompt is refused before the model loads; a greedy run names no seed, a sampled one does", async () => {
  const started = performance.now();
  await assert.rejects(run(process.execPath, [cli, "generate", "--model", await tinyModelPath(), "--prompt", ""]), (err: { code: number; stderr: string }) => {
    assert.equal(err.code, 1);
    assert.equal(err.stderr, "error: --prompt is empty: give the text to continue\n");
    return true;
  });
  assert.ok(performance.now() - started < 10_000);
  const greedy = await run(process.execPath, [cli, "generate", "--model", await tinyModelPath(), "--prompt", "Hello", "--max-new-tokens", "1"]);
  assert.match(greedy.stderr, /finish: length; 1 token in [\d.]+ s \([\d.]+ tokens\/s\)\n$/);
  const sampled = await run(process.execPath, [cli, "generate", "--model", await tinyModelPath(), "--prompt", "Hello", "--max-new-tokens", "2", "--temperature", "0.8", "--seed", "7"]);
  assert.match(sampled.stderr, /finish: length; 2 tokens in .*; seed 7\n$/);
});

test("bad generate options are clear errors", async () => {
  for (const [args, message] of [
    [["--max-new-tokens", "0"], /--max-new-tokens must be at least 1, got 0/],
    [["--max-new-tokens", "-3"], /--max-new-tokens must be at least 1, got -3/],
    [["--seed", "18446744073709551615"], /--seed is too large, got 18446744073709551615/],
    [["--temperature", "hot"], /--temperature must be a number/],
    [["--top-p", "0"], /top_p: must be in \(0, 1\]/],
  ] as const) {
    await assert.rejects(run(process.execPath, [cli, "generate", "--model", await tinyModelPath(), "--prompt", "x", ...args]), (err: { code: number; stderr: string }) => {
      assert.notEqual(err.code, 0);
      assert.match(err.stderr, message);
      return true;
    });
  }
});
