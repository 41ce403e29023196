/**
 * Runs a corpus of fuzz cases against one real server (the tiny model) and,
 * around them, checks what every case must leave behind: /health still 200,
 * no request left running, and, every few cases and at the end, the same
 * greedy outputs as before the first case (greedy decoding on this engine is
 * deterministic, so any difference means a case corrupted shared state).
 */
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { TestServer } from "../helpers/serverHarness.js";
import type { FuzzCase } from "./fuzzCase.js";
import { assertAnswered, assertRefused } from "./fuzzExpect.js";
import { sendHttp, sendRaw, type Reply } from "../helpers/rawHttp.js";
import { COMPLETIONS, LS_GENERATE, TGI_GENERATE, type Json, type Route } from "./fuzzRoutes.js";

export { answered, either, refused, type Expect, type FuzzCase } from "./fuzzCase.js";

/** The canary runs after this many cases (and at the end). It costs three short greedy requests. */
const CANARY_EVERY = 10;
/** How long a case's request may keep a row after its response ended (cancellation takes a step). */
const IDLE_WITHIN_MS = 3000;

export interface Fuzzer {
  url(path?: string): string;
  /** Registers one test per case, in order. */
  cases(list: readonly FuzzCase[]): void;
  /** Checks health, idleness and the canary (for tests that send their own requests). */
  afterwards(canary?: boolean): Promise<void>;
  /** The last test of a file: healthy, idle, greedy outputs unchanged. */
  finalCheck(): void;
}

const CANARY_PROMPT = "The canary sings";
/** The runner's checks reuse connections: they run after every case and should cost little. */
const checks = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** Three greedy requests, one per API family; their texts must never change during a run. */
async function canary(base: string): Promise<string[]> {
  const requests: Array<[Route, Json, (b: Json) => unknown]> = [
    [TGI_GENERATE, { inputs: CANARY_PROMPT, parameters: { max_new_tokens: 8 } }, (b) => b.generated_text],
    [COMPLETIONS, { model: "llama2", prompt: CANARY_PROMPT, max_tokens: 8, temperature: 0 }, (b) => (b.choices as Json[])[0].text],
    [LS_GENERATE, { inputs: CANARY_PROMPT, parameters: { max_new_tokens: 8, do_sample: false } }, (b) => b.generated_text],
  ];
  const texts: string[] = [];
  for (const [route, body, text] of requests) {
    const reply = await sendHttp(base, { method: "POST", path: route.path, headers: { "content-type": "application/json" }, body: JSON.stringify(body), agent: checks });
    assert.equal(reply.status, 200, `canary ${route.path}: ${reply.status} ${reply.text.slice(0, 300)}`);
    texts.push(String(text(JSON.parse(reply.text) as Json)));
  }
  return texts;
}

async function assertHealthy(base: string): Promise<void> {
  const health = await sendHttp(base, { method: "GET", path: "/health", agent: checks });
  assert.equal(health.status, 200, `/health after the case: ${health.status} ${health.text}`);
  const end = Date.now() + IDLE_WITHIN_MS;
  for (;;) {
    const stats = JSON.parse((await sendHttp(base, { method: "GET", path: "/stats", agent: checks })).text) as { running: number; waiting: number; kv: { usedBlocks: number } };
    if (stats.running === 0 && stats.waiting === 0 && stats.kv.usedBlocks === 0) return;
    if (Date.now() > end) assert.fail(`a request is still in the engine ${IDLE_WITHIN_MS} ms after the case: ${JSON.stringify(stats)}`);
    await sleep(5);
  }
}

function encode(c: FuzzCase): { body: string | Buffer | undefined; headers: Record<string, string> } {
  const body = c.body === undefined ? undefined : typeof c.body === "string" || Buffer.isBuffer(c.body) ? c.body : JSON.stringify(c.body);
  const headers: Record<string, string> = { ...c.headers };
  const type = c.contentType === undefined ? (body === undefined ? null : "application/json") : c.contentType;
  if (type !== null) headers["content-type"] = type;
  return { body, headers };
}

export async function send(base: string, c: FuzzCase): Promise<Reply> {
  if (c.raw) return sendRaw(base, c.raw.bytes, c.raw.options);
  const { body, headers } = encode(c);
  return sendHttp(base, { method: c.method ?? c.route.method, path: c.path ?? c.route.path, headers, body });
}

/** The request body as the server would read it, for the success checks (they look at echo, stream, return_full_text). */
function requestJson(c: FuzzCase): unknown {
  if (c.body === undefined || Buffer.isBuffer(c.body)) return undefined;
  if (typeof c.body !== "string") return c.body;
  try {
    return JSON.parse(c.body);
  } catch {
    return undefined;
  }
}

export function judge(c: FuzzCase, reply: Reply): void {
  const e = c.expect;
  assert.ok(reply.status < 500, `a ${reply.status}: ${reply.text.slice(0, 400)}`);
  if (reply.status === 0) {
    assert.ok(c.raw?.mayCloseSilently, "the connection closed without a response");
    return;
  }
  const ok = reply.status >= 200 && reply.status < 300;
  if (e.kind === "refused" || (e.kind === "either" && !ok)) return assertRefused(c.route, reply, e);
  assert.ok(ok, `expected a 2xx, got ${reply.status}: ${reply.text.slice(0, 400)}`);
  assertAnswered(c.route, reply, requestJson(c));
  if (e.check) e.check(reply.headers["content-type"]?.startsWith("application/json") ? (JSON.parse(reply.text) as Json) : {}, reply);
}

/** One server for the calling test file, and the checks every case is followed by. */
export function fuzzer(): Fuzzer {
  let server: TestServer | undefined;
  const base = (): string => server!.url;
  let baseline: string[] | undefined;
  let sinceCanary = 0;
  // One hook, not sharedTestServer's plus ours: Node 20 does not wait for one root-level before() before starting the next.
  before(async () => {
    // Imported here: Node's runner also loads this module as a test file of its own, which should cost nothing.
    const { startTestServer } = await import("../helpers/serverHarness.js");
    server = await startTestServer();
    await server.server.engine.ready;
    baseline = await canary(base());
  });
  after(async () => {
    checks.destroy();
    await server?.server.close(1000);
  });
  const afterwards = async (forceCanary = false): Promise<void> => {
    await assertHealthy(base());
    if (forceCanary || ++sinceCanary >= CANARY_EVERY) {
      sinceCanary = 0;
      assert.deepEqual(await canary(base()), baseline, "greedy outputs changed: an earlier case corrupted the engine");
    }
  };
  return {
    url: (path = "") => base() + path,
    cases(list) {
      for (const c of list) {
        test(c.name, async () => {
          const reply = await send(base(), c);
          let failure: unknown;
          try {
            judge(c, reply);
          } catch (err) {
            failure = err;
          }
          // Health first: a dead server is the worse finding.
          await afterwards();
          if (failure) throw failure;
        });
      }
    },
    afterwards,
    finalCheck() {
      test("after the whole corpus: healthy, idle, and the greedy outputs unchanged", () => afterwards(true));
    },
  };
}
