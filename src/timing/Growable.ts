/**
 * A typed array that grows by doubling: per-token times are recorded without
 * knowing up front how many tokens a request will produce (a chat request may
 * allow the whole context and stop after ten).
 */
type TypedArray = Float64Array | Int32Array;

class Growable<T extends TypedArray> {
  private data: T;
  length = 0;

  constructor(
    private readonly make: (n: number) => T,
    private readonly empty: number,
    initial = 16,
  ) {
    this.data = make(initial);
    if (empty !== 0) this.data.fill(empty);
  }

  /** Sets element i (growing as needed; elements never set read as the empty value). */
  set(i: number, value: number): void {
    if (i >= this.data.length) {
      let size = this.data.length * 2;
      while (size <= i) size *= 2;
      const next = this.make(size);
      if (this.empty !== 0) next.fill(this.empty, this.data.length);
      next.set(this.data);
      this.data = next;
    }
    this.data[i] = value;
    if (i >= this.length) this.length = i + 1;
  }

  push(value: number): void {
    this.set(this.length, value);
  }

  get(i: number): number {
    return i < this.length ? this.data[i] : this.empty;
  }

  /** A copy of the elements set so far. */
  toArray(): number[] {
    return Array.from(this.data.subarray(0, this.length));
  }
}

/** Times in ms; NaN where nothing was recorded. */
export class GrowableFloat64 extends Growable<Float64Array> {
  constructor(initial = 16) {
    super((n) => new Float64Array(n), NaN, initial);
  }
}

/** Ids; -1 where nothing was recorded. */
export class GrowableInt32 extends Growable<Int32Array> {
  constructor(initial = 16) {
    super((n) => new Int32Array(n), -1, initial);
  }
}
