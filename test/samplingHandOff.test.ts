/**
 * Chained sampling (queued behind the decode on a one-thread libuv pool)
 * must give exactly the tokens of awaited sampling, and must be chosen only
 * when the pool really has one thread.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, test } from "node:test";
import { cli } from "./helpers/cli.js";
import { startCliServer } from "./helpers/cliServer.js";
import { loadTinyAgent, tinyModelPath } from "./helpers/tinyModel.js";
import { runScriptedSteps } from "./helpers/scriptedSteps.js";

const run = promisify(execFile);
const helpers = join(import.meta.dirname, "helpers");

/**
 * Runs `body` as an ES module in a new node process with `env` added; its
 * stdout. From a file, not `-e`: node-llama-cpp tests its binary in a child
 * started with this process's flags, and `--input-type` fails there.
 */
async function inChild(body: string, env: Record<string, string | undefined>): Promise<string> {
  const file = join(tmpdir(), `llm-serving-child-${process.pid}-${++children}.mjs`);
  await writeFile(file, body);
  try {
    const { stdout } = await run(process.execPath, [file], { env: { ...process.env, ...env }, maxBuffer: 16 << 20 });
    return stdout;
  } finally {
    await rm(file, { force: true });
  }
}
let children = 0;

const scripted = `
  import { loadTinyAgent } from ${JSON.stringify(pathToFileURL(join(helpers, "tinyModel.js")).href)};
  import { runScriptedSteps } from ${JSON.stringify(pathToFileURL(join(helpers, "scriptedSteps.js")).href)};
  const agent = await loadTinyAgent({ rows: 4, contextSize: 256 });
  const emitted = await runScriptedSteps(agent);
  await agent.dispose();
  process.stdout.write(JSON.stringify({ sampling: agent.sampling, emitted }));
`;

async function startLine(env: Record<string, string | undefined>, execArgv: string[] = []): Promise<string> {
  const { stderr } = await run(process.execPath, [...execArgv, cli, "generate", "--model", await tinyModelPath(), "--prompt", "hi", "--max-new-tokens", "2"], {
    env: { ...process.env, ...env },
  });
  return stderr;
}

describe("sampling hand-off", () => {
  test("chained sampling on a one-thread pool gives exactly the tokens, logprobs and alternatives of awaited sampling", async () => {
    const child = JSON.parse(await inChild(scripted, { UV_THREADPOOL_SIZE: "1" })) as { sampling: string; emitted: unknown };
    assert.equal(child.sampling, "chained");
    const agent = await loadTinyAgent({ rows: 4, contextSize: 256, sampling: "awaited" });
    try {
      assert.equal(agent.sampling, "awaited");
      const expected = await runScriptedSteps(agent);
      assert.ok(expected.flat().some((o) => "top" in o), "the run asked for alternatives");
      assert.deepEqual(child.emitted, JSON.parse(JSON.stringify(expected)));
    } finally {
      await agent.dispose();
    }
  });

  test("the command's entry gives the pool one thread unless the user sized it or a preload may have started it", async () => {
    assert.match(await startLine({ UV_THREADPOOL_SIZE: undefined, NODE_OPTIONS: undefined }), /sampling: queued behind each decode/);
    assert.match(await startLine({ UV_THREADPOOL_SIZE: "4" }), /sampling: after each decode returns/);
    const preload = join(tmpdir(), `llm-serving-preload-${process.pid}.cjs`);
    // Empty: it starts no pool, so only the launcher's own rule can leave the pool at four threads.
    await writeFile(preload, "");
    try {
      assert.match(await startLine({ UV_THREADPOOL_SIZE: undefined }, ["--require", preload]), /sampling: after each decode returns/);
      assert.match(await startLine({ UV_THREADPOOL_SIZE: undefined, NODE_OPTIONS: `--require ${preload}` }), /sampling: after each decode returns/);
    } finally {
      await rm(preload, { force: true });
    }
  });

  test("serve says which, at start and in /info", async (t) => {
    if (process.env.UV_THREADPOOL_SIZE !== undefined) return t.skip("the server inherits this process's UV_THREADPOOL_SIZE, which the launcher keeps");
    const server = await startCliServer();
    try {
      assert.match(server.stderr(), /\nsampling: queued behind each decode \(one libuv pool thread\)\n/);
      const info = (await (await fetch(`${server.url}/info`)).json()) as Record<string, unknown>;
      assert.equal(info.sampling, "chained");
    } finally {
      server.stop();
      await server.exited;
    }
  });

  test("UV_THREADPOOL_SIZE=1 set after the pool started is not believed: the probe sees two threads", async () => {
    const body = `
      import { stat } from "node:fs/promises";
      import { onePoolThread } from ${JSON.stringify(pathToFileURL(join(helpers, "..", "..", "src", "agent", "libuvPool.js")).href)};
      await stat(".");
      process.env.UV_THREADPOOL_SIZE = "1";
      process.stdout.write(String(await onePoolThread()));
    `;
    assert.equal(await inChild(body, { UV_THREADPOOL_SIZE: undefined }), "false");
    assert.equal(await inChild(`import { onePoolThread } from ${JSON.stringify(pathToFileURL(join(helpers, "..", "..", "src", "agent", "libuvPool.js")).href)}; process.stdout.write(String(await onePoolThread()));`, { UV_THREADPOOL_SIZE: "1" }), "true");
  });
});
