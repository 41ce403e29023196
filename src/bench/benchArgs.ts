/** The numeric options of a `npm run bench:*` script: `--name value`, each a positive number with a default. */
import { parseArgs } from "node:util";

export function benchArgs<K extends string>(defaults: Record<K, number>): Record<K, number> {
  const options = Object.fromEntries(Object.entries(defaults).map(([name, value]) => [name, { type: "string" as const, default: String(value) }]));
  const { values } = parseArgs({ options });
  const out = {} as Record<K, number>;
  for (const name of Object.keys(defaults) as K[]) {
    const n = Number(values[name]);
    if (!(n > 0) || !Number.isFinite(n)) throw new Error(`--${name} must be a positive number, got "${String(values[name])}"`);
    out[name] = n;
  }
  return out;
}
