/** A fixed set of time points for one record (a step or a request), stored by index; NaN = not reached. */
import { now } from "./clock.js";

export class Marks {
  readonly t: Float64Array;

  /** `view`: marks kept elsewhere (a slice of a store's array) instead of a new array. */
  constructor(size: number, view?: Float64Array) {
    this.t = view ?? new Float64Array(size).fill(NaN);
  }

  /** Takes the time point now and returns it. */
  mark(point: number): number {
    return (this.t[point] = now());
  }

  /** Records a time point taken elsewhere (for example around a native call). */
  set(point: number, time: number): void {
    this.t[point] = time;
  }

  get(point: number): number {
    return this.t[point];
  }

  /** Milliseconds from one point to another (NaN if either was not reached). */
  span(from: number, to: number): number {
    return this.t[to] - this.t[from];
  }
}
