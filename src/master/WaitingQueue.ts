/** The FIFO of requests waiting for a row. O(1) push and shift; a cancelled request is removed at once. */
import type { Request } from "./Request.js";

export class WaitingQueue {
  private items: Array<Request | undefined> = [];
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(r: Request): void {
    this.items.push(r);
    this.count++;
  }

  peek(): Request | undefined {
    this.skipHoles();
    return this.items[this.head];
  }

  shift(): Request | undefined {
    this.skipHoles();
    if (this.head >= this.items.length) return undefined;
    const r = this.items[this.head];
    this.items[this.head++] = undefined;
    this.count--;
    this.compact();
    return r;
  }

  remove(r: Request): boolean {
    const i = this.items.indexOf(r, this.head);
    if (i === -1) return false;
    this.items[i] = undefined;
    this.count--;
    this.compact();
    return true;
  }

  /** Position in the queue (0 = next to be admitted), -1 if absent. */
  positionOf(r: Request): number {
    let pos = 0;
    for (let i = this.head; i < this.items.length; i++) {
      if (this.items[i] === r) return pos;
      if (this.items[i]) pos++;
    }
    return -1;
  }

  drain(): Request[] {
    const all = this.items.slice(this.head).filter((r): r is Request => r !== undefined);
    this.items = [];
    this.head = this.count = 0;
    return all;
  }

  private skipHoles(): void {
    while (this.head < this.items.length && this.items[this.head] === undefined) this.head++;
  }

  private compact(): void {
    if (this.count === 0) {
      this.items.length = this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
