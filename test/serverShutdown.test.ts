import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { test } from "node:test";
import { postJson, sseData } from "./helpers/serverHarness.js";
import { tinyModelPath } from "./helpers/tinyModel.js";

const cli = join(import.meta.dirname, "..", "src", "cli", "main.js");

test("SIGTERM: in-flight requests complete, new ones are refused, the process exits 0", async () => {
  const child = spawn(process.execPath, [cli, "serve", "--model", await tinyModelPath(), "--model-name", "llama2", "--port", "0", "--rows", "2", "--context-size", "2048"], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  try {
    while (!/serving "llama2"/.test(stderr)) await once(child.stderr, "data");
    const url = stderr.match(/listening on (http:\/\/\S+)/)![1];
    const body = { inputs: "before the signal", parameters: { max_new_tokens: 1500, ignore_eos: true } };
    const responses = await Promise.all([postJson(`${url}/generate_stream`, body), postJson(`${url}/generate_stream`, body)]);
    const readers = responses.map((r) => r.body!.getReader());
    const firsts = await Promise.all(readers.map((r) => r.read()));
    child.kill("SIGTERM");
    const exited = once(child, "exit");
    const decoder = new TextDecoder();
    const texts = await Promise.all(
      readers.map(async (reader, i) => {
        let text = decoder.decode(firsts[i].value);
        for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value, { stream: true });
        return text;
      }),
    );
    for (const text of texts) {
      const events = sseData(text) as Array<{ details: { finish_reason: string; generated_tokens: number } | null }>;
      assert.equal(events.length, 1500);
      assert.deepEqual(events.at(-1)!.details, { ...events.at(-1)!.details!, finish_reason: "length", generated_tokens: 1500 });
    }
    const late = await postJson(`${url}/generate`, body).then((r) => r.status, () => "refused");
    assert.ok(late === 503 || late === "refused", `a request after SIGTERM got ${late}`);
    const [code] = await exited;
    assert.equal(code, 0);
    assert.match(stderr, /all requests finished/);
  } finally {
    child.kill("SIGKILL");
  }
});
