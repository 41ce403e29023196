/**
 * Recent runtime events (GC pauses, event-loop stalls) as intervals on the
 * one clock, in a fixed ring: bounded memory, and a fast answer to "how much
 * of [start, end] did they cover?".
 */
export interface Overlap {
  ms: number;
  count: number;
}

export class EventRing {
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;
  private readonly kinds: Uint8Array;
  private next = 0;
  private size = 0;
  /** The longest event kept: a search can stop once events start before (query start − this). */
  private longest = 0;

  constructor(readonly capacity: number) {
    this.starts = new Float64Array(capacity);
    this.ends = new Float64Array(capacity);
    this.kinds = new Uint8Array(capacity);
  }

  /** Events must be added in order of their start. */
  add(start: number, end: number, kind = 0): void {
    this.starts[this.next] = start;
    this.ends[this.next] = end;
    this.kinds[this.next] = kind;
    this.next = (this.next + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
    if (end - start > this.longest) this.longest = end - start;
  }

  get length(): number {
    return this.size;
  }

  /** Visits the events that overlap [start, end], newest first. */
  forEachOverlapping(start: number, end: number, visit: (s: number, e: number, kind: number) => void): void {
    for (let k = 1; k <= this.size; k++) {
      const i = (this.next - k + this.capacity) % this.capacity;
      const s = this.starts[i];
      if (s + this.longest < start) break;
      const e = this.ends[i];
      if (e > start && s < end) visit(s, e, this.kinds[i]);
    }
  }

  /**
   * Milliseconds of [start, end] covered by events, and how many touched it.
   * Covered once however many events cover it: GC entries can overlap (a
   * major collection and its weak callbacks), and a sum would count more
   * pause than there was time.
   */
  overlap(start: number, end: number): Overlap {
    const result = { ms: 0, count: 0 };
    if (!(end > start)) return result;
    const pieces: Array<[number, number]> = [];
    this.forEachOverlapping(start, end, (s, e) => {
      pieces.push([Math.max(s, start), Math.min(e, end)]);
    });
    result.count = pieces.length;
    if (pieces.length > 1) pieces.sort((a, b) => a[0] - b[0]);
    let lo = NaN;
    let hi = NaN;
    for (const [from, to] of pieces) {
      if (from <= hi) {
        hi = Math.max(hi, to);
        continue;
      }
      if (hi > lo) result.ms += hi - lo;
      lo = from;
      hi = to;
    }
    if (hi > lo) result.ms += hi - lo;
    return result;
  }

  /** All events kept, oldest first. */
  all(): Array<{ start: number; end: number; kind: number }> {
    const out = [];
    for (let k = this.size; k >= 1; k--) {
      const i = (this.next - k + this.capacity) % this.capacity;
      out.push({ start: this.starts[i], end: this.ends[i], kind: this.kinds[i] });
    }
    return out;
  }
}
