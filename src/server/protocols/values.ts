/**
 * Reading request bodies: each reader checks one value and names it in the
 * error. The lenient readers accept what llm-serving accepted (its official
 * curl examples send "do_sample": "False" and numbers as strings).
 */
import { shownValue } from "../../master/shownValue.js";
import { badParam } from "../httpErrors.js";

export type Json = Record<string, unknown>;

/** The body (or a nested parameters object) as a JSON object. */
export function objectAt(value: unknown, name: string, optional = false): Json {
  if (value === undefined || value === null) {
    if (optional) return {};
    throw badParam(name, "is required");
  }
  if (typeof value !== "object" || Array.isArray(value)) throw badParam(name, `must be a JSON object, got ${kind(value)}`);
  return value as Json;
}

/** What a bad value is, briefly ("the string \"x\"", "number 5", "an object"). */
function kind(v: unknown): string {
  if (v === undefined) return "nothing (it is missing)";
  if (v === null || typeof v === "object") return shownValue(v);
  return `${typeof v === "string" ? "the string" : typeof v} ${shownValue(v)}`;
}

export function string(v: unknown, name: string): string {
  if (v === undefined) throw badParam(name, "is required: a string");
  if (typeof v !== "string") throw badParam(name, `must be a string, got ${kind(v)}`);
  return v;
}

export function boolean(v: unknown, name: string): boolean {
  if (typeof v !== "boolean") throw badParam(name, `must be true or false, got ${kind(v)}`);
  return v;
}

export function number(v: unknown, name: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw badParam(name, `must be a number, got ${kind(v)}`);
  return v;
}

export function integer(v: unknown, name: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v)) throw badParam(name, notAnInteger(v, v));
  return v;
}

/** Why `v` (read as `n`) is not an integer we take: one too large to be exact says so (it was written as an integer, and is one). */
function notAnInteger(n: unknown, v: unknown): string {
  return typeof n === "number" && Number.isInteger(n) ? `is too large to be an exact integer (at most ${Number.MAX_SAFE_INTEGER} either way), got ${kind(v)}` : `must be an integer, got ${kind(v)}`;
}

/** llm-serving's booleans: true/false, or the strings "True"/"False" (any case), or 1/0. */
export function lenientBoolean(v: unknown, name: string): boolean {
  if (typeof v === "boolean") return v;
  if (typeof v === "string" && /^(true|false)$/i.test(v.trim())) return v.trim().toLowerCase() === "true";
  if (v === 0 || v === 1) return v === 1;
  throw badParam(name, `must be true or false, got ${kind(v)}`);
}

/** llm-serving's numbers: numbers, or strings that are numbers ("0.8"). */
export function lenientNumber(v: unknown, name: string): number {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  throw badParam(name, `must be a number, got ${kind(v)}`);
}

export function lenientInteger(v: unknown, name: string): number {
  const n = lenientNumber(v, name);
  if (!Number.isSafeInteger(n)) throw badParam(name, notAnInteger(n, v));
  return n;
}

/** A stop list: one string or a list of strings. */
export function stopList(v: unknown, name: string, max: number): string[] {
  const list = typeof v === "string" ? [v] : v;
  if (!Array.isArray(list) || list.some((s) => typeof s !== "string")) throw badParam(name, `must be a string or a list of strings, got ${kind(v)}`);
  if (list.length > max) throw badParam(name, `at most ${max} stop strings, got ${list.length}`);
  return list as string[];
}

/** `value` if present, else `fallback`. */
export function or<T>(value: unknown, read: (v: unknown, name: string) => T, name: string, fallback: T): T {
  return value === undefined || value === null ? fallback : read(value, name);
}
