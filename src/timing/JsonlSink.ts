/**
 * Appends finished request timelines to a JSONL file, one per line. Writing
 * never waits on the disk: if the file falls behind by more than `maxBacklog`
 * bytes, lines are dropped and counted, so memory stays bounded.
 */
import { createWriteStream, type WriteStream } from "node:fs";

export class JsonlSink {
  private readonly stream: WriteStream;
  dropped = 0;
  written = 0;

  constructor(
    readonly path: string,
    private readonly maxBacklog = 8 << 20,
  ) {
    this.stream = createWriteStream(path, { flags: "a" });
    this.stream.on("error", (err) => process.emitWarning(`timeline file ${path}: ${err.message}`, "LlmServingWarning"));
  }

  write(record: object): void {
    if (this.stream.writableLength > this.maxBacklog) {
      this.dropped++;
      return;
    }
    this.stream.write(`${JSON.stringify(record)}\n`);
    this.written++;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(resolve));
  }
}
