/** Parsers for command-line option values: a bad value is a clear error naming the option. */
import { InvalidArgumentError } from "commander";
import { shownRange } from "../master/shownValue.js";
import { GPU_CHOICES, isGpuChoice, parseGpuLayers, type GpuChoice, type GpuLayers } from "../agent/gpu.js";

export function integerOption(name: string, min = -Infinity, max = Infinity) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`${name} must be an integer, got "${value}"`);
    if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`${name} is too large, got ${value.trim()}`);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be ${shownRange(min, max)}, got ${n}`);
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

/** A number of seconds or the like: fractions allowed, from 0 up to `max`. */
export function nonNegativeOption(name: string, max = Infinity) {
  const number = numberOption(name);
  return (value: string): number => {
    const n = number(value);
    if (n < 0 || n > max) throw new InvalidArgumentError(`${name} must be ${max === Infinity ? "at least 0" : `in [0, ${max}]`}, got ${value}`);
    return n;
  };
}

/** An option given at most once: a second would silently replace the first. */
export function onceOption(name: string, why: string) {
  return (value: string, previous: string | undefined): string => {
    if (previous !== undefined) throw new InvalidArgumentError(`give ${name} once (${why})`);
    return value;
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

export function gpuOption(value: string): GpuChoice {
  if (!isGpuChoice(value)) throw new InvalidArgumentError(`--gpu must be ${GPU_CHOICES.join(", ")}, got "${value}"`);
  return value;
}

export function gpuLayersOption(value: string): GpuLayers {
  const layers = parseGpuLayers(value);
  if (layers === undefined) throw new InvalidArgumentError(`--gpu-layers must be auto, max or a whole number, got "${value}"`);
  return layers;
}
