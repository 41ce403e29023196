/** The most recent steps, by id, in a ring buffer (step ids are consecutive, so a slot is id mod capacity). */
import type { StepRecord } from "./StepRecord.js";

export class StepStore {
  private readonly ring: Array<StepRecord | undefined>;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.ring = new Array(capacity);
  }

  add(step: StepRecord): void {
    this.ring[step.id % this.capacity] = step;
  }

  /** The step, unless it has been overwritten by a newer one. */
  get(id: number): StepRecord | undefined {
    const s = this.ring[id % this.capacity];
    return s?.id === id ? s : undefined;
  }

  /** Steps kept, oldest first. */
  all(): StepRecord[] {
    return this.ring.filter((s): s is StepRecord => s !== undefined).sort((a, b) => a.id - b.id);
  }
}
