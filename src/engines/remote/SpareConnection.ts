/**
 * A connection to a backend opened ahead of its next request, for backends
 * that close theirs after every streamed answer (llama-server does): without
 * it each request waits for a TCP connect (about 0.2 ms on loopback here)
 * before it can be sent. The next spare is opened after a request has gone
 * out, while the backend works on it. A spare is used only while young:
 * llama-server (cpp-httplib) closes a connection that sends nothing for 5 s,
 * and one it closes just as a request is written fails that request's send,
 * which is then made again on a connection of its own (BackendCall). One
 * spare at most, plain HTTP only; none is opened for a backend that is down.
 */
import { connect, type Socket } from "node:net";

/** Older spares are closed unused: well inside the 5 s after which llama-server closes an idle connection. */
export const SPARE_MAX_IDLE_MS = 2000;

export class SpareConnection {
  private socket: Socket | undefined;
  /** Our listeners on the spare, taken off when it is handed over (the socket's own stay). */
  private drop: (() => void) | undefined;
  private openedAt = 0;
  private stopped = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly maxIdleMs = SPARE_MAX_IDLE_MS,
  ) {}

  /**
   * The spare, handed over (the caller owns it now), or undefined. One still
   * connecting is handed over too (a request on it is written once it
   * connects): requests that come closer together than a connect would
   * otherwise throw every spare away. One that is old, or has anything to
   * read (a backend says nothing on an idle connection unless it is closing
   * it, e.g. a proxy's 408), is closed instead.
   */
  take(): Socket | undefined {
    const socket = this.socket;
    if (!socket) return undefined;
    this.socket = undefined;
    for (const event of ["error", "end", "close"]) socket.off(event, this.drop!);
    if (socket.destroyed || !socket.writable || socket.readableLength > 0 || performance.now() - this.openedAt > this.maxIdleMs) {
      socket.destroy();
      return undefined;
    }
    socket.ref();
    return socket;
  }

  /** Opens the next spare if there is none: called after a request went out, off its critical path. */
  refill(): void {
    if (this.stopped || this.socket) return;
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    this.socket = socket;
    this.openedAt = performance.now();
    // An idle spare keeps no process alive; one refused, reset or closed by the backend is simply dropped.
    socket.unref();
    const drop = (): void => {
      if (this.socket === socket) this.socket = undefined;
      socket.destroy();
    };
    this.drop = drop;
    socket.on("error", drop);
    socket.on("end", drop);
    socket.on("close", drop);
    socket.once("connect", () => {
      this.openedAt = performance.now();
    });
  }

  stop(): void {
    this.stopped = true;
    this.socket?.destroy();
    this.socket = undefined;
  }
}
