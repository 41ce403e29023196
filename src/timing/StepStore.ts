/**
 * The most recent steps, by id, in a ring of preallocated columns: recording
 * a step copies its marks and rows into the slot for its id (ids are
 * consecutive, so the slot is id mod capacity) and keeps no object of the
 * engine's alive, so a long ring costs the garbage collector nothing.
 */
import { Marks } from "./Marks.js";
import { STEP_POINTS } from "./points.js";
import type { EngineStep, StepRecord, StepRow } from "./StepRecord.js";

const POINTS = STEP_POINTS.length;

export class StepStore {
  private readonly ids: Float64Array;
  private readonly marks: Float64Array;
  private readonly gaps: Float64Array;
  private readonly decodes: Int32Array;
  private readonly waiting: Int32Array;
  /** Per slot, reused arrays: no allocation per step once a slot has seen its widest batch. */
  private readonly rowIds: string[][];
  private readonly rowTokens: number[][];
  private readonly rowPrefill: boolean[][];
  private readonly rowPositions: number[][];
  /** The newest step recorded. */
  latest = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.ids = new Float64Array(capacity).fill(-1);
    this.marks = new Float64Array(capacity * POINTS);
    this.gaps = new Float64Array(capacity);
    this.decodes = new Int32Array(capacity);
    this.waiting = new Int32Array(capacity);
    this.rowIds = Array.from({ length: capacity }, () => []);
    this.rowTokens = Array.from({ length: capacity }, () => []);
    this.rowPrefill = Array.from({ length: capacity }, () => []);
    this.rowPositions = Array.from({ length: capacity }, () => []);
  }

  add(step: EngineStep): void {
    const slot = step.id % this.capacity;
    this.ids[slot] = step.id;
    this.marks.set(step.marks.t, slot * POINTS);
    this.gaps[slot] = step.gap;
    this.decodes[slot] = step.decodes;
    this.waiting[slot] = step.waiting;
    const ids = this.rowIds[slot];
    const tokens = this.rowTokens[slot];
    const prefill = this.rowPrefill[slot];
    const positions = this.rowPositions[slot];
    const n = step.rows.length;
    ids.length = tokens.length = prefill.length = positions.length = n;
    for (let i = 0; i < n; i++) {
      const row = step.rows[i];
      ids[i] = row.request.id;
      tokens[i] = row.tokens.length;
      prefill[i] = row.kind === "prefill";
      positions[i] = row.position;
    }
    if (step.id > this.latest) this.latest = step.id;
  }

  has(id: number): boolean {
    return this.ids[id % this.capacity] === id;
  }

  /** One mark of a kept step (NaN if it is no longer kept): no allocation. */
  mark(id: number, point: number): number {
    const slot = id % this.capacity;
    return this.ids[slot] === id ? this.marks[slot * POINTS + point] : NaN;
  }

  gap(id: number): number {
    return this.has(id) ? this.gaps[id % this.capacity] : NaN;
  }

  rows(id: number): number {
    return this.has(id) ? this.rowIds[id % this.capacity].length : 0;
  }

  /** The step as a record (a view on its slot; for the debug views), unless it has been overwritten. */
  get(id: number): StepRecord | undefined {
    if (!this.has(id)) return undefined;
    const slot = id % this.capacity;
    const rows: StepRow[] = this.rowIds[slot].map((requestId, i) => ({ requestId, tokens: this.rowTokens[slot][i], kind: this.rowPrefill[slot][i] ? "prefill" : "decode", position: this.rowPositions[slot][i] }));
    const marks = new Marks(POINTS, this.marks.subarray(slot * POINTS, (slot + 1) * POINTS));
    return { id, marks, gap: this.gaps[slot], decodes: this.decodes[slot], waiting: this.waiting[slot], rows };
  }

  /** Steps kept, oldest first. */
  all(): StepRecord[] {
    const out: StepRecord[] = [];
    for (let id = Math.max(1, this.latest - this.capacity + 1); id <= this.latest; id++) {
      const s = this.get(id);
      if (s) out.push(s);
    }
    return out;
  }
}
