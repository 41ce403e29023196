/**
 * The floor of a hop on this machine, for `bench:gateway --floor`: the least
 * a relay in Node can do between a client and llama-server. `pipe` copies
 * bytes both ways over TCP; `http` is a bare node:http proxy that reads the
 * request, sends it on a new connection and writes each chunk of the answer
 * as it comes, parsing none of it. What our gateway adds beyond these is its
 * own work: routing, checks, timing, reading each event and writing it in
 * the client's format. Each runs in a child process of its own, as the
 * gateway does: `node referenceRelay.js pipe|http http://host:port`.
 */
import { createServer as createHttpServer, request } from "node:http";
import { connect, createServer, type Server } from "node:net";
import { fileURLToPath } from "node:url";
import { benchServerOf, spawnServer, type BenchServer } from "./benchServer.js";

export type RelayKind = "pipe" | "http";

/** Starts a relay to `target`; resolves once it listens. */
export async function startReferenceRelay(kind: RelayKind, target: string): Promise<BenchServer> {
  const child = await spawnServer(process.execPath, [fileURLToPath(import.meta.url), kind, target], {
    name: `the ${kind} relay`,
    ready: (stderr) => /listening on (http:\/\/\S+)/.exec(stderr)?.[1],
    startTimeoutMs: 10_000,
  });
  return benchServerOf(child);
}

function pipeRelay(host: string, port: number): Server {
  return createServer((client) => {
    const backend = connect({ host, port, noDelay: true });
    client.setNoDelay(true);
    client.pipe(backend).pipe(client);
    client.on("error", () => backend.destroy());
    backend.on("error", () => client.destroy());
  });
}

function httpRelay(host: string, port: number): Server {
  return createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const out = request({ host, port, path: req.url, method: req.method, agent: false, headers: { "content-type": req.headers["content-type"] ?? "application/json", "content-length": body.length } }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, { "content-type": answer.headers["content-type"] ?? "text/event-stream" });
        answer.on("data", (c: Buffer) => res.write(c));
        answer.on("end", () => res.end());
      });
      out.on("error", () => res.destroy());
      out.end(body);
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [kind, target] = process.argv.slice(2);
  const url = new URL(target);
  const server = (kind === "pipe" ? pipeRelay : httpRelay)(url.hostname, Number(url.port) || 80);
  server.listen(0, "127.0.0.1", () => {
    const address = server.address();
    process.stderr.write(`listening on http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}\n`);
  });
}
