/**
 * The HTTP server's connections, and which of them carry a request it has
 * received, so that a shutdown can close the others as soon as the drain is
 * over. Node's closeIdleConnections() leaves open two kinds that carry none
 * — one that has sent nothing yet (a browser's spare connection) and one
 * whose request's headers are still arriving — and those held the close for
 * the whole grace (2 s).
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";

export class Connections {
  private readonly open = new Set<Socket>();
  /** Responses not yet ended, per connection (pipelined requests queue theirs). */
  private readonly serving = new Map<Socket, number>();

  watch<S extends Server>(server: S): S {
    server.on("connection", (socket: Socket) => {
      this.open.add(socket);
      socket.once("close", () => {
        this.open.delete(socket);
        this.serving.delete(socket);
      });
    });
    return server;
  }

  /** A request handed to the app: its connection carries it until its response ends or the connection goes. */
  received(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    this.serving.set(socket, (this.serving.get(socket) ?? 0) + 1);
    res.once("close", () => {
      const left = (this.serving.get(socket) ?? 1) - 1;
      if (left > 0) this.serving.set(socket, left);
      else this.serving.delete(socket);
    });
  }

  /** Closes every connection that carries no received request; one whose last response is still buffered is ended after it, not cut. */
  closeUnserved(): void {
    for (const socket of this.open) {
      if (this.serving.has(socket)) continue;
      if (socket.writableLength > 0) socket.end();
      else socket.destroy();
    }
  }
}
