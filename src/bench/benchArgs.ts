/** The options of a `npm run bench:*` script: `--name value` counts (positive whole numbers) and strings, each with a default, and on/off `--flag`s. */
import { parseArgs } from "node:util";
import { isPresetName, PRESET_NAMES, type PresetName } from "../model/presets.js";

type Option = { type: "string"; default: string } | { type: "boolean"; default: boolean };

/**
 * `--help` prints the options with their defaults and exits; an unknown or
 * malformed option says so in one line, with the options, and exits with 2
 * (parseArgs' own error is a stack trace).
 */
export function benchArgs<K extends string, F extends string = never, S extends string = never>(
  defaults: Record<K, number>,
  flags: readonly F[] = [],
  strings: Record<S, string> = {} as Record<S, string>,
): Record<K, number> & Record<F, boolean> & Record<S, string> {
  const options: Record<string, Option> = {};
  for (const [name, value] of Object.entries<number>(defaults)) options[name] = { type: "string", default: String(value) };
  for (const [name, value] of Object.entries<string>(strings)) options[name] = { type: "string", default: value };
  for (const flag of flags) options[flag] = { type: "boolean", default: false };
  const usage = `options: ${Object.entries(options)
    .map(([name, o]) => (o.type === "boolean" ? `--${name}` : `--${name} ${String(o.default)}`))
    .join(" ")} (--help: this line)`;
  const values = parse(options, usage);
  lastUsage = usage;
  const out = {} as Record<K, number> & Record<F, boolean> & Record<S, string>;
  for (const name of Object.keys(defaults) as K[]) {
    const n = Number(values[name]);
    if (!(n > 0) || !Number.isSafeInteger(n)) fail(`--${name} must be a positive whole number, got "${String(values[name])}"`, usage);
    (out as Record<K, number>)[name] = n;
  }
  for (const name of Object.keys(strings) as S[]) (out as Record<S, string>)[name] = String(values[name]);
  for (const flag of flags) (out as Record<F, boolean>)[flag] = values[flag] === true;
  return out;
}

function parse(options: Record<string, Option>, usage: string): Record<string, string | boolean | undefined> {
  if (process.argv.slice(2).some((a) => a === "--help" || a === "-h")) {
    console.log(usage);
    process.exit(0);
  }
  try {
    return parseArgs({ options, allowPositionals: false }).values;
  } catch (err) {
    // parseArgs' messages span lines and mention its own API; the first line says what was wrong.
    return fail((err as Error).message.split("\n")[0], usage);
  }
}

/**
 * A string option counting something that may be 0 to switch it off
 * (benchArgs' counts must be positive): its whole number, or the one-line
 * error, naming what it counts and what 0 means.
 */
export function zeroOrCount(name: string, text: string, what: string, zero: string): number {
  return /^\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : argError(`--${name} must be a whole number of ${what} (0: ${zero}), got "${text}"`);
}

/** The usage line of the options parsed last, for `argError`. */
let lastUsage = "";

/** An option's value the bench cannot use, found after parsing: said as benchArgs says its own (one line, the options, exit 2). */
export const argError = (message: string): never => fail(message, lastUsage);

function fail(message: string, usage: string): never {
  process.stderr.write(`error: ${message}\n${usage}\n`);
  process.exit(2);
}

/** A model preset named by an option (`--preset small`); an unknown one says which exist, in one line. */
export function presetArg(name: string, option = "preset"): PresetName {
  return isPresetName(name) ? name : fail(`unknown preset "${name}" in --${option}`, `presets: ${PRESET_NAMES.join(", ")}`);
}

/** A comma-separated list of them (`--presets small,medium`). */
export const presetsArg = (text: string): PresetName[] => text.split(",").map((name) => presetArg(name, "presets"));

/** A comma-separated list of counts (`--batches 1,4,8`), each a positive whole number. */
export function countsArg(text: string, option: string): number[] {
  const counts = text.split(",").map(Number);
  return counts.every((n) => Number.isSafeInteger(n) && n > 0) ? counts : argError(`--${option} must be positive whole numbers separated by commas, got "${text}"`);
}
