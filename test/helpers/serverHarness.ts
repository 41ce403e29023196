/** A real llm-serving HTTP server on a free port, on the tiny model, for the tests. */
import assert from "node:assert/strict";
import { after, before } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { mergeConfig, type ServeConfig } from "../../src/server/config/ServeConfig.js";
import { LlmServer } from "../../src/server/Server.js";
import type { Logger } from "../../src/timing/Logger.js";
import type { RequestRecordJson } from "../../src/timing/recordJson.js";
import { tinyModelPath } from "./tinyModel.js";

export interface TestServer {
  url: string;
  server: LlmServer;
}

export async function startTestServer(config: Partial<ServeConfig> = {}, resolveModelPath?: () => Promise<string>, logger?: Logger, accessLogStream?: NodeJS.WritableStream): Promise<TestServer> {
  const server = new LlmServer({
    accessLogStream,
    warmTokenizer: false,
    config: mergeConfig({ modelName: "llama2", rows: 4, contextSize: 512, accessLog: false, ...config }),
    resolveModelPath: resolveModelPath ?? (() => tinyModelPath()),
    logger,
  });
  const url = await server.listen("127.0.0.1", 0);
  return { url, server };
}

/** Runs `fn` on a server of its own, once the model is ready; closes the server after it, whatever happens. */
export async function withTestServer<T>(config: Partial<ServeConfig>, fn: (s: TestServer) => Promise<T>, extras: { logger?: Logger; accessLogStream?: NodeJS.WritableStream } = {}): Promise<T> {
  const s = await startTestServer(config, undefined, extras.logger, extras.accessLogStream);
  try {
    await s.server.engine.ready;
    return await fn(s);
  } finally {
    await s.server.close(1000);
  }
}

/** A server shared by a test file, ready before its tests, closed after them. */
export function sharedTestServer(config: Partial<ServeConfig> = {}): { get(): TestServer } {
  let s: TestServer | undefined;
  before(async () => {
    s = await startTestServer(config);
    await s.server.engine.ready;
  });
  after(async () => {
    await s?.server.close(1000);
  });
  return { get: () => s! };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
}

/** Non-empty lines of a text body. */
export function lines(text: string): string[] {
  return text.split("\n").filter((l) => l.trim() !== "");
}

/** The JSON payloads of an SSE body's `data:` events (not "[DONE]"). */
export function sseData(text: string): unknown[] {
  return text
    .split("\n\n")
    .map((event) => event.trim())
    .filter((event) => event.startsWith("data:") && event !== "data: [DONE]")
    .map((event) => JSON.parse(event.slice("data:".length)));
}

/** A response's JSON body, untyped (tests check its shape). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function jsonOf(res: Response | Promise<Response>): Promise<any> {
  return (await res).json();
}

/** Polls `check` until it holds; fails the test after `ms`. */
export async function waitFor(check: () => Promise<boolean> | boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(2);
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** A request's record from GET /debug/requests/{id}, once it has one and `done` holds (by default: its row or queue place was released). */
export async function requestRecord(base: string, id: string, done: (t: RequestRecordJson) => boolean = (t) => t.points.finished != null): Promise<RequestRecordJson> {
  let t: RequestRecordJson | undefined;
  await waitFor(async () => {
    const res = await fetch(`${base}/debug/requests/${id}`);
    t = res.status === 200 ? ((await res.json()) as RequestRecordJson) : undefined;
    return t !== undefined && done(t);
  }, `${id}'s record`);
  return t!;
}
