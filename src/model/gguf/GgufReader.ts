/**
 * A forward reader over a GGUF file that never trusts the file: it reads
 * through one fixed-size buffer (the header of a real model can be tens of
 * MB; its tensor data, GBs, is never read), skips without reading, and
 * refuses any read that would run past the end of the file with a message
 * saying where it was and what it was reading.
 */
import { GgufFormatError } from "./GgufFormatError.js";

/** Reads `length` bytes at file `position` into `buffer` at `offset`: FileHandle.read's shape. */
export type ReadAt = (buffer: Buffer, offset: number, length: number, position: number) => Promise<{ bytesRead: number }>;

/** Big enough for the longest key the walk reads at once (64 KiB) and for few system calls. */
const READ_CHUNK_BYTES = 1 << 20;

export class GgufReader {
  private readonly buf: Buffer;
  /** File offset of buf[0]. */
  private bufStart = 0;
  /** Valid bytes in buf. */
  private bufLength = 0;
  private pos = 0;
  /** Where in the file's structure the walk is, for messages ("metadata key 3 (…)"). */
  where = "";

  constructor(
    private readonly readAt: ReadAt,
    readonly size: number,
    chunkBytes = READ_CHUNK_BYTES,
  ) {
    // No read can need more bytes than the file holds: a small file gets a small buffer.
    this.buf = Buffer.allocUnsafe(Math.max(16, Math.min(chunkBytes, size)));
  }

  /** File offset of the next byte. */
  get offset(): number {
    return this.pos;
  }

  /** Bytes from the offset to the end of the file. */
  get left(): number {
    return this.size - this.pos;
  }

  /** An error about the bytes at the current place in the structure. */
  fail(detail: string): GgufFormatError {
    return new GgufFormatError(this.where ? `${this.where}: ${detail}` : detail);
  }

  /**
   * Makes the next `n` bytes readable with the sync readers below, or fails
   * naming `what` the file ends inside. Awaits only when the buffer runs dry.
   */
  async need(n: number, what: string): Promise<void> {
    if (n > this.left) throw this.endsInside(n, what);
    if (!this.buffered(n)) await this.fill(n);
  }

  private endsInside(n: number, what: string): GgufFormatError {
    return this.fail(`the file ends inside ${what} (offset ${this.pos}: ${n} bytes needed, ${this.left} left)`);
  }

  private buffered(n: number): boolean {
    return this.pos >= this.bufStart && this.pos + n <= this.bufStart + this.bufLength;
  }

  private async fill(n: number): Promise<void> {
    if (n > this.buf.length) throw new RangeError(`a read of ${n} bytes exceeds the ${this.buf.length}-byte buffer`);
    const unread = this.buffered(0) ? this.bufStart + this.bufLength - this.pos : 0;
    if (unread > 0) this.buf.copy(this.buf, 0, this.pos - this.bufStart, this.bufLength);
    this.bufStart = this.pos;
    this.bufLength = unread;
    while (this.bufLength < n) {
      const at = this.bufStart + this.bufLength;
      const want = Math.min(this.buf.length - this.bufLength, this.size - at);
      const { bytesRead } = await this.readAt(this.buf, this.bufLength, want, at);
      if (bytesRead === 0) throw this.fail(`the file ended at offset ${at}, before the ${this.size} bytes it had when the check began (is it being written?)`);
      this.bufLength += bytesRead;
    }
  }

  private at(): number {
    return this.pos - this.bufStart;
  }

  u32(): number {
    const v = this.buf.readUInt32LE(this.at());
    this.pos += 4;
    return v;
  }

  u64(): bigint {
    const v = this.buf.readBigUInt64LE(this.at());
    this.pos += 8;
    return v;
  }

  /**
   * The u64 byte length in front of a `what` ("a key", "a string"), checked
   * to fit in the rest of the file, then against `max` (`limit` says whose
   * limit it is, for the message). `lengthWhat` names the length field for
   * a file that ends inside it. Returns the length and its offset.
   */
  async readLength(what: string, lengthWhat: string, max: number, limit: string): Promise<{ length: number; at: number }> {
    await this.need(8, lengthWhat);
    const at = this.pos;
    const length = this.u64();
    if (length > BigInt(this.left)) throw this.fail(`${what} of ${length} bytes runs past the end of the file (length at offset ${at}, ${this.left} bytes left)`);
    if (length > max) throw this.fail(`${what} of ${length} bytes, longer than ${limit} (offset ${at})`);
    return { length: Number(length), at };
  }

  /**
   * `n` buffered bytes as a string of one char per byte (latin1): names
   * compare byte for byte, as llama.cpp compares them, even when they are
   * not valid UTF-8. quote() shows them as UTF-8.
   */
  bytes(n: number): string {
    const s = this.buf.toString("latin1", this.at(), this.at() + n);
    this.pos += n;
    return s;
  }

  /** Moves past `n` bytes without reading them; the caller has checked that they are in the file. */
  skip(n: number): void {
    this.pos += n;
  }

  /** Moves past `n` bytes without reading them, or fails naming `what` the file ends inside. */
  skipWithin(n: number, what: string): void {
    if (n > this.left) throw this.endsInside(n, what);
    this.pos += n;
  }

  /**
   * Skips up to `count` length-prefixed strings that lie wholly in the
   * buffer, each at most `maxLength` bytes, and returns how many it skipped:
   * lets a 150k-token vocabulary pass without a promise per token. It stops
   * at the first string it cannot vouch for, which the caller then reads
   * the careful way.
   */
  skipBufferedStrings(count: number, maxLength: number): number {
    if (!this.buffered(0)) return 0;
    const end = this.bufLength;
    let p = this.at();
    let skipped = 0;
    while (skipped < count && p + 8 <= end) {
      const length = this.buf.readUInt32LE(p);
      if (this.buf.readUInt32LE(p + 4) !== 0 || length > maxLength || p + 8 + length > end) break;
      p += 8 + length;
      skipped++;
    }
    this.pos = this.bufStart + p;
    return skipped;
  }
}
