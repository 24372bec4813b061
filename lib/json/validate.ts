// A strict RFC 8259 validator for untrusted bytes that never traps and never recurses.
// json-as's JSON.parse aborts (traps the VM) on invalid input, so every untrusted document
// passes here first. Strings must be valid UTF-8 (no overlongs, no surrogates), control
// characters must be escaped, no trailing commas, NaN, comments or BOM.

const ARRAY: u8 = 0;
const OBJECT: u8 = 1;

/** Why validation failed, with the byte offset, or null when `bytes` is one valid JSON text. */
export function validateJson(bytes: Uint8Array, maxDepth: i32): string | null {
  const v = new Validator(bytes.dataStart, bytes.byteLength, maxDepth);
  return v.run();
}

/** The same, for a buffer given as pointer and length (memory the caller keeps alive). */
export function validateJsonAt(ptr: usize, len: i32, maxDepth: i32): string | null {
  const v = new Validator(ptr, len, maxDepth);
  return v.run();
}

function describe(b: u8): string {
  if (b >= 0x20 && b < 0x7f) return "character '" + String.fromCharCode(b) + "'";
  return "byte 0x" + (b < 16 ? "0" : "") + (<u32>b).toString(16);
}

class Validator {
  i: i32 = 0;
  err: string | null = null;
  stack: StaticArray<u8>;

  constructor(
    private ptr: usize,
    private n: i32,
    private maxDepth: i32,
  ) {
    this.stack = new StaticArray<u8>(maxDepth > 0 ? maxDepth : 1);
  }

  @inline at(i: i32): u8 {
    return load<u8>(this.ptr + <usize>i);
  }

  fail(msg: string): bool {
    if (this.err == null) this.err = msg;
    return false;
  }

  unexpected(): bool {
    if (this.i >= this.n) return this.fail("unexpected end of input");
    return this.fail("unexpected " + describe(this.at(this.i)) + " at byte " + this.i.toString());
  }

  ws(): void {
    let i = this.i;
    while (i < this.n) {
      const c = this.at(i);
      if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
      i++;
    }
    this.i = i;
  }

  run(): string | null {
    let depth: i32 = 0;
    const stack = this.stack;
    this.ws();
    if (this.i >= this.n) return "empty input";
    // Each turn reads one value, then closes containers and consumes separators until the
    // next value is due.
    while (true) {
      if (this.i >= this.n) {
        this.unexpected();
        return this.err;
      }
      const c = this.at(this.i);
      let opened = false;
      if (c == 0x7b /* { */ || c == 0x5b /* [ */) {
        if (depth >= this.maxDepth) return "nesting deeper than " + this.maxDepth.toString();
        const kind = c == 0x7b ? OBJECT : ARRAY;
        unchecked((stack[depth++] = kind));
        this.i++;
        this.ws();
        const close: u8 = kind == OBJECT ? 0x7d : 0x5d;
        if (this.i < this.n && this.at(this.i) == close) {
          this.i++;
          depth--;
        } else {
          opened = true;
          if (kind == OBJECT && !this.key()) return this.err;
        }
      } else if (c == 0x22 /* " */) {
        if (!this.string()) return this.err;
      } else if (c == 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
        if (!this.number()) return this.err;
      } else if (c == 0x74) {
        if (!this.literal("true")) return this.err;
      } else if (c == 0x66) {
        if (!this.literal("false")) return this.err;
      } else if (c == 0x6e) {
        if (!this.literal("null")) return this.err;
      } else {
        this.unexpected();
        return this.err;
      }
      if (opened) continue;
      // After a value: close containers, or find the separator before the next value.
      while (true) {
        this.ws();
        if (depth == 0) {
          if (this.i < this.n) {
            this.unexpected();
            return this.err;
          }
          return null;
        }
        if (this.i >= this.n) return "unexpected end of input";
        const kind = unchecked(stack[depth - 1]);
        const d = this.at(this.i);
        if (d == 0x2c /* , */) {
          this.i++;
          this.ws();
          if (kind == OBJECT && !this.key()) return this.err;
          break;
        }
        if ((kind == OBJECT && d == 0x7d) || (kind == ARRAY && d == 0x5d)) {
          this.i++;
          depth--;
          continue;
        }
        this.unexpected();
        return this.err;
      }
    }
    return null;
  }

  /** An object key and its colon, leaving `i` at the value. */
  key(): bool {
    if (this.i >= this.n || this.at(this.i) != 0x22) {
      if (this.i >= this.n) return this.unexpected();
      return this.fail("expected a string key at byte " + this.i.toString() + ", found " + describe(this.at(this.i)));
    }
    if (!this.string()) return false;
    this.ws();
    if (this.i >= this.n || this.at(this.i) != 0x3a /* : */) return this.unexpected();
    this.i++;
    this.ws();
    return true;
  }

  literal(word: string): bool {
    const len = word.length;
    if (this.i + len > this.n) return this.fail("unexpected end of input");
    for (let k = 0; k < len; k++) {
      if (<u32>this.at(this.i + k) != <u32>word.charCodeAt(k)) {
        this.i += k;
        return this.unexpected();
      }
    }
    this.i += len;
    return true;
  }

  digits(): i32 {
    let k = 0;
    while (this.i < this.n) {
      const c = this.at(this.i);
      if (c < 0x30 || c > 0x39) break;
      this.i++;
      k++;
    }
    return k;
  }

  number(): bool {
    const start = this.i;
    if (this.at(this.i) == 0x2d) this.i++;
    if (this.i >= this.n) return this.fail("invalid number at byte " + start.toString());
    const first = this.at(this.i);
    if (first == 0x30) this.i++;
    else if (first >= 0x31 && first <= 0x39) this.digits();
    else return this.fail("invalid number at byte " + start.toString());
    if (this.i < this.n && this.at(this.i) == 0x2e /* . */) {
      this.i++;
      if (this.digits() == 0) return this.fail("invalid number at byte " + start.toString());
    }
    if (this.i < this.n && (this.at(this.i) | 0x20) == 0x65 /* e/E */) {
      this.i++;
      if (this.i < this.n && (this.at(this.i) == 0x2b || this.at(this.i) == 0x2d)) this.i++;
      if (this.digits() == 0) return this.fail("invalid number at byte " + start.toString());
    }
    return true;
  }

  @inline cont(k: i32, lo: u8, hi: u8): bool {
    if (k >= this.n) return false;
    const b = this.at(k);
    return b >= lo && b <= hi;
  }

  /** A string from its opening quote; leaves `i` after the closing quote. */
  string(): bool {
    let i = this.i + 1;
    const n = this.n;
    while (true) {
      if (i >= n) {
        this.i = i;
        return this.fail("unexpected end of input in a string");
      }
      const b = this.at(i);
      if (b == 0x22) {
        this.i = i + 1;
        return true;
      }
      if (b == 0x5c /* \ */) {
        if (i + 1 >= n) {
          this.i = i + 1;
          return this.fail("unexpected end of input in a string");
        }
        const e = this.at(i + 1);
        if (e == 0x75 /* u */) {
          for (let k = 2; k < 6; k++) {
            if (i + k >= n || !isHex(this.at(i + k))) return this.fail("invalid escape at byte " + i.toString());
          }
          i += 6;
        } else if (e == 0x22 || e == 0x5c || e == 0x2f || e == 0x62 || e == 0x66 || e == 0x6e || e == 0x72 || e == 0x74) {
          i += 2;
        } else {
          return this.fail("invalid escape at byte " + i.toString());
        }
        continue;
      }
      if (b < 0x20) return this.fail("unescaped control character at byte " + i.toString());
      if (b < 0x80) {
        i++;
        continue;
      }
      // UTF-8 (RFC 3629 table 3-7): no overlongs, no surrogates, nothing above U+10FFFF.
      let ok = false;
      let len = 0;
      if (b >= 0xc2 && b <= 0xdf) {
        ok = this.cont(i + 1, 0x80, 0xbf);
        len = 2;
      } else if (b == 0xe0) {
        ok = this.cont(i + 1, 0xa0, 0xbf) && this.cont(i + 2, 0x80, 0xbf);
        len = 3;
      } else if ((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef) {
        ok = this.cont(i + 1, 0x80, 0xbf) && this.cont(i + 2, 0x80, 0xbf);
        len = 3;
      } else if (b == 0xed) {
        ok = this.cont(i + 1, 0x80, 0x9f) && this.cont(i + 2, 0x80, 0xbf);
        len = 3;
      } else if (b == 0xf0) {
        ok = this.cont(i + 1, 0x90, 0xbf) && this.cont(i + 2, 0x80, 0xbf) && this.cont(i + 3, 0x80, 0xbf);
        len = 4;
      } else if (b >= 0xf1 && b <= 0xf3) {
        ok = this.cont(i + 1, 0x80, 0xbf) && this.cont(i + 2, 0x80, 0xbf) && this.cont(i + 3, 0x80, 0xbf);
        len = 4;
      } else if (b == 0xf4) {
        ok = this.cont(i + 1, 0x80, 0x8f) && this.cont(i + 2, 0x80, 0xbf) && this.cont(i + 3, 0x80, 0xbf);
        len = 4;
      }
      if (!ok) return this.fail("invalid UTF-8 at byte " + i.toString());
      i += len;
    }
    return false;
  }
}

function isHex(c: u8): bool {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}
