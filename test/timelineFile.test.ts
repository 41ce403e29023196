import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { assertAppendable } from "../src/timing/JsonlSink.js";

test("a timelines file may be a device (/dev/null); a pipe is refused at once, named as the user gave it", async () => {
  await assertAppendable("/dev/null");
  const dir = await mkdtemp(join(tmpdir(), "llm-serving-fifo-"));
  const fifo = join(dir, "timelines");
  execFileSync("mkfifo", [fifo]);
  try {
    // Opening a pipe to write waits for a reader, on the libuv thread the decode runs on: never tried.
    await assert.rejects(assertAppendable(fifo, "timing_config.timeline_file"), { message: `timing_config.timeline_file ${fifo}: is a pipe; give a file (compress it afterwards)` });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
