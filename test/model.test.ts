import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { Agent } from "../src/agent/Agent.js";
import { setEngineLogger } from "../src/agent/llama.js";
import { fromFloat16Bits, toFloat16Bits } from "../src/model/gguf/TensorEncoding.js";
import { assertGgufFile } from "../src/model/ggufFile.js";
import { makeModel } from "../src/model/SyntheticModel.js";
import { cli } from "./helpers/cli.js";

const run = promisify(execFile);
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "llm-serving-model-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("float16 encoding", () => {
  test("rounds to nearest even and keeps specials", () => {
    for (const [x, bits] of [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [1e6, 0x7c00],
      [Infinity, 0x7c00],
      [2 ** -24, 0x0001],
      [1 + 2 ** -11, 0x3c00], // halfway: ties to even
      [1 + 3 * 2 ** -11, 0x3c02],
    ] as const) {
      assert.equal(toFloat16Bits(x), bits, `f16(${x})`);
    }
    assert.ok(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN))));
    for (const x of [0.1, -3.75, 1234.5, 6.1e-5]) assert.ok(Math.abs(fromFloat16Bits(toFloat16Bits(x)) - x) <= Math.abs(x) * 2 ** -11);
  });
});

describe("make-model", () => {
  test("the same arguments give byte-identical files; another seed does not", async () => {
    const a = join(dir, "a.gguf");
    const b = join(dir, "b.gguf");
    const c = join(dir, "c.gguf");
    await makeModel({ preset: "tiny", dtype: "Q8_0", seed: 3, out: a });
    await makeModel({ preset: "tiny", dtype: "Q8_0", seed: 3, out: b });
    await makeModel({ preset: "tiny", dtype: "Q8_0", seed: 4, out: c });
    const [ba, bb, bc] = await Promise.all([readFile(a), readFile(b), readFile(c)]);
    assert.ok(ba.equals(bb), "same seed, same bytes");
    assert.ok(!ba.equals(bc), "another seed, other bytes");
  });

  for (const dtype of ["F32", "F16", "Q8_0"] as const) {
    test(`a ${dtype} tiny model loads without llama.cpp warnings and round-trips UTF-8`, async () => {
      const out = join(dir, `tiny-${dtype}.gguf`);
      const made = await makeModel({ preset: "tiny", dtype, seed: 0, out });
      assert.ok(made.parameters > 3e6 && made.parameters < 5e6, `tiny has ${made.parameters} parameters`);
      const header = await assertGgufFile(out);
      assert.equal(header.dataStart + header.dataBytes, made.bytes, "the header's tensors end where the file does");
      const warnings: string[] = [];
      setEngineLogger((level, message) => {
        if (level === "warn" || level === "error") warnings.push(message);
      });
      const agent = await Agent.load({ modelPath: out, rows: 2, contextSize: 256 });
      try {
        assert.deepEqual(warnings, []);
        assert.equal(agent.info.synthetic, true);
        assert.equal(agent.info.preset, "tiny");
        assert.equal(agent.info.vocabSize, 1024);
        assert.equal(agent.info.eosToken, 2);
        for (const text of ["Hello, world!", " two  spaces\tand\ttabs\n", "你好，世界", "emoji 🙂👍🏽 and ZWJ 👩‍👩‍👧", "Ünïcödé ß ∑ 𝔘"]) {
          assert.equal(agent.detokenize(agent.tokenize(text)), text);
        }
      } finally {
        setEngineLogger(() => undefined);
        await agent.dispose();
      }
    });
  }
});

describe("make-model CLI rejects bad input and leaves no file behind", () => {
  const cases: Array<[string, string[], RegExp]> = [
    ["unknown preset", ["--preset", "huge"], /unknown preset "huge"/],
    ["unknown dtype", ["--dtype", "Q4_K"], /unknown dtype "Q4_K"/],
    ["bad seed", ["--seed", "-1"], /--seed must be in/],
  ];
  for (const [name, args, message] of cases) {
    test(name, async () => {
      const out = join(dir, `${name.replace(/ /g, "-")}.gguf`);
      await assert.rejects(run(process.execPath, [cli, "make-model", ...args, "--out", out]), (err: { code: number; stderr: string }) => {
        assert.notEqual(err.code, 0);
        assert.match(err.stderr, message);
        return true;
      });
      assert.deepEqual((await readdir(dir)).filter((f) => f.includes(name.replace(/ /g, "-"))), []);
    });
  }

  test("unwritable path", async () => {
    const out = join(dir, "missing-folder", "m.gguf");
    await assert.rejects(run(process.execPath, [cli, "make-model", "--out", out]), (err: { code: number; stderr: string }) => {
      assert.notEqual(err.code, 0);
      assert.match(err.stderr, /cannot write .*m\.gguf: its folder does not exist/);
      return true;
    });
  });

  test("a model file that is not GGUF", async () => {
    const bogus = join(dir, "bogus.gguf");
    await writeFile(bogus, "this is not a model\n");
    await assert.rejects(run(process.execPath, [cli, "generate", "--model", bogus, "--prompt", "hi"]), (err: { code: number; stderr: string }) => {
      assert.notEqual(err.code, 0);
      assert.match(err.stderr, /is not a GGUF model file/);
      return true;
    });
  });

  test("no temporary files are left in the output folder", async () => {
    assert.deepEqual((await readdir(dir)).filter((f) => f.endsWith(".tmp")), []);
  });
});
