// A growable byte buffer for writing JSON: raw byte spans copied from a validated body, ASCII
// literals, and strings escaped so that nothing written can leave its JSON string.

export class ByteWriter {
  private buf: Uint8Array;
  private n: i32 = 0;

  constructor(capacity: i32 = 256) {
    this.buf = new Uint8Array(capacity > 16 ? capacity : 16);
  }

  get length(): i32 {
    return this.n;
  }

  private reserve(extra: i32): void {
    const need = this.n + extra;
    if (need <= this.buf.length) return;
    let cap = this.buf.length << 1;
    while (cap < need) cap <<= 1;
    const next = new Uint8Array(cap);
    memory.copy(next.dataStart, this.buf.dataStart, <usize>this.n);
    this.buf = next;
  }

  byte(c: u8): ByteWriter {
    this.reserve(1);
    unchecked((this.buf[this.n++] = c));
    return this;
  }

  /** `src[start:end]`, clamped to `src`. */
  span(src: Uint8Array, start: i32, end: i32): ByteWriter {
    if (start < 0) start = 0;
    if (end > src.length) end = src.length;
    if (end <= start) return this;
    const len = end - start;
    this.reserve(len);
    memory.copy(this.buf.dataStart + <usize>this.n, src.dataStart + <usize>start, <usize>len);
    this.n += len;
    return this;
  }

  bytes(src: Uint8Array): ByteWriter {
    return this.span(src, 0, src.length);
  }

  /** A string known to be ASCII (JSON punctuation, keys we chose). */
  ascii(s: string): ByteWriter {
    const len = s.length;
    this.reserve(len);
    for (let i = 0; i < len; i++) unchecked((this.buf[this.n++] = <u8>s.charCodeAt(i)));
    return this;
  }

  /** `s` as a JSON string, quotes included. */
  string(s: string): ByteWriter {
    this.byte(0x22);
    this.escaped(s);
    return this.byte(0x22);
  }

  /**
   * `s` escaped as JSON string content, without quotes: `"` and `\` and control characters
   * are escaped, other characters are written as UTF-8, and an unpaired surrogate (which has
   * no UTF-8 form) is written as its \uXXXX escape.
   */
  escaped(s: string): ByteWriter {
    const len = s.length;
    this.reserve(len);
    for (let i = 0; i < len; i++) {
      const c = <u32>s.charCodeAt(i);
      if (c >= 0x20 && c < 0x80 && c != 0x22 && c != 0x5c) {
        this.byte(<u8>c);
      } else if (c == 0x22) {
        this.ascii('\\"');
      } else if (c == 0x5c) {
        this.ascii("\\\\");
      } else if (c < 0x20) {
        if (c == 0x0a) this.ascii("\\n");
        else if (c == 0x0d) this.ascii("\\r");
        else if (c == 0x09) this.ascii("\\t");
        else if (c == 0x08) this.ascii("\\b");
        else if (c == 0x0c) this.ascii("\\f");
        else this.unicodeEscape(c);
      } else if (c < 0x800) {
        this.byte(<u8>(0xc0 | (c >> 6))).byte(<u8>(0x80 | (c & 0x3f)));
      } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < len && <u32>s.charCodeAt(i + 1) >= 0xdc00 && <u32>s.charCodeAt(i + 1) <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (<u32>s.charCodeAt(i + 1) - 0xdc00);
        i++;
        this.byte(<u8>(0xf0 | (cp >> 18)))
          .byte(<u8>(0x80 | ((cp >> 12) & 0x3f)))
          .byte(<u8>(0x80 | ((cp >> 6) & 0x3f)))
          .byte(<u8>(0x80 | (cp & 0x3f)));
      } else if (c >= 0xd800 && c <= 0xdfff) {
        this.unicodeEscape(c);
      } else {
        this.byte(<u8>(0xe0 | (c >> 12)))
          .byte(<u8>(0x80 | ((c >> 6) & 0x3f)))
          .byte(<u8>(0x80 | (c & 0x3f)));
      }
    }
    return this;
  }

  private unicodeEscape(c: u32): void {
    const hex = "0123456789abcdef";
    this.ascii("\\u");
    for (let k = 12; k >= 0; k -= 4) this.byte(<u8>hex.charCodeAt((c >> k) & 0xf));
  }

  /** The bytes written so far (a copy sized to fit). */
  finish(): Uint8Array {
    const out = new Uint8Array(this.n);
    memory.copy(out.dataStart, this.buf.dataStart, <usize>this.n);
    return out;
  }
}

/** `s` as a JSON string literal (quotes included). */
export function jsonString(s: string): string {
  const w = new ByteWriter(s.length + 2);
  w.string(s);
  const b = w.finish();
  return String.UTF8.decodeUnsafe(b.dataStart, <usize>b.length);
}
