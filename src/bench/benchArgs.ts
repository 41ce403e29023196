/** The options of a `npm run bench:*` script: `--name value`, each a positive number with a default, and on/off `--flag`s. */
import { parseArgs } from "node:util";

export function benchArgs<K extends string, F extends string = never>(defaults: Record<K, number>, flags: readonly F[] = []): Record<K, number> & Record<F, boolean> {
  const options: Record<string, { type: "string"; default: string } | { type: "boolean"; default: boolean }> = Object.fromEntries(Object.entries(defaults).map(([name, value]) => [name, { type: "string" as const, default: String(value) }]));
  for (const flag of flags) options[flag] = { type: "boolean", default: false };
  const { values } = parseArgs({ options });
  const out = {} as Record<K, number> & Record<F, boolean>;
  for (const name of Object.keys(defaults) as K[]) {
    const n = Number(values[name]);
    if (!(n > 0) || !Number.isFinite(n)) throw new Error(`--${name} must be a positive number, got "${String(values[name])}"`);
    (out as Record<K, number>)[name] = n;
  }
  for (const flag of flags) (out as Record<F, boolean>)[flag] = values[flag] === true;
  return out;
}
