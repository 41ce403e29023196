/**
 * A small seeded PRNG (xoshiro128**, seeded through splitmix32) so synthetic
 * weights are identical on every machine and Node version: Math.random cannot
 * be seeded.
 */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** `streams` derive independent sequences from one seed (for example a seed per tensor). */
  constructor(seed: number, ...streams: number[]) {
    let s = seed >>> 0;
    for (const x of streams) s = (Math.imul(s ^ (x >>> 0), 0x9e3779b1) + 0x7f4a7c15) >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Fills `out` with uniform values in [-scale, scale). */
  fillUniform(out: Float32Array, scale: number): void {
    const k = (2 * scale) / 4294967296;
    for (let i = 0; i < out.length; i++) out[i] = this.nextUint32() * k - scale;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
