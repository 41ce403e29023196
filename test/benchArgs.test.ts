/**
 * The benchmarks' options: a wrong one is said in one line with the options
 * there are, never as a stack trace, and --help lists them with their
 * defaults. Every bench reads its options before it loads a model, builds
 * llama.cpp or starts a server.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";

const script = (name: string): string => fileURLToPath(new URL(`../src/bench/${name}.js`, import.meta.url));
const run = (name: string, ...args: string[]) => spawnSync(process.execPath, [script(name), ...args], { encoding: "utf8", timeout: 60_000 });

describe("bench options", () => {
  it("--help lists the options with their defaults and exits 0", () => {
    const r = run("httpBench", "--help");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^options: --requests 300 --streams 60 --tokens 64 \(--help: this line\)\n$/);
  });

  for (const [name, args, said] of [
    ["httpBench", ["--nope"], /^error: Unknown option '--nope'/],
    ["httpBench", ["--requests", "0"], /^error: --requests must be a positive whole number, got "0"/],
    ["httpBench", ["--requests", "2.5"], /^error: --requests must be a positive whole number, got "2\.5"/],
    ["vsLlamaServer", ["--rounds", "2.5"], /^error: --rounds must be a positive whole number/],
    ["vsLlamaServer", ["--decode", "1.5"], /^error: --decode must be a whole number of triples/],
    ["vsLlamaServer", ["--pairs", "x"], /^error: --pairs must be a whole number of pairs \(0: none\), got "x"/],
    ["gatewayBench", ["--short", "2.5"], /^error: --short must be a whole number of sets of short requests per round/],
    ["gatewayBench", ["--short-tokens", "0"], /^error: --short-tokens must be a positive whole number, got "0"/],
    ["gatewayBench", ["--tokens", "1"], /^error: --tokens must be at least 2, got 1\noptions: --rounds 6 /],
    ["samplingBench", ["--batches", "1,x"], /^error: --batches must be positive whole numbers separated by commas, got "1,x"/],
    ["engineBench", ["--batches", "0"], /^error: --batches must be positive whole numbers/],
    ["httpBench", ["extra"], /^error: Unexpected argument 'extra'/],
    ["gatewayBench", ["--preset", "huge"], /^error: unknown preset "huge" in --preset\npresets: tiny, /],
    ["engineBench", ["--presets", "small,huge"], /^error: unknown preset "huge" in --presets\n/],
  ] as const) {
    it(`${name} ${args.join(" ")}: one line saying what is wrong, exit 2`, () => {
      const r = run(name, ...args);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, said);
      assert.equal(r.stderr.trim().split("\n").length, 2, r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    });
  }
});
