/**
 * Appends finished request timelines to a JSONL file, one per line. Writing
 * never waits on the disk: if the file falls behind by more than `maxBacklog`
 * bytes, lines are dropped and counted, so memory stays bounded. A file that
 * fails (the disk is full, the folder was removed) is said once; the lines
 * it had not written yet and every line after are counted as lost too.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { open, stat } from "node:fs/promises";

export interface SinkEvents {
  /** Said once, when the file fails. */
  failed(message: string): void;
  /** A line lost: dropped, or written to a file that failed before it reached the disk. */
  dropped(): void;
}

export class JsonlSink {
  private readonly stream: WriteStream;
  private failed = false;

  constructor(
    readonly path: string,
    private readonly events: SinkEvents,
    private readonly maxBacklog = 8 << 20,
  ) {
    this.stream = createWriteStream(path, { flags: "a" });
    this.stream.on("error", (err) => {
      if (!this.failed) events.failed(`timeline file ${path}: ${err.message}; request timelines are no longer written to it (llm_serving_timeline_lines_dropped_total counts them)`);
      this.failed = true;
    });
  }

  write(record: object): void {
    if (this.failed || this.stream.writableLength > this.maxBacklog) return this.events.dropped();
    // The lines still buffered when the file fails are lost too: each says so in its callback.
    this.stream.write(`${JSON.stringify(record)}\n`, (err) => {
      if (err) this.events.dropped();
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      // A failed stream has ended already: its end callback would never come.
      if (this.failed || this.stream.destroyed) resolve();
      else this.stream.end(resolve);
    });
  }
}

/**
 * Throws, in one line, when `path` cannot be appended to: said before the
 * server starts, as a bad model path is. A device (/dev/null) is taken. A
 * pipe is not: opening it to write waits for a reader on a libuv thread, and
 * the server's one such thread runs the model's decode (docs/engine-speed.md).
 */
export async function assertAppendable(path: string, what = "--timeline-file"): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (info?.isDirectory()) throw new Error(`${what} ${path}: is a folder, not a file`);
  if (info?.isFIFO()) throw new Error(`${what} ${path}: is a pipe; give a file (compress it afterwards)`);
  if (info && !info.isFile() && !info.isCharacterDevice()) throw new Error(`${what} ${path}: is not a file or a device`);
  try {
    await (await open(path, "a")).close();
  } catch (err) {
    throw new Error(`${what} ${path}: cannot be written: ${(err as Error).message}`);
  }
}
