/** Parsers for numeric command-line options: a bad value is a clear error naming the option. */
import { InvalidArgumentError } from "commander";

export function integerOption(name: string, min = -Infinity, max = Infinity) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${name} must be an integer, got "${value}"`);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be in [${min}, ${max}], got ${n}`);
    return n;
  };
}

export function numberOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got "${value}"`);
    return n;
  };
}

export function collectOption(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** An http(s) URL: a typo is caught here, not later as an "Invalid URL" from deep inside a request. */
export function urlOption(name: string) {
  return (value: string): string => {
    const scheme = URL.canParse(value) ? new URL(value).protocol : "";
    if (scheme !== "http:" && scheme !== "https:") throw new InvalidArgumentError(`${name} must be an http:// or https:// URL, got "${value}"`);
    return value;
  };
}
