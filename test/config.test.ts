import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, test } from "node:test";
import { ConfigError, loadConfigFile, parseConfig } from "../src/server/config/configFile.js";
import { DEFAULT_CONFIG, mergeConfig } from "../src/server/config/ServeConfig.js";

describe("YAML configuration", () => {
  test("llm-serving's sections map to the server's settings; flags override the file", () => {
    const { config, warnings } = parseConfig(`
model_config:
  model_name: llama2
  max_generate_length: 1024
  end_token: 2
  batching_strategy: static
  decode_batch_size: [1, 4, 8]
  model_path: models/m.gguf
  threads: 2
serving_config:
  server_ip: 0.0.0.0
  server_port: 9000
  queue_limit: 32
pa_config:
  block_size: 128
timing_config:
  enabled: false
  timelines: 50
  timeline_file: t.jsonl
  otlp_endpoint: http://127.0.0.1:4318
  loop_resolution_ms: 2
  log_level: debug
`, "config", "conf");
    assert.deepEqual(warnings, []);
    const merged = mergeConfig(config, { port: 9100, threads: undefined });
    assert.equal(merged.modelName, "llama2");
    assert.equal(merged.contextSize, 1024);
    assert.deepEqual(merged.eosTokenIds, [2]);
    assert.equal(merged.batching, "static");
    assert.equal(merged.rows, 8, "the largest decode batch tier");
    assert.equal(merged.modelPath, resolve("conf", "models/m.gguf"), "relative to the config file's folder");
    assert.equal(merged.threads, 2, "a flag left unset does not override");
    assert.equal(merged.host, "0.0.0.0");
    assert.equal(merged.port, 9100, "a flag overrides the file");
    assert.equal(merged.queueLimit, 32);
    assert.equal(merged.blockSize, 128);
    assert.equal(merged.batchTokens, DEFAULT_CONFIG.batchTokens);
    assert.equal(merged.timing, false);
    assert.equal(merged.timelineCapacity, 50);
    assert.equal(merged.timelineFile, resolve("conf", "t.jsonl"));
    assert.equal(merged.otlpEndpoint, "http://127.0.0.1:4318");
    assert.equal(merged.loopResolutionMs, 2);
    assert.equal(merged.logLevel, "debug");
  });

  test("known llm-serving keys that mean nothing here are accepted with a warning that says why", () => {
    const { warnings } = parseConfig(`
model_config:
  seq_length: [512, 1024]
  page_attention: true
serving_config:
  agent_ports: [9810]
pa_config:
  num_blocks: 512
tokenizer:
  type: LlamaTokenizer
  vocab_file: tokenizer.model
model_path:
  prefill_model: ["a.mindir"]
`);
    assert.equal(warnings.length, 7);
    assert.ok(warnings.some((w) => /^pa_config\.num_blocks: ignored \(/.test(w)));
    assert.ok(warnings.some((w) => /^model_path: ignored/.test(w)));
  });

  for (const [name, yaml, message] of [
    ["an unknown key", "model_config:\n  model_nme: x\n", /model_config: unknown key "model_nme"/],
    ["an unknown section", "serving:\n  port: 1\n", /unknown key "serving"/],
    ["a value of the wrong type", "serving_config:\n  server_port: eighty\n", /serving_config\.server_port/],
    ["an unknown batching strategy", "model_config:\n  batching_strategy: dynamic\n", /batching_strategy/],
    ["disagreeing context sizes", "model_config:\n  max_generate_length: 512\n  context_size: 1024\n", /disagree/],
    ["YAML that does not parse", "model_config: [unclosed\n", /not valid YAML/],
    // The yaml library's message goes on over lines with an excerpt: one line, ending on where.
    ["a tab as indentation", "model_config:\n\tmodel_name: x\n", /^config: not valid YAML: .*[Tt]ab.* at line 2, column 1$/],
    ["an engine without a name", "engines:\n  - url: http://127.0.0.1:1\n    kind: llama.cpp\n", /^config: engines\.0\.name: missing$/],
    ["an engine without a kind", "engines:\n  - name: a\n    url: http://127.0.0.1:1\n", /^config: engines\.0 \(a\)\.kind: missing \(one of "llama\.cpp", "openai", "tgi", "local"\)$/],
    ["an engine URL that is not http(s)", "engines:\n  - name: a\n    url: 127.0.0.1:8080\n    kind: llama.cpp\n", /^config: engines\.0 \(a\)\.url: must be an http\(s\) URL such as http:\/\/127\.0\.0\.1:8080, got "127\.0\.0\.1:8080"$/],
  ] as const) {
    test(`${name} is a clear error`, () => {
      assert.throws(() => parseConfig(yaml), (e: Error) => e instanceof ConfigError && message.test(e.message) && !e.message.includes("\n"));
    });
  }

  test("model_path is relative to the config file's folder, not to the working directory; absolute paths stay", async () => {
    const folder = await mkdtemp(join(tmpdir(), "llm-serving-config-"));
    try {
      const file = join(folder, "serve.yaml");
      await writeFile(file, "model_config:\n  model_path: models/m.gguf\n");
      assert.equal((await loadConfigFile(file)).config.modelPath, join(folder, "models", "m.gguf"));
      const elsewhere = join(tmpdir(), "m.gguf");
      await writeFile(file, `model_config:\n  model_path: ${elsewhere}\n`);
      assert.equal((await loadConfigFile(file)).config.modelPath, elsewhere);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  test("serving keys: api_key, cors_origins (one or a list), access_log, model_name_check", () => {
    const { config } = parseConfig(`
serving_config:
  api_key: secret
  cors_origins: https://app.example
  access_log: false
  model_name_check: "off"
`);
    assert.equal(config.apiKey, "secret");
    assert.deepEqual(config.corsOrigins, ["https://app.example"]);
    assert.equal(config.accessLog, false);
    assert.equal(config.modelNameCheck, "off");
    assert.throws(() => parseConfig("serving_config:\n  model_name_check: maybe\n"), ConfigError);
    // A key no HTTP header can carry (pasted from a page with "…" in it) would refuse every request.
    assert.throws(() => parseConfig("serving_config:\n  api_key: sk-…\n"), (e: Error) => e instanceof ConfigError && /api_key.*must be visible ASCII.*U\+2026/.test(e.message));
    assert.throws(() => parseConfig("timing_config:\n  otlp_endpoint: ftp://collector:4318\n"), (e: Error) => e instanceof ConfigError && /otlp_endpoint.*http\(s\)/.test(e.message));
    // An origin no browser sends would never match: it was taken without a word.
    assert.throws(() => parseConfig("serving_config:\n  cors_origins: [not a url]\n"), (e: Error) => e instanceof ConfigError && /cors_origins.*must be \* or an origin such as http:\/\/localhost:3000.*got "not a url"/.test(e.message));
    assert.throws(() => parseConfig("serving_config:\n  cors_origins: https://app.example/\n"), (e: Error) => e instanceof ConfigError && /did you mean "https:\/\/app\.example"\?/.test(e.message));
    assert.deepEqual(parseConfig("serving_config:\n  cors_origins: ['*', 'http://localhost:3000']\n").config.corsOrigins, ["*", "http://localhost:3000"]);
    // Browser extensions and desktop apps send origins of their own schemes.
    const apps = ["chrome-extension://abcdefghijklmnop", "moz-extension://1234-5678", "tauri://localhost"];
    assert.deepEqual(parseConfig(`serving_config:\n  cors_origins: [${apps.join(", ")}]\n`).config.corsOrigins, apps);
    // 0 seconds: the requests in flight are cancelled at once, as --shutdown-timeout 0 does.
    assert.equal(parseConfig("serving_config:\n  shutdown_timeout: 0\n").config.shutdownTimeoutMs, 0);
  });

  test("engines: remote ones with their units in seconds, this process's model as kind local, routing", () => {
    const { config } = parseConfig(`
engines:
  - name: here
    kind: local
  - name: gpu-a
    url: http://10.0.0.5:8000
    kind: openai
    model: meta-llama/Llama-3.1-8B-Instruct
    api_key: k
    timeout: 30
    idle_timeout: 5
    health_interval: 1
    max_outstanding: 64
routing:
  policy: affinity
`);
    assert.equal(config.localEngineName, "here");
    assert.equal(config.routing, "affinity");
    assert.deepEqual(config.engines, [
      { name: "gpu-a", url: "http://10.0.0.5:8000", kind: "openai", model: "meta-llama/Llama-3.1-8B-Instruct", apiKey: "k", maxOutstanding: 64, healthIntervalMs: 1000, firstByteTimeoutMs: 30000, idleTimeoutMs: 5000 },
    ]);
    for (const [yaml, message] of [
      ["engines:\n  - {name: a, kind: local}\n  - {name: b, kind: local}\n", /at most one engine of kind local/],
      ["engines:\n  - {name: a, kind: tgi}\n", /"a" needs a url/],
      ["engines:\n  - {name: a, kind: vllm, url: http://x}\n", /engines\.0 \(a\)\.kind/],
      // An entry is known by its name: "engines.1" sent the reader counting.
      ["engines:\n  - {name: a, kind: tgi, url: http://x}\n  - {name: gpu-b, kind: tgi, url: http://y, max_outstandng: 3}\n", /engines\.1 \(gpu-b\): unknown key "max_outstandng"/],
      ["engines:\n  - {name: a, kind: tgi, url: ftp://x}\n", /must be an http\(s\) URL/],
      ["engines:\n  - {name: a, kind: tgi, url: http://x}\n  - {name: a, kind: tgi, url: http://y}\n", /the name "a" is used twice/],
      ["routing:\n  policy: random\n", /routing\.policy/],
    ] as const) {
      assert.throws(() => parseConfig(yaml), (e: Error) => e instanceof ConfigError && message.test(e.message), String(message));
    }
  });
});
