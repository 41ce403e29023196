/** The load client's records as JSONL (one request per line): written by bench and sweep, read by analyze. */
import { readFile, writeFile } from "node:fs/promises";
import type { ClientRecord } from "./LoadClient.js";

export async function writeClientRecords(path: string, records: readonly ClientRecord[]): Promise<void> {
  await writeFile(path, records.map((r) => JSON.stringify(r)).join("\n") + "\n");
}

export async function readClientRecords(path: string): Promise<ClientRecord[]> {
  const text = await readFile(path, "utf8");
  return text
    .split("\n")
    .filter((l) => l.trim())
    .map((l, i) => {
      const r = JSON.parse(l, (_k, v) => (v === null ? NaN : v)) as ClientRecord;
      if (typeof r.id !== "string" || typeof r.sent !== "number") throw new Error(`${path}:${i + 1}: not a client record`);
      return r;
    });
}
