// Incremental line splitter for newline-delimited JSON streams (Cohere v1, Ollama).
// Chunks may be split at any byte; the unfinished line is kept across push() calls.
// A trailing CR is dropped and blank lines are skipped.

import { ByteBuilder } from "./json-writer";

export class LineSplitter {
  private tail: ByteBuilder = new ByteBuilder(256);
  /** Set when one line grew past maxLineBytes; the splitter then drops input. */
  overflow: bool = false;

  constructor(public maxLineBytes: i32 = 4 << 20) {}

  /** Feeds a chunk; returns the complete lines it finished (without the line end). */
  push(chunk: Uint8Array): Uint8Array[] {
    const lines = new Array<Uint8Array>();
    if (this.overflow) return lines;
    const n = chunk.length;
    let start = 0;
    for (let i = 0; i < n; i++) {
      if (unchecked(chunk[i]) == 0x0a) {
        this.tail.range(chunk, start, i);
        this.emit(lines);
        start = i + 1;
      }
    }
    if (start < n) {
      this.tail.range(chunk, start, n);
      if (this.tail.len > this.maxLineBytes) this.overflow = true;
    }
    return lines;
  }

  /** At end of stream: the last line if it had no newline. */
  finish(): Uint8Array[] {
    const lines = new Array<Uint8Array>();
    if (!this.overflow) this.emit(lines);
    return lines;
  }

  private emit(lines: Uint8Array[]): void {
    let len = this.tail.len;
    if (len > 0 && unchecked(this.tail.buf[len - 1]) == 0x0d) len--;
    // Skip blank (whitespace-only) lines.
    let blank = true;
    for (let i = 0; i < len; i++) {
      const c = unchecked(this.tail.buf[i]);
      if (c != 0x20 && c != 0x09 && c != 0x0d) {
        blank = false;
        break;
      }
    }
    if (!blank) {
      const line = new Uint8Array(len);
      memory.copy(line.dataStart, this.tail.buf.dataStart, <usize>len);
      lines.push(line);
    }
    this.tail.reset();
  }
}
