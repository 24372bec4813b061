// Incremental Server-Sent Events parser (WHATWG "event stream" rules). Chunks may be split
// at any byte: the unfinished line is kept across push() calls. CR, LF and CRLF all end a
// line (a CR at the end of one chunk followed by LF in the next counts once). Works on
// bytes, so a UTF-8 sequence split across chunks is decoded whole.

import { ByteBuilder } from "./json-writer";

/** One dispatched event: its `event:` type ("" when none), joined `data:` lines and `id:`. */
export class SseEvent {
  constructor(
    public event: string,
    public data: Uint8Array,
    public id: string,
  ) {}

  /** The data as a string. */
  dataString(): string {
    return String.UTF8.decodeUnsafe(this.data.dataStart, <usize>this.data.byteLength);
  }

  /** True for OpenAI's end marker `data: [DONE]`. */
  isDone(): bool {
    const d = this.data;
    return (
      d.length == 6 &&
      unchecked(d[0]) == 0x5b && unchecked(d[1]) == 0x44 && unchecked(d[2]) == 0x4f &&
      unchecked(d[3]) == 0x4e && unchecked(d[4]) == 0x45 && unchecked(d[5]) == 0x5d
    );
  }
}

export class SseParser {
  /** The unfinished line carried to the next chunk. */
  private line: ByteBuilder = new ByteBuilder(256);
  private data: ByteBuilder = new ByteBuilder(256);
  private hasData: bool = false;
  private eventType: string = "";
  private lastId: string = "";
  private skipLf: bool = false;
  /** Set when one event grew past maxEventBytes; the parser then drops input. */
  overflow: bool = false;

  /** `maxEventBytes` bounds memory held for a single unfinished event or line. */
  constructor(public maxEventBytes: i32 = 4 << 20) {}

  /** Feeds a chunk; returns the events it completed (in order). */
  push(chunk: Uint8Array): SseEvent[] {
    const events = new Array<SseEvent>();
    if (this.overflow) return events;
    const n = chunk.length;
    let start = 0;
    for (let i = 0; i < n; i++) {
      const c = unchecked(chunk[i]);
      if (c == 0x0a && this.skipLf && i == start && this.line.len == 0) {
        // LF of a CRLF whose CR ended the previous line.
        this.skipLf = false;
        start = i + 1;
        continue;
      }
      if (c == 0x0a || c == 0x0d) {
        this.skipLf = c == 0x0d;
        this.line.range(chunk, start, i);
        this.processLine(events);
        start = i + 1;
        if (this.overflow) return events;
      } else if (this.skipLf) {
        this.skipLf = false;
      }
    }
    if (start < n) {
      this.skipLf = false;
      this.line.range(chunk, start, n);
      if (this.line.len + this.data.len > this.maxEventBytes) this.overflow = true;
    }
    return events;
  }

  /** At end of stream: dispatches a last event that lacked its blank line. */
  finish(): SseEvent[] {
    const events = new Array<SseEvent>();
    if (this.overflow) return events;
    if (this.line.len > 0) this.processLine(events);
    if (this.hasData) this.dispatch(events);
    return events;
  }

  private processLine(events: SseEvent[]): void {
    const len = this.line.len;
    const b = this.line.buf;
    if (len == 0) {
      if (this.hasData) this.dispatch(events);
      else this.eventType = "";
      return;
    }
    if (unchecked(b[0]) == 0x3a) {
      // Comment line (keep-alive).
      this.line.reset();
      return;
    }
    let colon = -1;
    for (let i = 0; i < len; i++) {
      if (unchecked(b[i]) == 0x3a) {
        colon = i;
        break;
      }
    }
    const nameEnd = colon < 0 ? len : colon;
    let valueStart = colon < 0 ? len : colon + 1;
    if (valueStart < len && unchecked(b[valueStart]) == 0x20) valueStart++;
    if (nameEnd == 4 && unchecked(b[0]) == 0x64 && unchecked(b[1]) == 0x61 && unchecked(b[2]) == 0x74 && unchecked(b[3]) == 0x61) {
      // data
      if (this.hasData) this.data.byte(0x0a);
      this.data.range(b, valueStart, len);
      this.hasData = true;
      if (this.data.len > this.maxEventBytes) this.overflow = true;
    } else if (nameEnd == 5 && unchecked(b[0]) == 0x65 && unchecked(b[1]) == 0x76 && unchecked(b[2]) == 0x65 && unchecked(b[3]) == 0x6e && unchecked(b[4]) == 0x74) {
      this.eventType = String.UTF8.decodeUnsafe(b.dataStart + <usize>valueStart, <usize>(len - valueStart));
    } else if (nameEnd == 2 && unchecked(b[0]) == 0x69 && unchecked(b[1]) == 0x64) {
      this.lastId = String.UTF8.decodeUnsafe(b.dataStart + <usize>valueStart, <usize>(len - valueStart));
    }
    // retry and unknown fields are ignored.
    this.line.reset();
  }

  private dispatch(events: SseEvent[]): void {
    events.push(new SseEvent(this.eventType, this.data.toBytes(), this.lastId));
    this.data.reset();
    this.hasData = false;
    this.eventType = "";
  }
}
