/**
 * The benchmarks' options: a wrong one is said in one line with the options
 * there are, never as a stack trace, and --help lists them with their
 * defaults. Run on bench:http, whose options are read before it loads a
 * model or starts a server.
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
    ["httpBench", ["--requests", "0"], /^error: --requests must be a positive number, got "0"/],
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
