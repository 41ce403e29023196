/**
 * The GGUF check a model file passes before llama.cpp reads it: sound models
 * pass; truncated files, corrupted lengths, counts and types, and random
 * corruption are refused with a message saying where, never a hang or a
 * crash; files llama.cpp reads that our maker does not write pass too.
 */
import assert from "node:assert/strict";
import { copyFile, mkdtemp, open, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { assertGgufFile, ModelFileError } from "../src/model/ggufFile.js";
import { makeModel } from "../src/model/SyntheticModel.js";
import { runCli } from "./helpers/cli.js";

let dir: string;
/** Pristine tiny models, one per dtype; tests corrupt copies. */
const tiny: Record<string, string> = {};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "llm-serving-gguf-"));
  for (const dtype of ["F32", "F16", "Q8_0"] as const) {
    tiny[dtype] = join(dir, `tiny-${dtype}.gguf`);
    await makeModel({ preset: "tiny", dtype, seed: 0, out: tiny[dtype] });
  }
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The check must refuse `path` with a ModelFileError whose message names the file and matches `message`. */
async function assertRefused(path: string, message: RegExp): Promise<string> {
  let caught: unknown;
  try {
    await assertGgufFile(path);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ModelFileError, `${basename(path)} should be refused with a ModelFileError, got ${String(caught)}`);
  assert.ok(caught.message.includes(path), `the message names the file: ${caught.message}`);
  assert.match(caught.message, message);
  assert.doesNotMatch(caught.message, /\n/);
  return caught.message;
}

/** Offset of the u64 length in front of `text` stored as a GGUF string (not as part of a longer one). */
function stringAt(buf: Buffer, text: string, from = 0): number {
  const bytes = Buffer.from(text);
  for (let i = buf.indexOf(bytes, from); i >= 0; i = buf.indexOf(bytes, i + 1)) {
    if (i >= 8 && buf.readBigUInt64LE(i - 8) === BigInt(bytes.length)) return i - 8;
  }
  throw new Error(`no GGUF string ${text}`);
}

/** Offset of the value type of metadata key `key`. */
function valueTypeAt(buf: Buffer, key: string): number {
  return stringAt(buf, key) + 8 + Buffer.byteLength(key);
}

/** Offset of the dimension count of tensor `name`. */
function dimsAt(buf: Buffer, name: string): number {
  return stringAt(buf, name) + 8 + Buffer.byteLength(name);
}

let copies = 0;
/** A copy of a pristine model with `mutate` applied to its bytes. */
async function corrupted(source: string, mutate: (buf: Buffer) => void): Promise<string> {
  const buf = await readFile(source);
  mutate(buf);
  const path = join(dir, `corrupt-${copies++}.gguf`);
  await writeFile(path, buf);
  return path;
}

describe("the corrupt file from the issue", () => {
  let bad: string;
  before(async () => {
    bad = join(dir, "bad.gguf");
    await writeFile(bad, Buffer.concat([Buffer.from("GGUF"), Buffer.from([3, 0, 0, 0]), Buffer.from("garbage")]));
  });

  test("is refused within 2 s with a message naming the file and what is wrong", async () => {
    const started = performance.now();
    await assertRefused(bad, /is not a valid GGUF file: the file ends inside the tensor and metadata key counts \(offset 8: 16 bytes needed, 7 left\)/);
    assert.ok(performance.now() - started < 2000);
  });

  test("makes the CLI exit with one line instead of spinning", { timeout: 60_000 }, async () => {
    const r = await runCli(["generate", "--model", bad, "--prompt", "x"]);
    assert.equal(r.signal, null, `the CLI was killed after ${r.ms.toFixed(0)} ms: it hung`);
    assert.equal(r.code, 1);
    assert.match(r.stderr.trim(), /^error: \S*bad\.gguf is not a valid GGUF file: [^\n]+$/);
  });
});

describe("sound models pass", () => {
  for (const dtype of ["F32", "F16", "Q8_0"]) {
    test(`tiny ${dtype}`, async () => {
      const summary = await assertGgufFile(tiny[dtype]);
      assert.equal(summary.version, 3);
      assert.equal(summary.tensorCount, 39);
      assert.equal(summary.keyCount, 25);
      assert.equal(summary.alignment, 32);
      assert.equal(summary.dataStart + summary.dataBytes, (await stat(tiny[dtype])).size);
    });
  }
});

describe("a truncated model is refused wherever it is cut, and never hangs", () => {
  test("cut in the header, the metadata, the tensor infos and the data", { timeout: 60_000 }, async () => {
    const source = tiny.Q8_0;
    const buf = await readFile(source);
    const { dataStart } = await assertGgufFile(source);
    const tokens = valueTypeAt(buf, "tokenizer.ggml.tokens");
    const firstTensor = stringAt(buf, "token_embd.weight");
    const cuts = new Set<number>();
    for (let i = 0; i <= 80; i++) cuts.add(i); // magic, version, counts, the first keys
    for (let i = tokens - 4; i <= tokens + 40; i++) cuts.add(i); // the vocabulary's array header and first strings
    for (let i = 0; i < dataStart; i += 97) cuts.add(i); // all through the metadata and the tensor infos
    for (let i = firstTensor - 2; i <= firstTensor + 60; i++) cuts.add(i); // the first tensor info, field by field
    for (const at of [dataStart - 1, dataStart, dataStart + 1, dataStart + 1000, Math.floor(buf.length / 2), buf.length - 1]) cuts.add(at);
    const path = join(dir, "truncated.gguf");
    await copyFile(source, path);
    // From the longest cut down, so that one copy serves every cut.
    for (const cut of [...cuts].sort((a, b) => b - a)) {
      await truncate(path, cut);
      const started = performance.now();
      const message = await assertRefused(path, /is not a GGUF model file|ends inside|runs? past the end of the file|more than fit in its \d+ bytes|should start at offset/);
      assert.ok(performance.now() - started < 2000, `cut at ${cut}: ${message}`);
    }
  });
});

/** Writes a u64 at `at`. */
const u64 = (value: bigint, at: number) => (buf: Buffer) => void buf.writeBigUInt64LE(value, at);
const u32 = (value: number, at: number) => (buf: Buffer) => void buf.writeUInt32LE(value, at);

describe("corrupted lengths, counts and types are refused, saying where", () => {
  const cases: Array<[string, (buf: Buffer) => void, RegExp]> = [
    ["a huge tensor count", u64(7089063228493062758n, 8), /the header claims 7089063228493062758 tensors, more than fit in its \d+ bytes/],
    ["a huge metadata key count", u64(2n ** 40n, 16), /the header claims 1099511627776 metadata keys, more than fit/],
    ["a huge key length", u64(2n ** 64n - 1n, 24), /metadata key 0: a key of 18446744073709551615 bytes runs past the end of the file \(length at offset 24, \d+ bytes left\)/],
    ["an empty key", u64(0n, 24), /metadata key 0: an empty key \(offset 24\)/],
    ["a huge string value", (b) => u64(4294967295n, valueTypeAt(b, "general.architecture") + 4)(b), /metadata key 0 \("general.architecture"\): a string of 4294967295 bytes runs past the end of the file \(length at offset \d+/],
    ["a huge first token", (b) => u64(2n ** 62n, valueTypeAt(b, "tokenizer.ggml.tokens") + 16)(b), /metadata key 17 \("tokenizer.ggml.tokens"\), element 0: a string of 4611686018427387904 bytes runs past the end/],
    ["a huge 500th token", (b) => u64(4294967295n, nthTokenAt(b, 500))(b), /metadata key 17 \("tokenizer.ggml.tokens"\), element 500: a string of 4294967295 bytes runs past the end/],
    ["a token longer than the rest of the file by one byte", (b) => u64(BigInt(b.length - nthTokenAt(b, 1000) - 7), nthTokenAt(b, 1000))(b), /element 1000: a string of \d+ bytes runs past the end/],
    ["a huge vocabulary", (b) => u64(2n ** 63n, valueTypeAt(b, "tokenizer.ggml.tokens") + 8)(b), /metadata key 17 \("tokenizer.ggml.tokens"\): an array of 9223372036854775808 strings \(at least \d+ bytes\) runs past the end of the file \(count at offset \d+/],
    ["a huge score array", (b) => u64(2n ** 32n, valueTypeAt(b, "tokenizer.ggml.scores") + 8)(b), /metadata key 18 \("tokenizer.ggml.scores"\): an array of 4294967296 f32 values \(at least 17179869184 bytes\) runs past the end/],
    ["an unknown value type", (b) => u32(13, valueTypeAt(b, "general.file_type"))(b), /metadata key 3 \("general.file_type"\): unknown value type 13 \(offset \d+; GGUF value types are 0–12\)/],
    ["an unknown array element type", (b) => u32(99, valueTypeAt(b, "tokenizer.ggml.tokens") + 4)(b), /metadata key 17 \("tokenizer.ggml.tokens"\): unknown array element type 99/],
    ["an alignment that is not a power of 2", (b) => u32(48, valueTypeAt(b, "general.alignment") + 4)(b), /metadata key 2 \("general.alignment"\): an alignment of 48, not a power of 2/],
    ["an alignment of another type", (b) => u32(5, valueTypeAt(b, "general.alignment"))(b), /metadata key 2 \("general.alignment"\): must be a u32, not i32/],
    ["a duplicate key", (b) => void b.write("general.alignment", stringAt(b, "general.file_type") + 8), /metadata key 3: duplicate key "general.alignment" \(also key 2\)/],
    ["an unknown tensor type", (b) => u32(99, dimsAt(b, "token_embd.weight") + 4 + 16)(b), /tensor 0 \("token_embd.weight"\): unknown ggml type 99 \(offset \d+; llama.cpp knows types 0–42\)/],
    ["a tensor type llama.cpp removed", (b) => u32(31, dimsAt(b, "token_embd.weight") + 4 + 16)(b), /tensor 0 \("token_embd.weight"\): ggml type 31 \(Q4_0_4_4\), which llama.cpp no longer reads/],
    ["9 dimensions", (b) => u32(9, dimsAt(b, "token_embd.weight"))(b), /tensor 0 \("token_embd.weight"\): 9 dimensions, more than ggml's 4 \(offset \d+\)/],
    ["a negative dimension", (b) => u64(2n ** 64n - 5n, dimsAt(b, "token_embd.weight") + 4)(b), /tensor 0 \("token_embd.weight"\): dimension 0 is -5, negative/],
    ["a shape too big to count", (b) => u64(2n ** 62n, dimsAt(b, "token_embd.weight") + 12)(b), /tensor 0 \("token_embd.weight"\): a shape of \[256, 4611686018427387904\] has more elements than ggml can count/],
    ["rows that are not whole blocks", (b) => u64(250n, dimsAt(b, "token_embd.weight") + 4)(b), /tensor 0 \("token_embd.weight"\): rows of 250 values are not whole Q8_0 blocks of 32/],
    ["a tensor name longer than llama.cpp takes", (b) => u64(64n, stringAt(b, "token_embd.weight"))(b), /tensor 0: a name of 64 bytes, longer than llama.cpp's 63/],
    ["a huge tensor name", (b) => u64(2n ** 50n, stringAt(b, "token_embd.weight"))(b), /tensor 0: a name of 1125899906842624 bytes runs past the end of the file/],
    ["a duplicate tensor name", (b) => void b.write("blk.0.attn_k.weight", stringAt(b, "blk.0.attn_q.weight") + 8), /tensor 3: duplicate tensor name "blk.0.attn_k.weight" \(also tensor 2\)/],
    ["a tensor out of place", (b) => u64(BigInt(b.readBigUInt64LE(dimsAt(b, "blk.0.attn_norm.weight") + 4 + 8 + 4)) + 32n, dimsAt(b, "blk.0.attn_norm.weight") + 4 + 8 + 4)(b), /tensor 1 \("blk.0.attn_norm.weight"\): its data is at \d+ in the data section, where llama.cpp expects \d+/],
    ["a last tensor bigger than the file", (b) => u64(1024n * 1024n, dimsAt(b, "output.weight") + 12)(b), /tensor 38 \("output.weight"\): its \d+ bytes of Q8_0 data at offset \d+ run past the end of the file \(\d+ bytes\)/],
  ];
  for (const [name, mutate, message] of cases) {
    test(name, async () => {
      await assertRefused(await corrupted(tiny.Q8_0, mutate), message);
    });
  }

  test("a big-endian file gets a hint; other versions and a missing magic keep their messages", async () => {
    await assertRefused(await corrupted(tiny.Q8_0, u32(0x03000000, 4)), /is GGUF version 50331648 \(a big-endian file\?[^)]*\); llama.cpp reads versions 2 and 3$/);
    await assertRefused(await corrupted(tiny.Q8_0, u32(1, 4)), /is GGUF version 1; llama.cpp reads versions 2 and 3$/);
    await assertRefused(await corrupted(tiny.Q8_0, u32(4, 4)), /is GGUF version 4; llama.cpp reads versions 2 and 3$/);
    await assertRefused(await corrupted(tiny.Q8_0, (b) => void b.write("GGML", 0)), /is not a GGUF model file \(no GGUF magic at its start\)$/);
  });
});

/** Offset of the length of token `n` in the vocabulary. */
function nthTokenAt(buf: Buffer, n: number): number {
  let at = valueTypeAt(buf, "tokenizer.ggml.tokens") + 16;
  for (let i = 0; i < n; i++) at += 8 + Number(buf.readBigUInt64LE(at));
  return at;
}

/** A minimal GGUF writer for layouts our model maker does not produce: every value type, nesting, other tensor types. */
class GgufBytes {
  private parts: Buffer[] = [];
  private length = 0;

  push(b: Buffer): this {
    this.parts.push(b);
    this.length += b.length;
    return this;
  }

  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    return this.push(b);
  }

  u64(v: bigint | number): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    return this.push(b);
  }

  str(s: string): this {
    return this.u64(Buffer.byteLength(s)).push(Buffer.from(s));
  }

  pad(alignment: number): this {
    return this.push(Buffer.alloc((alignment - (this.length % alignment)) % alignment));
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

interface HandTensor {
  name: string;
  dims: number[];
  type: number;
  bytes: number;
}

/** A GGUF file with raw key/value bytes (key, then type and value) and tensors laid out as llama.cpp expects. */
function handMade(keyValues: Array<(g: GgufBytes) => void>, tensors: HandTensor[] = [], { version = 3, alignment = 32, cutData = 0 } = {}): Buffer {
  const g = new GgufBytes().push(Buffer.from("GGUF")).u32(version).u64(tensors.length).u64(keyValues.length);
  for (const kv of keyValues) kv(g);
  let offset = 0;
  for (const t of tensors) {
    g.str(t.name).u32(t.dims.length);
    for (const d of t.dims) g.u64(d);
    g.u32(t.type).u64(offset);
    offset += Math.ceil(t.bytes / alignment) * alignment;
  }
  if (tensors.length > 0) g.pad(alignment);
  tensors.forEach((t, i) => {
    g.push(Buffer.alloc(t.bytes, 0x11));
    if (i < tensors.length - 1) g.pad(alignment);
  });
  const out = g.bytes();
  return out.subarray(0, out.length - cutData);
}

/** Scalars of every fixed-size value type: [type, bytes]. */
const SCALARS: Array<[number, number]> = [
  [0, 1],
  [1, 1],
  [2, 2],
  [3, 2],
  [4, 4],
  [5, 4],
  [6, 4],
  [7, 1],
  [10, 8],
  [11, 8],
  [12, 8],
];

async function writeTemp(name: string, bytes: Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

describe("files llama.cpp reads that our model maker does not write", () => {
  test("every value type, arrays of each, empty arrays, a custom alignment, version 2 and 3", async () => {
    const kvs: Array<(g: GgufBytes) => void> = [(g) => void g.str("general.alignment").u32(4).u32(64)];
    for (const [type, size] of SCALARS) {
      kvs.push((g) => void g.str(`scalar.${type}`).u32(type).push(Buffer.alloc(size, 1)));
      kvs.push((g) => void g.str(`array.${type}`).u32(9).u32(type).u64(3).push(Buffer.alloc(3 * size, 1)));
    }
    kvs.push((g) => void g.str("string").u32(8).str("héllo ▁ 🙂"));
    kvs.push((g) => void g.str("strings").u32(9).u32(8).u64(3).str("").str("a").str("bc"));
    kvs.push((g) => void g.str("empty.strings").u32(9).u32(8).u64(0));
    kvs.push((g) => void g.str("empty.u8s").u32(9).u32(0).u64(0));
    const tensors = [
      { name: "a", dims: [32, 2], type: 0, bytes: 256 },
      { name: "b", dims: [64], type: 1, bytes: 128 },
    ];
    for (const version of [2, 3]) {
      const summary = await assertGgufFile(await writeTemp(`all-types-v${version}.gguf`, handMade(kvs, tensors, { version, alignment: 64 })));
      assert.deepEqual(summary, { version, tensorCount: 2, keyCount: kvs.length, alignment: 64, dataStart: summary.dataStart, dataBytes: 64 * 4 + 128 });
      assert.equal(summary.dataStart % 64, 0);
    }
  });

  test("keys that differ only in bytes that are not UTF-8 are different keys, as llama.cpp compares bytes", async () => {
    const raw = (bytes: number[]) => (g: GgufBytes) => void g.u64(bytes.length).push(Buffer.from(bytes)).u32(4).u32(1);
    const summary = await assertGgufFile(await writeTemp("not-utf8.gguf", handMade([raw([0x61, 0xfe]), raw([0x61, 0xff])])));
    assert.equal(summary.keyCount, 2);
  });

  test("no tensors at all (a vocabulary-only file), the header unpadded", async () => {
    const summary = await assertGgufFile(await writeTemp("vocab-only.gguf", handMade([(g) => void g.str("k").u32(4).u32(1)])));
    assert.equal(summary.tensorCount, 0);
    assert.equal(summary.dataStart, 24 + 8 + 1 + 4 + 4);
  });

  // [ggml type id, name, values per block, bytes per block], as llama.cpp's ggml_blck_size / ggml_type_size say.
  const types: Array<[number, string, number, number]> = [
    [30, "BF16", 1, 2],
    [2, "Q4_0", 32, 18],
    [3, "Q4_1", 32, 20],
    [6, "Q5_0", 32, 22],
    [7, "Q5_1", 32, 24],
    [9, "Q8_1", 32, 36],
    [10, "Q2_K", 256, 84],
    [11, "Q3_K", 256, 110],
    [12, "Q4_K", 256, 144],
    [13, "Q5_K", 256, 176],
    [14, "Q6_K", 256, 210],
    [15, "Q8_K", 256, 292],
    [16, "IQ2_XXS", 256, 66],
    [19, "IQ1_S", 256, 50],
    [20, "IQ4_NL", 32, 18],
    [23, "IQ4_XS", 256, 136],
    [29, "IQ1_M", 256, 56],
    [34, "TQ1_0", 256, 54],
    [39, "MXFP4", 32, 17],
  ];
  for (const [id, name, block, blockBytes] of types) {
    test(`a ${name} tensor passes with its exact size and is refused one byte short`, async () => {
      const tensor = { name: "w", dims: [block * 2, 3], type: id, bytes: 2 * 3 * blockBytes };
      await assertGgufFile(await writeTemp(`${name}.gguf`, handMade([], [tensor])));
      await assertRefused(await writeTemp(`${name}-short.gguf`, handMade([], [tensor], { cutData: 1 })), new RegExp(`tensor 0 \\("w"\\): its ${tensor.bytes} bytes of ${name} data at offset \\d+ run past the end of the file`));
    });
  }

  test("an array of arrays is walked, then refused since llama.cpp does not read it", async () => {
    const nested = (g: GgufBytes): void => void g.str("nested").u32(9).u32(9).u64(2).u32(4).u64(1).u32(7).u32(8).u64(1).str("x");
    await assertRefused(await writeTemp("nested.gguf", handMade([nested])), /metadata key 0 \("nested"\): an array of arrays \(offset 42\), which llama.cpp does not read/);
    const truncatedInside = (g: GgufBytes): void => void g.str("nested").u32(9).u32(9).u64(2).u32(4).u64(1).u32(7).u32(8).u64(1).u64(99);
    await assertRefused(await writeTemp("nested-cut.gguf", handMade([truncatedInside])), /metadata key 0 \("nested"\), element 1, element 0: a string of 99 bytes runs past the end/);
  });

  test("arrays nested too deep are refused without recursing further", async () => {
    const deep = (g: GgufBytes): void => {
      g.str("deep").u32(9);
      for (let i = 0; i < 12; i++) g.u32(9).u64(1);
      g.u32(0).u64(0);
    };
    await assertRefused(await writeTemp("deep.gguf", handMade([deep])), /arrays nested more than 8 deep/);
  });
});

describe("random corruption", () => {
  /** Applies `patch` at `at` to `path`, checks it, and restores the bytes. */
  async function checkPatched(path: string, at: number, patch: Uint8Array): Promise<"passed" | "refused"> {
    const file = await open(path, "r+");
    const original = Buffer.alloc(patch.length);
    try {
      await file.read(original, 0, patch.length, at);
      await file.write(patch, 0, patch.length, at);
      try {
        await assertGgufFile(path);
        return "passed";
      } catch (err) {
        assert.ok(err instanceof ModelFileError, `a ${patch.length}-byte patch at ${at} threw ${String(err)}`);
        assert.doesNotMatch(err.message, /\n/);
        return "refused";
      }
    } finally {
      await file.write(original, 0, original.length, at);
      await file.close();
    }
  }

  test("any bytes written anywhere in the header are either accepted or refused with a ModelFileError", { timeout: 120_000 }, async () => {
    const path = join(dir, "fuzzed.gguf");
    await copyFile(tiny.F16, path);
    const { dataStart } = await assertGgufFile(path);
    const outcomes = { passed: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(fc.nat(dataStart - 1), fc.uint8Array({ minLength: 1, maxLength: 8 }), async (at, patch) => {
        outcomes[await checkPatched(path, at, patch.subarray(0, Math.min(patch.length, dataStart - at)))]++;
      }),
      { seed: 20261130, numRuns: 400 },
    );
    // Most header bytes are text and float values, which may take any value; lengths and types may not.
    assert.ok(outcomes.refused > 10, `refused ${outcomes.refused}, passed ${outcomes.passed}`);
  });

  test("any length or count set past the end of the file is refused", { timeout: 120_000 }, async () => {
    const path = join(dir, "fuzzed-lengths.gguf");
    await copyFile(tiny.Q8_0, path);
    const buf = await readFile(path);
    const size = BigInt(buf.length);
    // The u64 fields whose value says how many bytes or entries follow.
    const fields = [
      8,
      16,
      24,
      valueTypeAt(buf, "general.name") + 4,
      valueTypeAt(buf, "tokenizer.ggml.tokens") + 8,
      valueTypeAt(buf, "tokenizer.ggml.scores") + 8,
      valueTypeAt(buf, "tokenizer.ggml.token_type") + 8,
      nthTokenAt(buf, 0),
      nthTokenAt(buf, 77),
      nthTokenAt(buf, 1023),
      stringAt(buf, "tokenizer.ggml.model"),
      stringAt(buf, "token_embd.weight"),
      stringAt(buf, "output.weight"),
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...fields), fc.bigInt(size, 2n ** 64n - 1n), async (at, value) => {
        const patch = Buffer.alloc(8);
        patch.writeBigUInt64LE(value);
        assert.equal(await checkPatched(path, at, patch), "refused", `u64 ${value} at ${at}`);
      }),
      { seed: 7, numRuns: 200 },
    );
  });
});
