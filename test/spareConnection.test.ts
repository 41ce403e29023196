/**
 * The connection opened ahead of a llama.cpp backend's next request
 * (SpareConnection), and a call made on one (startCall with `spare`): handed
 * over only while connected and young; dropped when the backend closes it;
 * and a spare the backend closed just as it was used costs the request
 * nothing: the call is made again on a connection of its own.
 */
import assert from "node:assert/strict";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { after, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { BackendFailure, startCall } from "../src/engines/remote/BackendCall.js";
import { SpareConnection } from "../src/engines/remote/SpareConnection.js";
import { HopTrace } from "../src/timing/HopTrace.js";
import { HopPoint } from "../src/timing/points.js";

const servers: Array<Server | HttpServer> = [];
after(() => {
  for (const s of servers) s.close();
});

/** A TCP server that keeps what it accepts (to close them when asked). */
async function tcpServer(): Promise<{ port: number; accepted: Socket[] }> {
  const accepted: Socket[] = [];
  const server = createServer((s) => {
    s.on("error", () => undefined);
    accepted.push(s);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, accepted };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await sleep(10);
  assert.ok(check(), what);
}

describe("SpareConnection", () => {
  test("none until refilled; then one connected socket, handed over once", async () => {
    const { port, accepted } = await tcpServer();
    const spare = new SpareConnection("127.0.0.1", port);
    assert.equal(spare.take(), undefined);
    spare.refill();
    spare.refill(); // one at most
    await until(() => accepted.length === 1, "the spare connected");
    await sleep(20);
    assert.equal(accepted.length, 1);
    const socket = spare.take();
    assert.ok(socket && !socket.connecting && socket.writable);
    assert.equal(spare.take(), undefined);
    socket.destroy();
    spare.stop();
  });

  test("a spare the backend closed is dropped, not handed over", async () => {
    const { port, accepted } = await tcpServer();
    const spare = new SpareConnection("127.0.0.1", port);
    spare.refill();
    await until(() => accepted.length === 1, "the spare connected");
    await sleep(20);
    accepted[0].destroy();
    await sleep(50);
    assert.equal(spare.take(), undefined);
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

describe("startCall on a spare connection", () => {
  /** An SSE backend: two events and the end, on whatever connection the request comes. */
  async function sseServer(): Promise<{ port: number; connections: () => number }> {
    let connections = 0;
    const server = createHttpServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.end('data: {"n":1}\n\ndata: {"n":2}\n\n');
      });
    });
    server.on("connection", () => connections++);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { port: (server.address() as AddressInfo).port, connections: () => connections };
  }

  function call(port: number, spare: Socket | undefined): Promise<{ events: unknown[]; hop: HopTrace; failure?: BackendFailure }> {
    const hop = new HopTrace("b", "test", `http://127.0.0.1:${port}/completion`);
    const events: unknown[] = [];
    return new Promise((resolve) => {
      startCall(new URL(`http://127.0.0.1:${port}/completion`), { prompt: "x" }, hop, {
        event: (d) => events.push(d),
        end: () => resolve({ events, hop }),
        failed: (failure) => resolve({ events, hop, failure }),
      }, { agent: false, spare, headers: {}, firstByteTimeoutMs: 5000, idleTimeoutMs: 5000 });
    });
  }

  test("the request goes on the spare: no new connection, connected at once", async () => {
    const { port, connections } = await sseServer();
    const spare = new SpareConnection("127.0.0.1", port);
    spare.refill();
    await until(() => connections() === 1, "the spare connected");
    await sleep(20);
    const socket = spare.take();
    assert.ok(socket);
    const { events, hop, failure } = await call(port, socket);
    assert.equal(failure, undefined);
    assert.deepEqual(events, [{ n: 1 }, { n: 2 }]);
    assert.equal(connections(), 1, "the spare's connection carried the request");
    assert.ok(hop.marks.get(HopPoint.connected) <= hop.marks.get(HopPoint.sent));
  });

  test("a spare the backend closed as it was used: the call is made again on a new connection, and succeeds", async () => {
    const { port, connections } = await sseServer();
    // A spare whose other end is gone: its first write meets a reset.
    const { port: deadPort, accepted } = await tcpServer();
    const dead = new SpareConnection("127.0.0.1", deadPort);
    dead.refill();
    await until(() => accepted.length === 1, "the spare connected");
    await sleep(20);
    const socket = dead.take()!;
    assert.ok(socket);
    // Reset by the backend in the same turn as the call is made: its reset is read only once the request is on it.
    accepted[0].resetAndDestroy();
    // The URL is the live backend's: the retry goes there on a connection of its own.
    const { events, failure } = await call(port, socket);
    assert.equal(failure, undefined, failure?.message);
    assert.deepEqual(events, [{ n: 1 }, { n: 2 }]);
    assert.equal(connections(), 1);
  });
});
