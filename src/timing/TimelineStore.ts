/** The most recent request timelines, in a ring buffer: memory stays bounded however long the server runs. */
import type { RequestTimeline } from "./RequestTimeline.js";

export class TimelineStore {
  private readonly ring: Array<RequestTimeline | undefined>;
  private readonly byId = new Map<string, RequestTimeline>();
  private next = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.ring = new Array(capacity);
  }

  add(t: RequestTimeline): void {
    const evicted = this.ring[this.next];
    if (evicted && this.byId.get(evicted.id) === evicted) this.byId.delete(evicted.id);
    this.ring[this.next] = t;
    this.byId.set(t.id, t); // a repeated x-request-id: the latest wins
    this.next = (this.next + 1) % this.capacity;
  }

  get(id: string): RequestTimeline | undefined {
    return this.byId.get(id);
  }

  /** Newest first. */
  recent(limit = this.capacity): RequestTimeline[] {
    const out: RequestTimeline[] = [];
    for (let k = 1; k <= this.capacity && out.length < limit; k++) {
      const t = this.ring[(this.next - k + this.capacity) % this.capacity];
      if (t) out.push(t);
    }
    return out;
  }
}
