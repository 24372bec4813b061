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

// SWAR: one byte lane each.
const ONES: u64 = 0x0101010101010101;
const HIGHS: u64 = 0x8080808080808080;

@inline function hasByte(x: u64, b: u64): u64 {
  const v = x ^ (ONES * b);
  return (v - ONES) & ~v & HIGHS;
}

/** The offset of the first CR or LF in p[i, n), or n. Eight bytes at a time. */
function findEol(p: usize, i: i32, n: i32): i32 {
  while (i + 8 <= n) {
    const x = load<u64>(p + <usize>i);
    if ((hasByte(x, 0x0a) | hasByte(x, 0x0d)) != 0) break;
    i += 8;
  }
  while (i < n) {
    const c = load<u8>(p + <usize>i);
    if (c == 0x0a || c == 0x0d) return i;
    i++;
  }
  return n;
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
    const p = chunk.dataStart;
    let start = 0;
    if (this.skipLf && n > 0) {
      // LF of a CRLF whose CR ended the previous chunk.
      if (load<u8>(p) == 0x0a) start = 1;
      this.skipLf = false;
    }
    while (start < n) {
      const eol = findEol(p, start, n);
      if (eol >= n) break;
      if (this.line.len == 0) {
        // The whole line is in this chunk: read it in place.
        this.processLine(p + <usize>start, eol - start, events);
      } else {
        this.line.range(chunk, start, eol);
        this.processLine(this.line.buf.dataStart, this.line.len, events);
      }
      this.line.reset();
      start = eol + 1;
      if (load<u8>(p + <usize>eol) == 0x0d) {
        // CRLF counts once, also when the LF comes in the next chunk.
        if (start < n) {
          if (load<u8>(p + <usize>start) == 0x0a) start++;
        } else this.skipLf = true;
      }
      if (this.overflow) return events;
    }
    if (start < n) {
      this.line.range(chunk, start, n);
      if (this.line.len + this.data.len > this.maxEventBytes) this.overflow = true;
    }
    return events;
  }

  /** At end of stream: dispatches a last event that lacked its blank line. */
  finish(): SseEvent[] {
    const events = new Array<SseEvent>();
    if (this.overflow) return events;
    if (this.line.len > 0) {
      this.processLine(this.line.buf.dataStart, this.line.len, events);
      this.line.reset();
    }
    if (this.hasData) this.dispatch(events);
    return events;
  }

  /** One line (without its end) at b[0, len). `b` stays valid for the call only. */
  private processLine(b: usize, len: i32, events: SseEvent[]): void {
    if (len == 0) {
      if (this.hasData) this.dispatch(events);
      else this.eventType = "";
      return;
    }
    if (load<u8>(b) == 0x3a) return; // comment line (keep-alive)
    let colon = -1;
    for (let i = 0; i < len; i++) {
      if (load<u8>(b + <usize>i) == 0x3a) {
        colon = i;
        break;
      }
    }
    const nameEnd = colon < 0 ? len : colon;
    let valueStart = colon < 0 ? len : colon + 1;
    if (valueStart < len && load<u8>(b + <usize>valueStart) == 0x20) valueStart++;
    const vp = b + <usize>valueStart;
    const vn = len - valueStart;
    // Field names compared as little-endian words: "data", "even"+"t", "id".
    if (nameEnd == 4 && load<u32>(b) == 0x61746164) {
      if (this.hasData) this.data.byte(0x0a);
      this.data.ptr(vp, vn);
      this.hasData = true;
      if (this.data.len > this.maxEventBytes) this.overflow = true;
    } else if (nameEnd == 5 && load<u32>(b) == 0x6e657665 && load<u8>(b + 4) == 0x74) {
      this.eventType = String.UTF8.decodeUnsafe(vp, <usize>vn);
    } else if (nameEnd == 2 && load<u16>(b) == 0x6469) {
      this.lastId = String.UTF8.decodeUnsafe(vp, <usize>vn);
    }
    // retry and unknown fields are ignored.
  }

  private dispatch(events: SseEvent[]): void {
    events.push(new SseEvent(this.eventType, this.data.toBytes(), this.lastId));
    this.data.reset();
    this.hasData = false;
    this.eventType = "";
  }
}
