/**
 * The model cache and the model maker's output path: a damaged cached model
 * is made again, a cache folder that cannot be made fails fast with one line
 * naming it, and make-model --out refuses a folder, leaving nothing behind.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ensureSyntheticModel, syntheticModelPath } from "../src/model/defaultModel.js";
import { ModelFileError } from "../src/model/ggufFile.js";
import { makeModel, ModelOptionsError } from "../src/model/SyntheticModel.js";
import { runCli } from "./helpers/cli.js";

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "llm-serving-model-cache-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `body` with LLM_SERVING_CACHE set to `cache`. */
async function withCache<T>(cache: string, body: () => Promise<T>): Promise<T> {
  const saved = process.env.LLM_SERVING_CACHE;
  process.env.LLM_SERVING_CACHE = cache;
  try {
    return await body();
  } finally {
    if (saved === undefined) delete process.env.LLM_SERVING_CACHE;
    else process.env.LLM_SERVING_CACHE = saved;
  }
}

describe("a damaged cached model is made again", () => {
  test("ensureSyntheticModel makes the missing cache folders, and replaces a truncated cache file", { timeout: 60_000 }, async () => {
    const cache = join(dir, "new", "deeper", "cache");
    const o = { preset: "tiny", dtype: "Q8_0", seed: 0 } as const;
    await withCache(cache, async () => {
      const path = await ensureSyntheticModel(o);
      assert.equal(path, join(cache, "models", "synthetic-tiny-Q8_0-seed0.gguf"));
      const size = (await stat(path)).size;
      await truncate(path, 20_000);
      let remade = false;
      assert.equal(await ensureSyntheticModel(o, () => (remade = true)), syntheticModelPath(o));
      assert.ok(remade);
      assert.equal((await stat(path)).size, size);
    });
  });
});

describe("a model cache folder that cannot be made", () => {
  const onLinux = existsSync("/proc/self");

  test("fails the CLI fast with one line naming the folder", { skip: !onLinux && "needs /proc", timeout: 60_000 }, async () => {
    const r = await runCli(["generate", "--prompt", "x"], { env: { ...process.env, LLM_SERVING_CACHE: "/proc/nope/cache" } });
    assert.equal(r.signal, null, `the CLI was killed after ${r.ms.toFixed(0)} ms: it hung`);
    assert.equal(r.code, 1);
    assert.match(r.stderr.trim(), /^error: cannot create the model cache folder \/proc\/nope\/cache\/models: ENOENT[^\n]* \(set LLM_SERVING_CACHE to a writable folder\)$/);
  });

  test("fails ensureSyntheticModel with a ModelFileError", { skip: !onLinux && "needs /proc", timeout: 10_000 }, async () => {
    const started = performance.now();
    await withCache("/proc/nope/cache", () =>
      assert.rejects(ensureSyntheticModel({ preset: "tiny", dtype: "Q8_0", seed: 0 }), (err: Error) => {
        assert.ok(err instanceof ModelFileError);
        assert.match(err.message, /^cannot create the model cache folder \/proc\/nope\/cache\/models: ENOENT.*\(set LLM_SERVING_CACHE to a writable folder\)$/);
        return true;
      }),
    );
    assert.ok(performance.now() - started < 2000);
  });

  test("a file in the way is named", { timeout: 10_000 }, async () => {
    const blocker = join(dir, "a-file");
    await writeFile(blocker, "not a folder");
    await withCache(join(blocker, "cache"), () =>
      assert.rejects(ensureSyntheticModel({ preset: "tiny", dtype: "Q8_0", seed: 0 }), (err: Error) => {
        assert.ok(err instanceof ModelFileError);
        assert.match(err.message, /^cannot create the model cache folder .*a-file.cache.models: ENOTDIR.*a-file.*\(set LLM_SERVING_CACHE/);
        return true;
      }),
    );
  });
});

describe("make-model --out a folder", () => {
  test("is a one-line error that leaves nothing behind", { timeout: 60_000 }, async () => {
    const parent = join(dir, "out-parent");
    const folder = join(parent, "a-folder");
    await mkdir(folder, { recursive: true });
    const r = await runCli(["make-model", "--out", folder]);
    assert.equal(r.code, 1);
    assert.match(r.stderr.trim(), /^error: cannot write \S*a-folder: it is a folder, not a file \(give a file path such as \S*model\.gguf\)$/);
    assert.deepEqual(await readdir(parent), ["a-folder"]);
    assert.deepEqual(await readdir(folder), []);
  });

  test("makeModel refuses a folder, or a path ending in a separator, with a ModelOptionsError", async () => {
    const folder = join(dir, "out-parent-2");
    await mkdir(folder);
    for (const out of [folder, join(folder, "not-yet") + "/"]) {
      await assert.rejects(makeModel({ preset: "tiny", dtype: "Q8_0", seed: 0, out }), (err: Error) => {
        assert.ok(err instanceof ModelOptionsError);
        assert.match(err.message, /it is a folder, not a file/);
        return true;
      });
    }
    assert.deepEqual(await readdir(folder), []);
    assert.deepEqual((await readdir(dir)).filter((f) => f.endsWith(".tmp")), []);
  });
});
