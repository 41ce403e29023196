/** The load client's records as JSONL (one request per line): written by bench and sweep, read by analyze. */
import { readFile, writeFile } from "node:fs/promises";
import type { ClientRecord } from "./LoadClient.js";

export async function writeClientRecords(path: string, records: readonly ClientRecord[]): Promise<void> {
  await writeFile(path, records.map((r) => JSON.stringify(r)).join("\n") + "\n");
}

// null stands for NaN: JSON.stringify wrote the records' unreached time points as null.
const nullAsNaN = (_key: string, value: unknown): unknown => (value === null ? NaN : value);

export async function readClientRecords(path: string): Promise<ClientRecord[]> {
  const lines = jsonLines(await readRecordsFile(path, "the client records"), path, "a client record", nullAsNaN);
  if (lines.length === 0) throw new Error(`${path}: no client records in it`);
  return lines.map(({ value, line }) => {
    const r = value as Partial<ClientRecord> | null;
    if (typeof r?.id !== "string" || typeof r.sent !== "number") throw new Error(`${path}:${line}: not a client record (no "id" and "sent"; bench --records and sweep --records write them)`);
    return r as ClientRecord;
  });
}

/** A file the user named, read whole: a missing or unreadable one is one plain sentence, not a stack. */
export async function readRecordsFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a folder" : code === "EACCES" ? "permission denied" : (err as Error).message;
    throw new Error(`cannot read ${what} ${path}: ${why}`);
  }
}

/** The JSON value of every non-blank line, with its line number, so that a bad line can be named. */
export function jsonLines(content: string, path: string, what: string, reviver?: (key: string, value: unknown) => unknown): Array<{ value: unknown; line: number }> {
  const out: Array<{ value: unknown; line: number }> = [];
  content.split("\n").forEach((text, i) => {
    if (!text.trim()) return;
    try {
      out.push({ value: JSON.parse(text, reviver), line: i + 1 });
    } catch {
      throw new Error(`${path}:${i + 1}: not ${what} (not JSON)`);
    }
  });
  return out;
}
