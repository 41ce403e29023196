/**
 * Everyday command-line errors: one line on stderr starting with "error:",
 * a non-zero exit code, and no stack unless --debug asks for it.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { VERSION } from "../src/version.js";
import { runCli, spawnCli, type CliOutcome } from "./helpers/cli.js";
import { closedPort } from "./helpers/closedPort.js";
import { tinyModelPath } from "./helpers/tinyModel.js";

const STACK_LINE = /^\s+at /m;

/** Failed, not killed; stderr is one "error:" line matching `message` (commander may add its help after it), and no stack. */
function assertOneErrorLine(o: CliOutcome, message: RegExp, options: { help?: boolean } = {}): void {
  assert.equal(o.signal, null, `the command did not end by itself; stderr: ${o.stderr}`);
  assert.notEqual(o.code, 0, "a non-zero exit code");
  assert.doesNotMatch(o.stderr, STACK_LINE, "no stack");
  const lines = o.stderr.trimEnd().split("\n");
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], message);
  if (options.help) assert.match(o.stderr, /\nUsage: llm-serving /, "commander's help after the error");
  else assert.equal(lines.length, 1, `exactly one line on stderr, got:\n${o.stderr}`);
}

/** A server that names its model but refuses every generation, so that every request of a run fails. */
async function refusingServer(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    if (req.url === "/v1/models") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ data: [{ id: "m" }] }));
      return;
    }
    req.resume();
    // Two lines: the error line must still be one.
    res.writeHead(503, { "content-type": "text/plain" }).end("overloaded\ntry again later");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe("command-line errors", () => {
  let dir = "";
  let down = "";
  let records = "";
  /** What bench, sweep and analyze say when `down` is down. */
  const refused = (): RegExp => new RegExp(`^error: the server at ${down} cannot be reached: connection refused$`);
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "llm-serving-cli-errors-"));
    down = `http://127.0.0.1:${await closedPort()}`;
    records = join(dir, "records.jsonl");
    await writeFile(records, `${JSON.stringify({ id: "r-0", index: 0, sent: 1, end: 2, outputTokens: 1, chunks: [], tokens: [] })}\n`);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("--version and -V print the version", async () => {
    for (const flag of ["--version", "-V"]) {
      const o = await runCli([flag]);
      assert.equal(o.code, 0);
      assert.equal(o.stdout.trim(), VERSION);
    }
  });

  test("an error thrown by a command is one line, without its stack", async () => {
    assertOneErrorLine(await runCli(["bench", "--url", down, "--slo", "ttft=fast"]), /^error: --slo: "ttft=fast" is not/);
  });

  test("--debug, anywhere on the command line, adds the stack", async () => {
    for (const args of [["--debug", "analyze", "--records", join(dir, "missing.jsonl"), "--url", down], ["analyze", "--records", join(dir, "missing.jsonl"), "--url", down, "--debug"]]) {
      const o = await runCli(args);
      assert.notEqual(o.code, 0);
      assert.match(o.stderr, /^error: cannot read the client records .*missing\.jsonl: no such file\n/);
      assert.match(o.stderr, STACK_LINE, "the stack");
    }
  });

  test("a --url that is not a URL is commander's one-line error", async () => {
    assertOneErrorLine(await runCli(["analyze", "--records", records, "--url", "127.0.0.1:8080"]), /--url must be an http:\/\/ or https:\/\/ URL, got "127\.0\.0\.1:8080"/, { help: true });
  });

  test("analyze: a missing records file", async () => {
    assertOneErrorLine(await runCli(["analyze", "--records", join(dir, "missing.jsonl"), "--url", down]), /^error: cannot read the client records .*missing\.jsonl: no such file$/);
  });

  test("analyze: a records file that is not JSONL of client records", async () => {
    const notJson = join(dir, "not-json.jsonl");
    await writeFile(notJson, "id,sent\nr-0,1\n");
    assertOneErrorLine(await runCli(["analyze", "--records", notJson, "--url", down]), /not-json\.jsonl:1: not a client record \(not JSON\)$/);
    const notRecords = join(dir, "not-records.jsonl");
    await writeFile(notRecords, `${JSON.stringify({ id: "r-0", index: 0, sent: 1, end: 2, outputTokens: 1 })}\n${JSON.stringify({ prompt: "hello" })}\n`);
    assertOneErrorLine(await runCli(["analyze", "--records", notRecords, "--url", down]), /not-records\.jsonl:2: not a client record \(id: missing; sent: missing; end: missing/);
  });

  test("analyze: a missing timelines file", async () => {
    assertOneErrorLine(await runCli(["analyze", "--records", records, "--timelines", join(dir, "missing-timelines.jsonl")]), /^error: cannot read the server's timelines .*missing-timelines\.jsonl: no such file$/);
  });

  test("analyze: an unreachable --url says connection refused, with the URL", async () => {
    assertOneErrorLine(await runCli(["analyze", "--records", records, "--url", down]), refused());
  });

  test("bench and sweep against a server that is down: cannot be reached, before anything else", async () => {
    assertOneErrorLine(await runCli(["bench", "--url", down, "-n", "2", "--no-progress"]), refused());
    assertOneErrorLine(await runCli(["sweep", "--url", down, "--lengths", "1", "--repetitions", "1", "--no-progress"]), refused());
  });

  test("bench and sweep with --model against a server that is down: the same line, no hang", async () => {
    assertOneErrorLine(await runCli(["bench", "--url", down, "--model", "m", "-n", "2", "--no-progress"]), refused());
    assertOneErrorLine(await runCli(["sweep", "--url", down, "--model", "m", "--lengths", "1", "--repetitions", "1", "--no-progress"]), refused());
  });

  describe("against a server that refuses every request", () => {
    let refusing: { server: Server; url: string } | undefined;
    before(async () => {
      refusing = await refusingServer();
    });
    after(async () => {
      await new Promise((resolve) => refusing?.server.close(resolve));
    });

    test("bench prints its report, then fails: every request failed", async () => {
      const o = await runCli(["bench", "--url", refusing!.url, "-n", "3", "--no-progress"]);
      assert.match(o.stdout, /requests 3, completed 0, errors 3/, "the report first");
      assertOneErrorLine(o, /^error: every request failed \(3 of 3\); the first: HTTP 503: overloaded try again later$/);
    });

    test("analyze --url a server that has none of the records' timelines: join rate 0 %, not a report without them", async () => {
      // A new user's records from another server were analyzed "with 0 server timelines", exit 0.
      assertOneErrorLine(await runCli(["analyze", "--records", records, "--url", refusing!.url]), /^error: join rate 0 %: http:\/\/127\.0\.0\.1:\d+ has no timeline for the record \(GET \/debug\/requests\/\{id\} answered nothing/);
    });

    test("analyze --timelines given twice is refused: the second silently replaced the first", async () => {
      const o = await runCli(["analyze", "--records", records, "--timelines", "gateway.jsonl", "--timelines", "backend.jsonl"]);
      assert.notEqual(o.code, 0);
      assert.match(o.stderr.split("\n")[0], /^error: option '--timelines <file\.jsonl>' argument 'backend\.jsonl' is invalid\. give --timelines once \(one server's --timeline-file/);
    });

    test("sweep prints its tables, then fails: every request failed", async () => {
      const o = await runCli(["sweep", "--url", refusing!.url, "--lengths", "1,2", "--repetitions", "1", "--no-progress"]);
      assert.match(o.stdout, /## Table 1/, "the tables first");
      assertOneErrorLine(o, /^error: every request failed \(2 of 2\); the first: HTTP 503/);
    });
  });
});

describe("serve and bench inputs", () => {
  test("bench --prompts with a missing file", async () => {
    assertOneErrorLine(await runCli(["bench", "--prompts", join(tmpdir(), "no-such-prompts.jsonl"), "--model", "m"]), /^error: cannot read the prompts .*no-such-prompts\.jsonl: no such file$/);
  });

  test("serve on a port in use, and on an address this machine does not have: one line, exit 1, even while the model loads", async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = busy.address() as AddressInfo;
      const model = await tinyModelPath();
      const inUse = await runCli(["serve", "--model", model, "--port", String(port), "--no-access-log"]);
      assertOneErrorLine(inUse, new RegExp(`^error: cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`));
      // 192.0.2.1 is TEST-NET-1 (RFC 5737): never an address of this machine.
      const elsewhere = await runCli(["serve", "--model", model, "--host", "192.0.2.1", "--port", "0", "--no-access-log"]);
      assertOneErrorLine(elsewhere, /^error: cannot listen on 192\.0\.2\.1:0: 192\.0\.2\.1 is not an address of this machine/);
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });

  test("serve with a corrupt GGUF: one line naming the file, exit 1, within seconds", async () => {
    const folder = await mkdtemp(join(tmpdir(), "llm-serving-bad-"));
    try {
      const bad = join(folder, "bad.gguf");
      await writeFile(bad, Buffer.from("GGUF\x03\x00\x00\x00garbage", "latin1"));
      const started = Date.now();
      const o = await runCli(["serve", "--model", bad, "--port", "0", "--no-access-log"]);
      assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
      assertOneErrorLine(o, /^error: .*bad\.gguf is not a valid GGUF file: /);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  test("a context too large for the machine's memory is refused before llama.cpp allocates it: generate, and serve while it listens", async () => {
    // Before, serve listened and swelled by ~300 MB a second, answering 503, until the machine ran out.
    const g = await runCli(["generate", "--model", await tinyModelPath(), "--prompt", "hi", "--context-size", "99999999"]);
    assertOneErrorLine(g, /^error: 1 row × 99999999 tokens of context need about \d+\.\d GiB of memory( besides the model's [\d.]+ GiB)?, more than the [\d.]+ GiB this process may use \(the machine's, or its container's limit\); use a smaller --context-size or fewer --rows \(in a config file: model_config\.context_size or max_generate_length, and decode_batch_size\) \(the model was trained on 4096 tokens\)$/);
    const s = await runCli(["serve", "--model", await tinyModelPath(), "--port", "0", "--no-access-log", "--rows", "2", "--context-size", "99999999"]);
    assert.equal(s.code, 1, s.stderr);
    assert.match(s.stderr, /\nerror: the model could not be loaded: 2 rows × 99999999 tokens of context need about/);
  });

  test("generate says when the context is not what was asked, or runs past the model's training context", async () => {
    const small = await runCli(["generate", "--model", await tinyModelPath(), "--prompt", "hi", "--max-new-tokens", "2", "--context-size", "100"]);
    assert.equal(small.code, 0, small.stderr);
    assert.match(small.stderr, /^note: the context size asked for \(100 tokens\) is 256 tokens per request: llama.cpp sizes the KV cache in multiples of 256 tokens$/m);
    const long = await runCli(["generate", "--model", await tinyModelPath(), "--prompt", "hi", "--max-new-tokens", "2", "--context-size", "8192"]);
    assert.equal(long.code, 0, long.stderr);
    assert.match(long.stderr, /^note: the model was trained on 4096 tokens of context: past that its output degrades$/m);
  });

  test("serve: an API key no HTTP header can carry, and an OTLP endpoint that is not an http(s) URL, are one line before anything starts", async () => {
    // A key pasted with "…" was accepted, and then every request got 401.
    assertOneErrorLine(await runCli(["serve", "--api-key", "sk-…", "--port", "0"]), /^error: --api-key must be visible ASCII, no spaces \(it travels in an HTTP header\); it has U\+2026 at character 4$/);
    assertOneErrorLine(await runCli(["serve", "--api-key", "my key", "--port", "0"]), /it has a space at character 3$/);
    // A key from the environment is named as such: the user typed no --api-key.
    assertOneErrorLine(await runCli(["serve", "--port", "0"], { env: { ...process.env, LLM_SERVING_API_KEY: "my key" } }), /^error: LLM_SERVING_API_KEY must be visible ASCII, no spaces .* it has a space at character 3$/);
    assertOneErrorLine(await runCli(["serve", "--otlp-endpoint", "notaurl", "--port", "0"]), /^error: --otlp-endpoint must be an http\(s\) URL such as http:\/\/127\.0\.0\.1:4318, got "notaurl"$/);
    assertOneErrorLine(await runCli(["serve", "--cors-origin", "app.example", "--port", "0"]), /^error: --cors-origin must be \* or an origin such as http:\/\/localhost:3000 \(scheme, host and port, nothing after\), got "app\.example"$/);
    // Seconds, as the config file's shutdown_timeout: fractions too (it took whole seconds only).
    const negative = await runCli(["serve", "--shutdown-timeout", "-1", "--port", "0"]);
    assert.match(negative.stderr.split("\n")[0], /^error: option '--shutdown-timeout <seconds>' argument '-1' is invalid\. --shutdown-timeout must be in \[0, 86400\], got -1$/);
    const fraction = await runCli(["serve", "--shutdown-timeout", "0.5", "--port", "0", "--cors-origin", "nope"]);
    assert.match(fraction.stderr, /^error: --cors-origin /, "0.5 was taken: the next check spoke");
  });

  test("serve: a --timeline-file that cannot be written is one line before anything starts, not a server that writes nothing", async () => {
    // Found by a new user: the server started, warned once in Node's own format, and lost every timeline.
    const folder = await mkdtemp(join(tmpdir(), "llm-serving-tlfile-"));
    try {
      assertOneErrorLine(await runCli(["serve", "--timeline-file", join(folder, "no-such-folder", "t.jsonl"), "--port", "0"]), /^error: --timeline-file .*t\.jsonl: cannot be written: ENOENT: no such file or directory/);
      assertOneErrorLine(await runCli(["serve", "--timeline-file", folder, "--port", "0"]), /^error: --timeline-file .*: is a folder, not a file$/);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  test("dashboard: a file the page cannot draw is said at the command line, not only in the page; one the page draws is served", async () => {
    const folder = await mkdtemp(join(tmpdir(), "llm-serving-dash-"));
    const server = { id: "r1", span: { name: "request", start: 0, dur: 5, children: [] }, durations: { e2e: 5 } };
    const client = { id: "c1", sent: 0, end: 5, tokens: [3] };
    try {
      const refusedFiles: [string, string, RegExp][] = [
        ["times.csv", "id,ms\nx,1\n", /not JSON lines or a JSON array/],
        ["empty.jsonl", "", /no request timelines or client records in it/],
        ["other.jsonl", '{"id": "x", "what": "else"}\n', /no request timelines or client records in it/],
        // The page needs a server record's spans, not only its durations.
        ["nospan.jsonl", JSON.stringify({ id: "x", durations: { e2e: 1 } }) + "\n", /no request timelines or client records in it/],
      ];
      for (const [name, text, why] of refusedFiles) {
        const file = join(folder, name);
        await writeFile(file, text);
        assertOneErrorLine(await runCli(["dashboard", file, "--port", "0"]), new RegExp(`^error: .*${name.replace(".", "\\.")}: ${why.source}`));
      }
      // What the page opens, the command opens: JSON lines of either kind, or one JSON array.
      // A file cut mid-line (its server killed while writing) opens without its last line, as in the page.
      const cut = `${JSON.stringify(server)}\n${JSON.stringify(client).slice(0, 12)}`;
      for (const [name, text] of [["lines.jsonl", `${JSON.stringify(server)}\n${JSON.stringify(client)}\n`], ["array.json", JSON.stringify([server, client])], ["cut.jsonl", cut]]) {
        const file = join(folder, name);
        await writeFile(file, text);
        const dash = spawnCli(["dashboard", file, "--port", "0"]);
        try {
          await dash.until(/the dashboard on .*: (http:\/\/\S+)\/dashboard\?offline=/);
          const origin = /: (http:\/\/[^/\s]+)\/dashboard/.exec(dash.stderr())![1];
          const root = await fetch(`${origin}/`, { redirect: "manual" });
          assert.equal(root.status, 302, "the address alone leads to the page");
          assert.equal(root.headers.get("location"), `/dashboard?offline=${name}`);
        } finally {
          dash.stop();
        }
      }
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
