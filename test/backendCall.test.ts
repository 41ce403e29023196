/**
 * One streamed HTTP call to a backend (startCall), against local servers
 * that split, stall, fail and never answer. Some tests name a defect a
 * review found (each failed before its fix).
 */
import assert from "node:assert/strict";
import { Agent, createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, test } from "node:test";
import fc from "fast-check";
import { BackendFailure, startCall, type CallOptions } from "../src/engines/remote/BackendCall.js";
import { llamaCppProtocol } from "../src/engines/remote/llamaCppProtocol.js";
import { HopTrace } from "../src/timing/HopTrace.js";
import { HopPoint } from "../src/timing/points.js";
import { dataEvents, fold, llamaFinal, llamaPartial, sse, LLAMA_CHAT, LLAMA_EOS, LLAMA_LIMIT, LLAMA_WORD, TGI_EOS, TGI_STOP, VLLM_CHAT, VLLM_STOP_STRING } from "./helpers/recordedStreams.js";

const servers: Server[] = [];
const agents: Agent[] = [];

after(async () => {
  for (const a of agents) a.destroy();
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<URL> {
  const server = createServer((req, res) => {
    // Read the request through, so its 'end' comes before we answer.
    req.resume();
    req.on("end", () => handler(req, res));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
}

function agent(): Agent {
  const a = new Agent({ keepAlive: true });
  agents.push(a);
  return a;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes each piece as its own chunk, a little apart so that each arrives in its own read. */
async function writePieces(res: ServerResponse, pieces: readonly Buffer[], gapMs = 2): Promise<void> {
  res.writeHead(200, { "content-type": "text/event-stream" });
  res.flushHeaders();
  for (const p of pieces) {
    res.write(p);
    await sleep(gapMs);
  }
  res.end();
}

function cut(text: string, at: readonly number[]): Buffer[] {
  const bytes = Buffer.from(text, "utf8");
  const points = [...new Set(at)].filter((p) => p > 0 && p < bytes.length).sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    pieces.push(bytes.subarray(from, p));
    from = p;
  }
  pieces.push(bytes.subarray(from));
  return pieces;
}

interface Outcome {
  events: unknown[];
  ended: boolean;
  failure?: BackendFailure;
  /** Handler calls after the first end or failure (must be none). */
  late: string[];
}

function call(base: URL, hop: HopTrace, options: Partial<CallOptions> = {}, path = "completion"): { done: Promise<Outcome>; abort: () => void } {
  const out: Outcome = { events: [], ended: false, late: [] };
  let settle!: (o: Outcome) => void;
  const done = new Promise<Outcome>((resolve) => (settle = resolve));
  let finished = false;
  const abort = startCall(
    new URL(path, base),
    { prompt: "x", stream: true },
    hop,
    {
      event: (data) => (finished ? out.late.push("event") : out.events.push(data)),
      end: () => {
        if (finished) return void out.late.push("end");
        finished = true;
        out.ended = true;
        settle(out);
      },
      failed: (err) => {
        if (finished) return void out.late.push("failed");
        finished = true;
        out.failure = err;
        settle(out);
      },
    },
    { agent: options.agent ?? agent(), headers: options.headers ?? {}, firstByteTimeoutMs: options.firstByteTimeoutMs ?? 2000, idleTimeoutMs: options.idleTimeoutMs ?? 2000 },
  );
  return { done, abort };
}

function hopOrder(hop: HopTrace): number[] {
  const t = [HopPoint.connected, HopPoint.sent, HopPoint.first_byte, HopPoint.last_byte].map((p) => hop.marks.get(p));
  for (const v of t) assert.ok(Number.isFinite(v), `hop marks ${t.join(", ")}`);
  for (let i = 1; i < t.length; i++) assert.ok(t[i - 1] <= t[i], `hop marks out of order: ${t.join(", ")}`);
  return t;
}

describe("startCall: one streamed call", () => {
  test("SSE cut anywhere (mid-JSON, between \\r and \\n, inside a UTF-8 character) arrives whole; hop marks set in order", async () => {
    // llama.cpp's stream with CRLF line ends, a comment and a multi-byte character.
    const body = (": ping\r\n\r\n" + LLAMA_LIMIT.replace(" It", " Ça")).replaceAll("\n", "\r\n").replaceAll("\r\r\n", "\r\n");
    const bytes = Buffer.from(body, "utf8");
    const jsonMid = body.indexOf(`"tokens":[3681]`) + 5;
    const crAt = Buffer.byteLength(body.slice(0, body.indexOf("\r\n", 20) + 1));
    const cedilla = Buffer.byteLength(body.slice(0, body.indexOf("Ç"))) + 1; // between the two bytes of "Ç"
    const pieces = cut(body, [3, 9, jsonMid, crAt, cedilla, bytes.length - 1]);
    assert.ok(pieces.length >= 6);
    const base = await serve((_req, res) => void writePieces(res, pieces));
    const hop = new HopTrace("x", "test", base.href);
    const { done } = call(base, hop);
    const out = await done;
    assert.equal(out.failure, undefined, out.failure?.message);
    assert.ok(out.ended);
    assert.deepEqual(out.events, dataEvents(LLAMA_LIMIT.replace(" It", " Ça")));
    assert.equal(fold(llamaCppProtocol, out.events).text, " Paris. Ça is");
    hopOrder(hop);
    assert.deepEqual(out.late, []);
  });

  test("every recorded stream read through startCall gives what reading it directly gives", async () => {
    const bodies = [LLAMA_LIMIT, LLAMA_EOS, LLAMA_WORD, LLAMA_CHAT, VLLM_STOP_STRING, VLLM_CHAT, TGI_EOS, TGI_STOP];
    let current = "";
    const base = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(current);
    });
    const a = agent();
    for (const body of bodies) {
      current = body;
      const out = await call(base, new HopTrace("x", "test", base.href), { agent: a }).done;
      assert.ok(out.ended, out.failure?.message);
      assert.deepEqual(out.events, dataEvents(body));
    }
  });

  test("a 500 with an OpenAI error body fails with its status, not started, and its message", async () => {
    const base = await serve((_req, res) => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "boom", type: "server_error", code: 500 } }));
    });
    const hop = new HopTrace("x", "test", base.href);
    const out = await call(base, hop).done;
    assert.ok(out.failure instanceof BackendFailure);
    assert.equal(out.failure.status, 500);
    assert.equal(out.failure.started, false);
    assert.match(out.failure.message, /500.*boom/);
    assert.deepEqual(out.events, []);
    assert.ok(Number.isFinite(hop.marks.get(HopPoint.first_byte)));
  });

  test("TGI's 422 body {error, error_type} and a plain-text 503 give their messages", async () => {
    const base = await serve((req, res) => {
      if (req.url === "/tgi") {
        res.writeHead(422, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "Input validation error: `top_p` must be > 0.0 and < 1.0", error_type: "validation" }));
      } else {
        res.writeHead(503, { "content-type": "text/plain" });
        res.end("  Loading model  \n");
      }
    });
    const tgi = (await call(base, new HopTrace("x", "test", base.href), {}, "tgi").done).failure;
    assert.equal(tgi?.status, 422);
    assert.equal(tgi?.message, "the backend answered 422: Input validation error: `top_p` must be > 0.0 and < 1.0");
    const plain = (await call(base, new HopTrace("x", "test", base.href), {}, "plain").done).failure;
    assert.equal(plain?.status, 503);
    assert.equal(plain?.message, "the backend answered 503: Loading model");
  });

  test("a backend that never answers fails on the first-byte timeout, not started", async () => {
    const base = await serve(() => {
      // never answers
    });
    const hop = new HopTrace("x", "test", base.href);
    const t0 = performance.now();
    const out = await call(base, hop, { firstByteTimeoutMs: 150, idleTimeoutMs: 5000 }).done;
    const took = performance.now() - t0;
    assert.ok(out.failure);
    assert.equal(out.failure.started, false);
    assert.equal(out.failure.status, undefined);
    assert.match(out.failure.message, /did not answer within 150 ms/);
    assert.ok(took >= 140 && took < 1500, `took ${took} ms`);
    assert.ok(Number.isFinite(hop.marks.get(HopPoint.sent)));
    assert.ok(Number.isNaN(hop.marks.get(HopPoint.first_byte)));
    await sleep(20);
    assert.deepEqual(out.late, []);
  });

  test("a stream that stops sending trips the idle timeout, started, after the events it sent", async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`data: ${llamaPartial(" Paris", 3681, 1)}\n\n`);
      // then silence, the response left open
    });
    const t0 = performance.now();
    const out = await call(base, new HopTrace("x", "test", base.href), { firstByteTimeoutMs: 3000, idleTimeoutMs: 150 }).done;
    const took = performance.now() - t0;
    assert.ok(out.failure);
    assert.equal(out.failure.started, true);
    assert.equal(out.events.length, 1);
    assert.ok(took >= 140 && took < 2000, `took ${took} ms: the idle timeout (150 ms), not the first-byte one (3000 ms)`);
  });

  test(
    "the idle timeout's failure says it was the idle timeout",
    async () => {
      const base = await serve((_req, res) => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(`data: ${llamaPartial(" Paris", 3681, 1)}\n\n`);
      });
      const out = await call(base, new HopTrace("x", "test", base.href), { firstByteTimeoutMs: 3000, idleTimeoutMs: 100 }).done;
      assert.match(out.failure?.message ?? "", /sent nothing for 100 ms/);
    },
  );

  test("a kept-alive socket is reused: the second call's connected mark is taken at once, marks still in order", async () => {
    const ports: number[] = [];
    const base = await serve((req, res) => {
      ports.push(req.socket.remotePort ?? -1);
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(sse([llamaFinal("eos", "", 1)]));
    });
    const a = agent();
    const first = new HopTrace("x", "test", base.href);
    assert.ok((await call(base, first, { agent: a }).done).ended);
    hopOrder(first);
    const second = new HopTrace("x", "test", base.href);
    const out = await call(base, second, { agent: a }).done;
    assert.ok(out.ended);
    assert.equal(ports.length, 2);
    assert.equal(ports[0], ports[1], "the same socket served both");
    const [connected, sent] = hopOrder(second);
    assert.ok(sent - connected < 50, `connected ${connected}, sent ${sent}`);
  });

  test("an event that is not JSON fails the call, started; abort ends a call with no handler called after", async () => {
    const bad = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(`data: ${llamaPartial("a", 1, 1)}\n\ndata: {"index":0,"content":\n\n`);
    });
    const out = await call(bad, new HopTrace("x", "test", bad.href)).done;
    assert.equal(out.events.length, 1);
    assert.equal(out.failure?.started, true);
    assert.match(out.failure?.message ?? "", /not JSON/);

    let closed!: () => void;
    const serverSawClose = new Promise<void>((resolve) => (closed = resolve));
    const slow = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`data: ${llamaPartial("a", 1, 1)}\n\n`);
      res.on("close", () => closed());
    });
    const c = call(slow, new HopTrace("x", "test", slow.href));
    await sleep(50);
    c.abort();
    await serverSawClose; // the socket is destroyed: a backend frees the slot
    await sleep(20);
    const settled = await Promise.race([c.done.then(() => "settled"), sleep(10).then(() => "open")]);
    assert.equal(settled, "open", "abort calls neither end nor failed");
  });

  test(
    "after an event that is not JSON, the connection is closed (the backend stops generating for nobody)",
    async () => {
      let closed = false;
      let timer: NodeJS.Timeout | undefined;
      const base = await serve((_req, res) => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(`data: {"index":0,"content":\n\n`);
        timer = setInterval(() => res.write(`data: ${llamaPartial("a", 1, 2)}\n\n`), 20);
        res.on("close", () => {
          clearInterval(timer);
          closed = true;
        });
      });
      const out = await call(base, new HopTrace("x", "test", base.href)).done;
      assert.match(out.failure?.message ?? "", /not JSON/);
      await sleep(200);
      clearInterval(timer);
      assert.ok(closed, "the backend's response is still open 200 ms after the call failed");
    },
  );

  test(
    "no event is handed on after the call failed",
    async () => {
      const base = await serve((_req, res) => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.end(`data: {bad\ndata: {"a":1}`);
      });
      const out = await call(base, new HopTrace("x", "test", base.href)).done;
      assert.match(out.failure?.message ?? "", /not JSON/);
      await sleep(20);
      assert.deepEqual(out.late, []);
    },
  );

  test("property: any cut of a valid event stream into chunks gives the same events", async () => {
    let pieces: Buffer[] = [];
    const base = await serve((_req, res) => void writePieces(res, pieces, 1));
    const a = agent();
    const eventArb = fc.record({
      index: fc.nat(3),
      content: fc.string({ unit: "grapheme", maxLength: 8 }),
      tokens: fc.array(fc.nat(200_000), { maxLength: 3 }),
      stop: fc.boolean(),
    }, { noNullPrototype: true });
    const streamArb = fc.record({
      events: fc.array(eventArb, { minLength: 1, maxLength: 6 }),
      crlf: fc.boolean(),
      space: fc.boolean(),
      comment: fc.boolean(),
      done: fc.boolean(),
      trailing: fc.boolean(),
      cuts: fc.array(fc.nat(), { maxLength: 8 }),
    });
    await fc.assert(
      fc.asyncProperty(streamArb, async (s) => {
        const nl = s.crlf ? "\r\n" : "\n";
        let text = s.comment ? `: keep-alive${nl}${nl}` : "";
        text += s.events.map((e) => `data:${s.space ? " " : ""}${JSON.stringify(e)}${nl}${nl}`).join("");
        if (s.done) text += `data: [DONE]${nl}${nl}`;
        if (!s.trailing) text = text.replace(/(\r?\n)+$/, "");
        const length = Buffer.byteLength(text);
        pieces = cut(text, s.cuts.map((c) => 1 + (c % Math.max(1, length - 1))));
        const out = await call(base, new HopTrace("x", "test", base.href), { agent: a }).done;
        assert.equal(out.failure, undefined, out.failure?.message);
        assert.deepEqual(out.events, s.events);
      }),
      { seed: 11, numRuns: 40 },
    );
  });
});
