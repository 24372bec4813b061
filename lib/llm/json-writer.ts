// Builds UTF-8 JSON output directly from AssemblyScript strings (UTF-16), with correct
// escaping, so translated bodies never go through an intermediate string. Never traps.

/** A growable byte buffer. */
export class ByteBuilder {
  buf: Uint8Array;
  len: i32 = 0;

  /**
   * `zeroed` false: the buffer is not cleared first (a body-sized builder whose bytes are only
   * ever read through len: view(), toBytes(), toString()), which saves a memset of its size.
   */
  constructor(capacity: i32 = 256, zeroed: bool = true) {
    const cap = capacity > 16 ? capacity : 16;
    this.buf = zeroed ? new Uint8Array(cap) : Uint8Array.wrap(changetype<ArrayBuffer>(__new(<usize>cap, idof<ArrayBuffer>())));
  }

  /**
   * Starts over in a fresh buffer of `capacity` bytes, not cleared (as the constructor with
   * `zeroed` false): a builder kept for reuse, whose earlier view() stays with its holder.
   */
  restart(capacity: i32): void {
    const cap = capacity > 16 ? capacity : 16;
    this.buf = Uint8Array.wrap(changetype<ArrayBuffer>(__new(<usize>cap, idof<ArrayBuffer>())));
    this.len = 0;
  }

  /**
   * Appends a member copied from validated bytes: `,` when `comma`, the raw key src[ks, ke),
   * `:` and the raw value src[vs, ve), with one capacity check (JsonWriter.rawMember's bytes).
   * Spans outside src go through range(), which clamps them.
   */
  member(src: Uint8Array, ks: i32, ke: i32, vs: i32, ve: i32, comma: bool): void {
    const n = src.length;
    if (ks < 0 || ke < ks || ke > n || vs < 0 || ve < vs || ve > n) {
      if (comma) this.byte(0x2c);
      this.range(src, ks, ke);
      this.byte(0x3a);
      this.range(src, vs, ve);
      return;
    }
    const kn = ke - ks;
    const vn = ve - vs;
    this.ensure(kn + vn + 2);
    const start = this.buf.dataStart + <usize>this.len;
    let o = start;
    if (comma) store<u8>(o++, 0x2c);
    memory.copy(o, src.dataStart + <usize>ks, <usize>kn);
    o += <usize>kn;
    store<u8>(o++, 0x3a);
    memory.copy(o, src.dataStart + <usize>vs, <usize>vn);
    o += <usize>vn;
    this.len += <i32>(o - start);
  }

  /** Makes room for `extra` more bytes. */
  @inline ensure(extra: i32): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    let cap = this.buf.length << 1;
    while (cap < need) cap <<= 1;
    const nb = new Uint8Array(cap);
    memory.copy(nb.dataStart, this.buf.dataStart, <usize>this.len);
    this.buf = nb;
  }

  byte(b: u8): void {
    this.ensure(1);
    unchecked((this.buf[this.len++] = b));
  }

  /** Appends all of `src`. */
  @inline bytes(src: Uint8Array): void {
    const n = src.length;
    this.ensure(n);
    memory.copy(this.buf.dataStart + <usize>this.len, src.dataStart, <usize>n);
    this.len += n;
  }

  /** Appends src[start, end); out-of-range bounds are clamped. */
  range(src: Uint8Array, start: i32, end: i32): void {
    if (start < 0) start = 0;
    if (end > src.length) end = src.length;
    const n = end - start;
    if (n <= 0) return;
    this.ensure(n);
    memory.copy(this.buf.dataStart + <usize>this.len, src.dataStart + <usize>start, <usize>n);
    this.len += n;
  }

  /** Appends `n` bytes from memory at `src` (memory the caller keeps alive). */
  ptr(src: usize, n: i32): void {
    if (n <= 0) return;
    this.ensure(n);
    memory.copy(this.buf.dataStart + <usize>this.len, src, <usize>n);
    this.len += n;
  }

  /** Appends `s` as UTF-8 (lone surrogates become U+FFFD). */
  str(s: string): void {
    const n = s.length;
    this.ensure(n * 3);
    for (let i = 0; i < n; i++) {
      const c = <u32>s.charCodeAt(i);
      if (c < 0x80) {
        unchecked((this.buf[this.len++] = <u8>c));
      } else {
        i = this.utf8At(s, i, c);
      }
    }
  }

  /**
   * Appends `s` as UTF-8 with AssemblyScript's own encoder (String.UTF8.encode's bytes: a lone
   * surrogate is kept as WTF-8, unlike str()), as the property setters encode values.
   */
  utf8(s: string): void {
    const n = s.length;
    this.ensure(n * 3);
    this.len += <i32>String.UTF8.encodeUnsafe(changetype<usize>(s), n, this.buf.dataStart + <usize>this.len);
  }

  /** Appends the decimal text of `v` (v.toString()'s bytes) without making the string. */
  int(v: i64): void {
    this.ensure(20);
    const at = this.buf.dataStart;
    this.len = <i32>(decimalAt(at + <usize>this.len, v) - at);
  }

  /** Encodes the non-ASCII code unit at i (and its pair); returns the last index consumed. Capacity must be reserved. */
  utf8At(s: string, i: i32, c: u32): i32 {
    let cp = c;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = <u32>s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else cp = 0xfffd;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      cp = 0xfffd;
    }
    this.ensure(4);
    if (cp < 0x800) {
      unchecked((this.buf[this.len++] = <u8>(0xc0 | (cp >> 6))));
      unchecked((this.buf[this.len++] = <u8>(0x80 | (cp & 0x3f))));
    } else if (cp < 0x10000) {
      unchecked((this.buf[this.len++] = <u8>(0xe0 | (cp >> 12))));
      unchecked((this.buf[this.len++] = <u8>(0x80 | ((cp >> 6) & 0x3f))));
      unchecked((this.buf[this.len++] = <u8>(0x80 | (cp & 0x3f))));
    } else {
      unchecked((this.buf[this.len++] = <u8>(0xf0 | (cp >> 18))));
      unchecked((this.buf[this.len++] = <u8>(0x80 | ((cp >> 12) & 0x3f))));
      unchecked((this.buf[this.len++] = <u8>(0x80 | ((cp >> 6) & 0x3f))));
      unchecked((this.buf[this.len++] = <u8>(0x80 | (cp & 0x3f))));
    }
    return i;
  }

  /** The bytes written so far, without a copy: a view of the buffer (valid until the next write). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /** A copy of the bytes written so far. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.len);
    memory.copy(out.dataStart, this.buf.dataStart, <usize>this.len);
    return out;
  }

  /** The bytes written so far decoded as UTF-8. */
  toString(): string {
    return String.UTF8.decodeUnsafe(this.buf.dataStart, <usize>this.len);
  }

  reset(): void {
    this.len = 0;
  }
}

/** `s` as UTF-8 bytes, for fixed fragments made once per VM and appended with bytes(). */
export function utf8Bytes(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

const HEX = "0123456789abcdef";

/** Writes `s` as a JSON string literal (quotes included) in UTF-8. */
export function writeJsonString(out: ByteBuilder, s: string): void {
  const n = s.length;
  // Fast path: the leading run of printable ASCII that needs no escape, stored directly
  // (room for all of it reserved once); the rest goes through the general loop below.
  out.ensure(n + 2);
  let dst = out.buf.dataStart + <usize>out.len;
  store<u8>(dst++, 0x22);
  const src = changetype<usize>(s);
  let i = 0;
  while (i < n) {
    const c = <u32>load<u16>(src + (<usize>i << 1));
    if (c < 0x20 || c >= 0x80 || c == 0x22 || c == 0x5c) break;
    store<u8>(dst++, <u8>c);
    i++;
  }
  out.len += i + 1;
  if (i == n) {
    store<u8>(dst, 0x22);
    out.len++;
    return;
  }
  for (; i < n; i++) {
    const c = <u32>s.charCodeAt(i);
    if (c >= 0x20 && c < 0x80) {
      if (c == 0x22 || c == 0x5c) out.byte(0x5c);
      out.byte(<u8>c);
    } else if (c < 0x20) {
      out.byte(0x5c);
      if (c == 0x0a) out.byte(0x6e);
      else if (c == 0x0d) out.byte(0x72);
      else if (c == 0x09) out.byte(0x74);
      else if (c == 0x08) out.byte(0x62);
      else if (c == 0x0c) out.byte(0x66);
      else {
        out.byte(0x75);
        out.byte(0x30);
        out.byte(0x30);
        out.byte(<u8>HEX.charCodeAt(c >> 4));
        out.byte(<u8>HEX.charCodeAt(c & 0xf));
      }
    } else {
      i = out.utf8At(s, i, c);
    }
  }
  out.byte(0x22);
}

/**
 * Writes UTF-8 bytes `src` as a JSON string literal (quotes included) without going through a
 * UTF-16 string: runs of plain bytes are copied, `"` `\` and control bytes escaped, and every
 * byte that is not part of a well-formed UTF-8 sequence becomes U+FFFD, so the output is valid
 * JSON for any input. Room for the worst case (6 bytes per input byte) is reserved once.
 */
export function writeJsonStringUtf8(out: ByteBuilder, src: Uint8Array): void {
  const n = src.length;
  out.ensure(n * 6 + 2);
  const base = out.buf.dataStart;
  let d = base + <usize>out.len;
  const p = src.dataStart;
  store<u8>(d++, 0x22);
  let i = 0;
  while (i < n) {
    const c = <u32>load<u8>(p + <usize>i);
    if (c >= 0x20 && c < 0x80) {
      if (c == 0x22 || c == 0x5c) store<u8>(d++, 0x5c);
      store<u8>(d++, <u8>c);
      i++;
      continue;
    }
    if (c < 0x20) {
      store<u8>(d++, 0x5c);
      if (c == 0x0a) store<u8>(d++, 0x6e);
      else if (c == 0x0d) store<u8>(d++, 0x72);
      else if (c == 0x09) store<u8>(d++, 0x74);
      else {
        store<u8>(d++, 0x75);
        store<u8>(d++, 0x30);
        store<u8>(d++, 0x30);
        store<u8>(d++, <u8>HEX.charCodeAt(c >> 4));
        store<u8>(d++, <u8>HEX.charCodeAt(c & 0xf));
      }
      i++;
      continue;
    }
    // A multi-byte sequence: its length and the allowed range of the second byte (RFC 3629).
    let len = 0;
    let lo: u32 = 0x80;
    let hi: u32 = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;
      else if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;
      else if (c == 0xf4) hi = 0x8f;
    }
    let ok = len > 0 && i + len <= n;
    if (ok) {
      const c1 = <u32>load<u8>(p + <usize>(i + 1));
      ok = c1 >= lo && c1 <= hi;
      for (let k = 2; ok && k < len; k++) {
        const ck = <u32>load<u8>(p + <usize>(i + k));
        ok = ck >= 0x80 && ck <= 0xbf;
      }
    }
    if (ok) {
      memory.copy(d, p + <usize>i, <usize>len);
      d += <usize>len;
      i += len;
    } else {
      store<u8>(d++, 0xef);
      store<u8>(d++, 0xbf);
      store<u8>(d++, 0xbd);
      i++;
    }
  }
  store<u8>(d++, 0x22);
  out.len = <i32>(d - base);
}

/** Writes a JSON number; NaN and infinities (not JSON) become null. Integral values print without a fraction. */
export function writeJsonNumber(out: ByteBuilder, v: f64): void {
  if (!isFinite(v)) {
    out.str("null");
    return;
  }
  if (v == Math.floor(v) && Math.abs(v) < 9007199254740992.0) {
    out.int(<i64>v);
    return;
  }
  out.str(v.toString());
}

/**
 * Streaming JSON writer: call begin/end and value methods in document order; commas are
 * placed for you. `key()` must precede each value inside an object.
 */
export class JsonWriter {
  out: ByteBuilder;
  // One flag per open container, whether it already holds a member: bit d of `held` for the
  // first 64 levels (no allocation per writer), `deep` beyond.
  private depth: i32 = 0;
  private held: u64 = 0;
  private deep: bool[] | null = null;
  private afterKey: bool = false;

  constructor(out: ByteBuilder | null = null) {
    this.out = out != null ? out : new ByteBuilder();
  }

  private sep(): void {
    if (this.afterKey) {
      this.afterKey = false;
      return;
    }
    const d = this.depth;
    if (d == 0) return;
    if (this.holds(d - 1)) this.out.byte(0x2c);
    else this.setHolds(d - 1, true);
  }

  private holds(level: i32): bool {
    if (level < 64) return ((this.held >> <u64>level) & 1) != 0;
    return unchecked(this.deep![level - 64]);
  }

  private setHolds(level: i32, v: bool): void {
    if (level < 64) {
      const bit = <u64>1 << <u64>level;
      this.held = v ? this.held | bit : this.held & ~bit;
      return;
    }
    let dp = this.deep;
    if (dp == null) {
      dp = [];
      this.deep = dp;
    }
    if (dp.length <= level - 64) dp.push(v);
    else unchecked((dp[level - 64] = v));
  }

  /** Opens a container level (no member yet). */
  private push(): void {
    this.setHolds(this.depth, false);
    this.depth++;
  }

  private pop(): void {
    if (this.depth > 0) this.depth--;
  }

  beginObject(): JsonWriter {
    this.sep();
    this.out.byte(0x7b);
    this.push();
    return this;
  }
  endObject(): JsonWriter {
    this.pop();
    this.out.byte(0x7d);
    return this;
  }
  beginArray(): JsonWriter {
    this.sep();
    this.out.byte(0x5b);
    this.push();
    return this;
  }
  endArray(): JsonWriter {
    this.pop();
    this.out.byte(0x5d);
    return this;
  }
  key(k: string): JsonWriter {
    this.sep();
    writeJsonString(this.out, k);
    this.out.byte(0x3a);
    this.afterKey = true;
    return this;
  }
  string(s: string): JsonWriter {
    this.sep();
    writeJsonString(this.out, s);
    return this;
  }
  /** A string value from UTF-8 bytes (writeJsonStringUtf8). */
  stringUtf8(b: Uint8Array): JsonWriter {
    this.sep();
    writeJsonStringUtf8(this.out, b);
    return this;
  }

  /** A string, or null when `s` is null. */
  stringOrNull(s: string | null): JsonWriter {
    if (s == null) return this.null();
    return this.string(s);
  }
  int(v: i64): JsonWriter {
    this.sep();
    this.out.int(v);
    return this;
  }
  number(v: f64): JsonWriter {
    this.sep();
    writeJsonNumber(this.out, v);
    return this;
  }
  bool(v: bool): JsonWriter {
    this.sep();
    this.out.str(v ? "true" : "false");
    return this;
  }
  null(): JsonWriter {
    this.sep();
    this.out.str("null");
    return this;
  }
  /** Already-serialized JSON (e.g. a value span copied from validated input). */
  raw(json: Uint8Array): JsonWriter {
    this.sep();
    this.out.bytes(json);
    return this;
  }
  /** Already-serialized JSON from src[start, end). */
  rawRange(src: Uint8Array, start: i32, end: i32): JsonWriter {
    this.sep();
    this.out.range(src, start, end);
    return this;
  }
  /** Copies an object member from validated source bytes: raw key src[ks, ke) and raw value src[vs, ve). */
  rawMember(src: Uint8Array, ks: i32, ke: i32, vs: i32, ve: i32): JsonWriter {
    this.sep();
    this.out.member(src, ks, ke, vs, ve, false);
    return this;
  }
  /** Already-serialized JSON held in a string (e.g. json-as output). */
  rawString(json: string): JsonWriter {
    this.sep();
    this.out.str(json);
    return this;
  }

  // Object member shorthands.
  fieldString(k: string, v: string): JsonWriter {
    return this.key(k).string(v);
  }
  fieldStringOrNull(k: string, v: string | null): JsonWriter {
    return this.key(k).stringOrNull(v);
  }
  fieldInt(k: string, v: i64): JsonWriter {
    return this.key(k).int(v);
  }
  fieldNumber(k: string, v: f64): JsonWriter {
    return this.key(k).number(v);
  }
  fieldBool(k: string, v: bool): JsonWriter {
    return this.key(k).bool(v);
  }
  fieldNull(k: string): JsonWriter {
    return this.key(k).null();
  }
  fieldRaw(k: string, json: Uint8Array): JsonWriter {
    return this.key(k).raw(json);
  }

  toBytes(): Uint8Array {
    return this.out.toBytes();
  }
}

/** The decimal text of `v` (v.toString()'s bytes) at `p` (room for 20 bytes); returns the end. */
export function decimalAt(p: usize, v: i64): usize {
  let u: u64 = <u64>v;
  if (v < 0) {
    store<u8>(p++, 0x2d);
    u = <u64>0 - u;
  }
  let digits: usize = 1;
  for (let t = u; t >= 10; t /= 10) digits++;
  const end = p + digits;
  let d = end;
  do {
    store<u8>(--d, <u8>(0x30 + <u32>(u % 10)));
    u /= 10;
  } while (u != 0);
  return end;
}
