/**
 * The connection opened ahead of a llama.cpp backend's next request
 * (SpareConnection), a call made on one (startCall with `spare`), and the
 * backend's use of it (RemoteBackend): handed over while young, connecting
 * or connected; dropped when the backend closes it, says anything, or
 * refuses it; a spare the backend closed just as it was used costs the
 * request nothing (the call is made again on a connection of its own); and
 * a relayed request's successor goes on a connection opened before it came.
 * Some tests name a defect a review found (each failed before its fix).
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { connect, createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { after, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { BackendFailure, startCall } from "../src/engines/remote/BackendCall.js";
import { RemoteBackend } from "../src/engines/remote/RemoteBackend.js";
import { SpareConnection } from "../src/engines/remote/SpareConnection.js";
import { HopTrace } from "../src/timing/HopTrace.js";
import { HopPoint } from "../src/timing/points.js";

const servers: Array<Server | HttpServer> = [];
after(() => {
  for (const s of servers) {
    s.close();
    if ("closeAllConnections" in s) s.closeAllConnections();
  }
});

async function listen<S extends Server | HttpServer>(server: S): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

/** A TCP server that keeps what it accepts (to close or write to them when asked); `greeting`: written to each at once. */
async function tcpServer(greeting?: string): Promise<{ port: number; accepted: Socket[] }> {
  const accepted: Socket[] = [];
  const port = await listen(
    createServer((s) => {
      s.on("error", () => undefined);
      accepted.push(s);
      if (greeting) s.write(greeting);
    }),
  );
  return { port, accepted };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300 && !check(); i++) await sleep(10);
  assert.ok(check(), what);
}

describe("SpareConnection", () => {
  test("none until refilled; then one socket, handed over once", async () => {
    const { port, accepted } = await tcpServer();
    const spare = new SpareConnection("127.0.0.1", port);
    assert.equal(spare.take(), undefined);
    spare.refill();
    spare.refill(); // one at most
    await until(() => accepted.length === 1, "the spare connected");
    await sleep(30);
    assert.equal(accepted.length, 1);
    const socket = spare.take();
    assert.ok(socket && socket.writable);
    assert.equal(spare.take(), undefined);
    socket.destroy();
    spare.stop();
  });

  test("one still connecting is handed over (requests closer than a connect threw every spare away, a review found), and then connects", async () => {
    const { port, accepted } = await tcpServer();
    const spare = new SpareConnection("127.0.0.1", port);
    spare.refill();
    const socket = spare.take();
    assert.ok(socket?.connecting, "handed over while connecting");
    await once(socket, "connect");
    await until(() => accepted.length === 1, "it connected");
    socket.destroy();
    spare.stop();
  });

  test("a spare the backend closed is dropped: the next refill opens another", async () => {
    const { port, accepted } = await tcpServer();
    const spare = new SpareConnection("127.0.0.1", port);
    spare.refill();
    await until(() => accepted.length === 1, "the spare connected");
    accepted[0].destroy();
    // While the closed one is still held, refill opens nothing.
    await until(() => {
      spare.refill();
      return accepted.length === 2;
    }, "a new spare after the first was closed");
    spare.stop();
  });

  test("a spare the backend wrote to (a proxy's 408 on an idle connection) is not handed over: it would be read as the answer (a review found)", async () => {
    const { port, accepted } = await tcpServer("HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n\r\n");
    const spare = new SpareConnection("127.0.0.1", port);
    spare.refill();
    await until(() => accepted.length === 1, "the spare connected");
    await sleep(100); // the greeting arrives and is read into the socket's buffer
    const taken = spare.take();
    taken?.destroy();
    assert.equal(taken, undefined);
    spare.stop();
  });

  test("an old spare is closed, not handed over; a refused one is dropped; after stop none is opened", async () => {
    const { port, accepted } = await tcpServer();
    const spare = new SpareConnection("127.0.0.1", port, 30);
    spare.refill();
    await until(() => accepted.length === 1, "the spare connected");
    await sleep(60);
    assert.equal(spare.take(), undefined);
    let closed = false;
    accepted[0].on("close", () => (closed = true));
    await until(() => closed, "the old spare was closed");
    // Nothing listens on port 1: refused, and dropped without an unhandled error.
    const refused = new SpareConnection("127.0.0.1", 1);
    refused.refill();
    await sleep(50);
    assert.equal(refused.take(), undefined);
    spare.stop();
    spare.refill();
    await sleep(50);
    assert.equal(accepted.length, 1);
  });
});

/** An SSE backend answering every POST with two events (llama.cpp's shape), /health and /slots; it notes when each POST's connection was accepted. */
async function sseServer(): Promise<{ port: number; connections: () => number; open: () => number; postConnectionsAt: number[] }> {
  let connections = 0;
  let open = 0;
  const acceptedAt = new WeakMap<Socket, number>();
  const postConnectionsAt: number[] = [];
  const server = createHttpServer((req, res) => {
    if (req.method === "GET") return void res.end(req.url === "/slots" ? "[]" : "{}");
    postConnectionsAt.push(acceptedAt.get(req.socket) ?? NaN);
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end('data: {"content":"a","tokens":[1],"stop":false}\n\ndata: {"content":"b","tokens":[2],"stop":true,"stop_type":"limit","tokens_predicted":2,"tokens_evaluated":1}\n\n');
    });
  });
  server.on("connection", (s: Socket) => {
    connections++;
    open++;
    s.on("close", () => open--);
    acceptedAt.set(s, performance.now());
  });
  return { port: await listen(server), connections: () => connections, open: () => open, postConnectionsAt };
}

describe("startCall on a spare connection", () => {
  function call(port: number, spare: Socket | undefined, check?: (hop: HopTrace) => void): Promise<{ events: unknown[]; hop: HopTrace; failure?: BackendFailure }> {
    const hop = new HopTrace("b", "test", `http://127.0.0.1:${port}/completion`);
    const events: unknown[] = [];
    return new Promise((resolve) => {
      startCall(new URL(`http://127.0.0.1:${port}/completion`), { prompt: "x" }, hop, {
        event: (d) => events.push(d),
        end: () => resolve({ events, hop }),
        failed: (failure) => resolve({ events, hop, failure }),
      }, { agent: false, spare, headers: {}, firstByteTimeoutMs: 5000, idleTimeoutMs: 5000 });
      if (check) process.nextTick(() => check(hop));
    });
  }

  test("the request goes on the spare: no new connection, and connected at once (not after a connect)", async () => {
    const { port, connections } = await sseServer();
    const socket = connect({ host: "127.0.0.1", port });
    await once(socket, "connect");
    let connectedAtOnce = false;
    const { events, failure } = await call(port, socket, (hop) => (connectedAtOnce = !Number.isNaN(hop.marks.get(HopPoint.connected))));
    assert.equal(failure, undefined);
    assert.equal(events.length, 2);
    assert.equal(connections(), 1, "the spare's connection carried the request");
    assert.ok(connectedAtOnce, "connected was marked in the call's first tick");
  });

  test("a spare the backend closed as it was used: the call is made again on a new connection, and succeeds", async () => {
    const { port, connections } = await sseServer();
    // A spare whose other end is gone: its first write meets a reset.
    const { port: deadPort, accepted } = await tcpServer();
    const socket = connect({ host: "127.0.0.1", port: deadPort });
    await once(socket, "connect");
    await until(() => accepted.length === 1, "accepted");
    // Reset by the backend in the same turn as the call is made: its reset is read only once the request is on it.
    accepted[0].resetAndDestroy();
    // The URL is the live backend's: the retry goes there on a connection of its own.
    const { events, failure } = await call(port, socket);
    assert.equal(failure, undefined, failure?.message);
    assert.equal(events.length, 2);
    assert.equal(connections(), 1);
  });
});

describe("RemoteBackend and its spare", () => {
  test("a llama.cpp backend's next request goes on a connection opened before it was relayed; none is left open after stop", async () => {
    const { port, open, postConnectionsAt } = await sseServer();
    const url = `http://127.0.0.1:${port}`;
    const b = new RemoteBackend({ name: "s", url, kind: "llama.cpp", maxOutstanding: 4, healthIntervalMs: 60_000, firstByteTimeoutMs: 5000, idleTimeoutMs: 5000 });
    await b.start();
    assert.ok(b.healthy);
    const relay = (): Promise<number> =>
      new Promise((resolve, reject) => {
        const at = performance.now();
        b.relay({ path: "/completion", body: { prompt: "x" } }, new HopTrace("s", "test", url), { event: () => undefined, end: () => resolve(at), failed: reject }, "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01", "spare-1");
      });
    const first = await relay();
    assert.ok(postConnectionsAt[0] >= first, "the first request connected anew");
    await sleep(50); // the spare is opened once the first request has gone out
    const second = await relay();
    assert.ok(postConnectionsAt[1] < second, "the second request's connection was opened before it was relayed");
    await until(() => open() === 1, "the next spare is open");
    b.stop();
    await until(() => open() === 0, "stop closed the spare");
  });
});
