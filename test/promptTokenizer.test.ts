/**
 * The tokenizer thread (src/agent/PromptTokenizer.ts) stopped while it is
 * inside llama.cpp's tokenizer: terminating a thread in that native call
 * aborted the whole process (an uncaught Napi::Error, exit 134), and so did
 * ending it with its model still loaded. Run in a
 * child process, so that an abort fails the test instead of the test runner.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { tinyModelPath } from "./helpers/tinyModel.js";

const TOKENIZER = pathToFileURL(join(import.meta.dirname, "..", "src", "agent", "PromptTokenizer.js")).href;

/** Starts the thread, gives it a 2 MB prompt, and disposes of it a few ms later, three times. */
const SCRIPT = `
const { PromptTokenizer } = await import(process.env.TOKENIZER);
const keep = setInterval(() => {}, 1000);
const text = "word ".repeat(400000);
for (let i = 0; i < 3; i++) {
  const t = new PromptTokenizer(() => [1], process.env.MODEL, 16);
  if (!(await t.warm())) throw new Error("the tokenizer thread did not start");
  const outcome = t.tokenize(text, false).then(() => "tokens", (e) => e.message);
  await new Promise((r) => setTimeout(r, 5 + i * 23));
  await t.dispose();
  console.log(await outcome);
}
clearInterval(keep);
`;

/** Runs `source` as a module in a child process (a file, not --eval: the worker thread inherits the process's flags, and --input-type is refused there). */
async function runScript(source: string): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const env = { ...process.env, TOKENIZER, MODEL: await tinyModelPath() };
  const dir = await mkdtemp(join(tmpdir(), "llm-serving-tokenizer-"));
  const script = join(dir, "script.mjs");
  await writeFile(script, source);
  return new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) =>
    execFile(process.execPath, [script], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number; signal?: string }) | null;
      resolve({ code: e ? (e.code ?? null) : 0, signal: e?.signal ?? null, stdout, stderr });
    }),
  ).finally(() => rm(dir, { recursive: true, force: true }));
}

describe("the tokenizer thread", () => {
  it("is disposed of in the middle of a long prompt without taking the process down", async () => {
    const { code, signal, stdout, stderr } = await runScript(SCRIPT);
    assert.equal(signal, null, stderr);
    assert.equal(code, 0, stderr);
    // Each long prompt was either done before the dispose or refused by it: never lost.
    const outcomes = stdout.trim().split("\n");
    assert.equal(outcomes.length, 3);
    for (const o of outcomes) assert.match(o, /^(tokens|the engine is shutting down)$/);
  });

  it("is disposed of while it loads the vocabulary, with a long prompt waiting for it", async () => {
    const { code, signal, stdout, stderr } = await runScript(`
const { PromptTokenizer } = await import(process.env.TOKENIZER);
const keep = setInterval(() => {}, 1000);
const text = "word ".repeat(400000);
for (let i = 0; i < 4; i++) {
  const t = new PromptTokenizer(() => [1], process.env.MODEL, 16);
  const outcome = t.tokenize(text, false).then(() => "tokens", (e) => e.message);
  await new Promise((r) => setTimeout(r, 1 + i * 60));
  await t.dispose();
  console.log(await outcome);
}
clearInterval(keep);
`);
    assert.equal(signal, null, stderr);
    assert.equal(code, 0, stderr);
    const outcomes = stdout.trim().split("\n");
    assert.equal(outcomes.length, 4);
    for (const o of outcomes) assert.match(o, /^(tokens|the engine is shutting down)$/);
  });

  // The thread is unref'd while idle so that it never holds a CLI open; waiting for it to start must hold the process all the same.
  it("keeps the process alive while warm() waits for it to start", async () => {
    const { code, signal, stdout, stderr } = await runScript(`
const { PromptTokenizer } = await import(process.env.TOKENIZER);
const t = new PromptTokenizer(() => [1], process.env.MODEL, 16);
console.log("warm:", await t.warm());
await t.dispose();
console.log("disposed");
`);
    assert.equal(signal, null, stderr);
    assert.equal(code, 0, stderr);
    assert.equal(stdout, "warm: true\ndisposed\n");
  });
});
