/**
 * Appends finished request timelines to a JSONL file, one per line. Writing
 * never waits on the disk: if the file falls behind by more than `maxBacklog`
 * bytes, lines are dropped and counted, so memory stays bounded. A file that
 * fails (the disk is full, the folder was removed) is said once; every line
 * after that is dropped and counted too.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { open, stat } from "node:fs/promises";

export class JsonlSink {
  private readonly stream: WriteStream;
  private failed = false;
  dropped = 0;
  written = 0;

  /** `report`: said once, when the file fails. */
  constructor(
    readonly path: string,
    report: (message: string) => void,
    private readonly maxBacklog = 8 << 20,
  ) {
    this.stream = createWriteStream(path, { flags: "a" });
    this.stream.on("error", (err) => {
      if (!this.failed) report(`timeline file ${path}: ${err.message}; request timelines are no longer written to it (llm_serving_timeline_lines_dropped_total counts them)`);
      this.failed = true;
    });
  }

  /** False when the line was dropped (the file failed, or is too far behind). */
  write(record: object): boolean {
    if (this.failed || this.stream.writableLength > this.maxBacklog) {
      this.dropped++;
      return false;
    }
    this.stream.write(`${JSON.stringify(record)}\n`);
    this.written++;
    return true;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      // A failed stream has ended already: its end callback would never come.
      if (this.failed || this.stream.destroyed) resolve();
      else this.stream.end(resolve);
    });
  }
}

/** Throws, in one line, when `path` cannot be appended to: said before the server starts, as a bad model path is. */
export async function assertAppendable(path: string, what = "--timeline-file"): Promise<void> {
  // stat first: opening a FIFO would wait for a reader.
  const info = await stat(path).catch(() => undefined);
  if (info?.isDirectory()) throw new Error(`${what} ${path}: is a folder, not a file`);
  if (info && !info.isFile()) throw new Error(`${what} ${path}: is not a regular file`);
  try {
    await (await open(path, "a")).close();
  } catch (err) {
    throw new Error(`${what} ${path}: cannot be written: ${(err as Error).message}`);
  }
}
