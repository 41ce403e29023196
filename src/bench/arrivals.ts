/**
 * When the load client sends each request: at a constant rate (spaced 1/rate
 * apart, like llm-serving's competition client), as a Poisson process, or
 * with gamma-distributed gaps whose burstiness sets how clumped they are
 * (shape = burstiness: 1 is Poisson, below 1 burstier, above 1 more regular;
 * the mean rate stays `rate`). Seeded: the same arguments give the same plan.
 */
import { Prng } from "../model/Prng.js";

export type ArrivalPattern = "constant" | "poisson" | "gamma";

export interface ArrivalOptions {
  /** Requests per second. */
  rate: number;
  pattern: ArrivalPattern;
  burstiness?: number;
  count: number;
  seed?: number;
}

class Uniform {
  private readonly prng: Prng;
  constructor(seed: number) {
    this.prng = new Prng(seed, 0xa441);
  }
  /** (0, 1] */
  next(): number {
    return (this.prng.nextUint32() + 1) / 4294967296;
  }
  normal(): number {
    return Math.sqrt(-2 * Math.log(this.next())) * Math.cos(2 * Math.PI * this.next());
  }
}

/** Marsaglia and Tsang's gamma sampler (shape k, scale 1); for k < 1 via the k + 1 boost. */
function gamma(u: Uniform, k: number): number {
  if (k < 1) return gamma(u, k + 1) * u.next() ** (1 / k);
  const d = k - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = u.normal();
    const v = (1 + c * x) ** 3;
    if (v > 0 && Math.log(u.next()) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** Planned send times in ms from the start, one per request. */
export function arrivalPlan(o: ArrivalOptions): number[] {
  if (!(o.rate > 0)) throw new RangeError(`rate must be positive, got ${o.rate}`);
  const mean = 1000 / o.rate;
  const u = new Uniform(o.seed ?? 0);
  const shape = o.pattern === "poisson" ? 1 : (o.burstiness ?? 1);
  if (o.pattern === "gamma" && !(shape > 0)) throw new RangeError(`burstiness must be positive, got ${o.burstiness}`);
  const plan: number[] = [];
  let t = 0;
  for (let i = 0; i < o.count; i++) {
    plan.push(t);
    t += o.pattern === "constant" ? mean : (gamma(u, shape) * mean) / shape;
  }
  return plan;
}
