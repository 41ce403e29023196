/** The W3C trace context sent with every relayed request, so that the backend's spans join the caller's trace. */
import { randomBytes } from "node:crypto";

/** A W3C traceparent continuing the caller's trace (or starting one), with a new span id for the hop. */
export function hopTraceparent(caller: string | undefined): string {
  const m = caller ? /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(caller.trim()) : null;
  const traceId = m && !/^0+$/.test(m[1]) ? m[1] : randomHex(16);
  return `00-${traceId}-${randomHex(8)}-01`;
}

/** Random bytes for the ids, drawn from a pool filled 4 KiB at a time: a randomBytes call per id showed in a CPU profile of the relay, cold between requests. */
let pool = Buffer.alloc(0);
let drawn = 0;
function randomHex(bytes: number): string {
  if (drawn + bytes > pool.length) {
    pool = randomBytes(4096);
    drawn = 0;
  }
  drawn += bytes;
  return pool.toString("hex", drawn - bytes, drawn);
}
