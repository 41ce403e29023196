/** The options of a `npm run bench:*` script: `--name value` positive numbers and strings, each with a default, and on/off `--flag`s. */
import { parseArgs } from "node:util";

type Option = { type: "string"; default: string } | { type: "boolean"; default: boolean };

export function benchArgs<K extends string, F extends string = never, S extends string = never>(
  defaults: Record<K, number>,
  flags: readonly F[] = [],
  strings: Record<S, string> = {} as Record<S, string>,
): Record<K, number> & Record<F, boolean> & Record<S, string> {
  const options: Record<string, Option> = {};
  for (const [name, value] of Object.entries<number>(defaults)) options[name] = { type: "string", default: String(value) };
  for (const [name, value] of Object.entries<string>(strings)) options[name] = { type: "string", default: value };
  for (const flag of flags) options[flag] = { type: "boolean", default: false };
  const { values } = parseArgs({ options });
  const out = {} as Record<K, number> & Record<F, boolean> & Record<S, string>;
  for (const name of Object.keys(defaults) as K[]) {
    const n = Number(values[name]);
    if (!(n > 0) || !Number.isFinite(n)) throw new Error(`--${name} must be a positive number, got "${String(values[name])}"`);
    (out as Record<K, number>)[name] = n;
  }
  for (const name of Object.keys(strings) as S[]) (out as Record<S, string>)[name] = String(values[name]);
  for (const flag of flags) (out as Record<F, boolean>)[flag] = values[flag] === true;
  return out;
}
