import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { readClientRecords, writeClientRecords } from "../src/bench/clientRecords.js";
import type { ClientRecord } from "../src/bench/LoadClient.js";
import { clientRecordJsonSchema } from "../src/bench/recordSchema.js";

const docs = join(import.meta.dirname, "..", "..", "docs", "client-record.schema.json");

const record: ClientRecord = {
  id: "r1",
  index: 0,
  planned: NaN,
  sent: 1,
  headers: 2,
  firstByte: 3,
  chunks: [3, 4],
  tokens: [3, 4],
  end: 5,
  status: 200,
  outputTokens: 2,
  maxTokens: 2,
  promptChars: 5,
  stream: true,
  protocol: "tgi",
  backend: { source: "tgi", inferenceMs: 3, raw: { "x-inference-time": "3" } },
};

test("docs/client-record.schema.json is the schema analyze checks records with", async () => {
  assert.deepEqual(JSON.parse(await readFile(docs, "utf8")), clientRecordJsonSchema(), "regenerate it: node -e \"import('./dist/src/bench/recordSchema.js').then(m => console.log(JSON.stringify(m.clientRecordJsonSchema(), null, 2)))\" > docs/client-record.schema.json");
});

test("records round-trip (unreached points as null, read back as NaN); a record missing end or outputTokens is one error line naming the field", async () => {
  const dir = await mkdtemp(join(tmpdir(), "llm-serving-records-"));
  try {
    const file = join(dir, "records.jsonl");
    await writeClientRecords(file, [record]);
    const [back] = await readClientRecords(file);
    assert.ok(Number.isNaN(back.planned));
    assert.deepEqual({ ...back, planned: 0 }, { ...record, planned: 0 });
    for (const field of ["end", "outputTokens"] as const) {
      const { [field]: _gone, ...rest } = record;
      await writeFile(file, `${JSON.stringify(record)}\n${JSON.stringify(rest)}\n`);
      await assert.rejects(readClientRecords(file), (err: Error) => {
        assert.match(err.message, new RegExp(`records\\.jsonl:2: not a client record \\(${field}: missing`));
        assert.equal(err.message.split("\n").length, 1);
        return true;
      });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
