/** The load client's records as JSONL (one request per line): written by bench and sweep, read by analyze. */
import { readFile, writeFile } from "node:fs/promises";
import type { ClientRecord } from "./LoadClient.js";
import { checkRecord } from "./recordSchema.js";

export async function writeClientRecords(path: string, records: readonly ClientRecord[]): Promise<void> {
  await writeFile(path, records.map((r) => JSON.stringify(r)).join("\n") + "\n");
}

/** null stands for NaN: JSON.stringify wrote the records' unreached time points as null. */
function nullsAsNaN(value: unknown): unknown {
  if (value === null) return NaN;
  if (Array.isArray(value)) return value.map(nullsAsNaN);
  if (typeof value === "object") return Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, nullsAsNaN(v)]));
  return value;
}

/** Reads and checks a records file: a line that is not a client record (docs/client-record.schema.json) is one error line naming it. */
export async function readClientRecords(path: string): Promise<ClientRecord[]> {
  const lines = jsonLines(await readRecordsFile(path, "the client records"), path, "a client record");
  if (lines.length === 0) throw new Error(`${path}: no client records in it`);
  return lines.map(({ value, line }) => {
    const checked = checkRecord(value);
    if ("problem" in checked) throw new Error(`${path}:${line}: not a client record (${checked.problem}; bench --records and sweep --records write them, docs/client-record.schema.json describes them)`);
    return nullsAsNaN(checked.record) as ClientRecord;
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
export function jsonLines(content: string, path: string, what: string): Array<{ value: unknown; line: number }> {
  const out: Array<{ value: unknown; line: number }> = [];
  content.split("\n").forEach((text, i) => {
    if (!text.trim()) return;
    try {
      out.push({ value: JSON.parse(text), line: i + 1 });
    } catch {
      throw new Error(`${path}:${i + 1}: not ${what} (not JSON)`);
    }
  });
  return out;
}
