// Reads of a JSON document straight from its UTF-8 bytes, for hot paths that only need a
// few members: no UTF-16 copy of the body, no tree. The input must have passed
// validateJson (lib/json/validate.ts); every load is still bounds-checked against the
// buffer, so a caller's mistake yields wrong answers, never a trap.
//
// Semantics follow json-as's JSON.Obj on the same text, so a reader here and a json-as
// parse agree: keys match by their raw bytes (escapes are not decoded, as json-as does),
// the last of duplicate keys wins, and numbers are f64.parse of their text.

/** The kind of the value starting at a byte (validated input). */
export enum RawKind {
  None = 0,
  String = 1,
  Number = 2,
  True = 3,
  False = 4,
  Null = 5,
  Object = 6,
  Array = 7,
}

// SWAR constants: one byte lane each.
const ONES: u64 = 0x0101010101010101;
const HIGHS: u64 = 0x8080808080808080;

/** Non-zero when some byte of x is zero. */
@inline export function swarHasZero(x: u64): u64 {
  return (x - ONES) & ~x & HIGHS;
}

/** Non-zero when some byte of x is `"` or `\`. */
@inline function swarQuoteOrSlash(x: u64): u64 {
  return swarHasZero(x ^ (ONES * 0x22)) | swarHasZero(x ^ (ONES * 0x5c));
}

@inline function isSpace(c: u32): bool {
  return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d;
}

// The scanning core works on a base pointer and offsets: no managed object in loops that run
// once per byte or per value.

/** The first non-space offset at or after i (at most end) in the bytes at p. */
@inline export function skipSpaceAt(p: usize, i: i32, end: i32): i32 {
  while (i < end && isSpace(<u32>load<u8>(p + <usize>i))) i++;
  return i;
}

/** The n bytes at p + s equal the ASCII `key`. */
export function bytesAre(p: usize, s: i32, n: i32, key: string): bool {
  if (n != key.length) return false;
  const k16 = changetype<usize>(key);
  for (let k = 0; k < n; k++) {
    if (<u32>load<u8>(p + <usize>(s + k)) != <u32>load<u16>(k16 + (<usize>k << 1))) return false;
  }
  return true;
}

/** The first 8 characters of an ASCII `key` as a little-endian word of bytes (zero-padded). */
export function word8(key: string): u64 {
  let w: u64 = 0;
  for (let k = 0, n = min(key.length, 8); k < n; k++) w |= <u64>(key.charCodeAt(k) & 0xff) << (<u64>k << 3);
  return w;
}

/**
 * The n ≤ 8 bytes at p + s as word8 makes them (zero-padded): one load when 8 bytes are
 * readable before `end`, else byte by byte. Compares a short name in one step.
 */
export function wordAt(p: usize, s: i32, n: i32, end: i32): u64 {
  if (n <= 0) return 0;
  if (s + 8 <= end) {
    const x = load<u64>(p + <usize>s);
    return n >= 8 ? x : x & ((<u64>1 << (<u64>n << 3)) - 1);
  }
  let w: u64 = 0;
  for (let k = 0; k < n; k++) w |= <u64>load<u8>(p + <usize>(s + k)) << (<u64>k << 3);
  return w;
}

/** Offset just past the string whose opening quote is at p[i], or -1. */
export function skipStringAt(p: usize, i: i32, end: i32): i32 {
  i++;
  while (true) {
    // Eight bytes at a time while none of them is a quote or a backslash; then straight to the
    // first one that is (the lowest flagged lane is exact).
    while (i + 8 <= end) {
      const m = swarQuoteOrSlash(load<u64>(p + <usize>i));
      if (m != 0) {
        i += <i32>(ctz(m) >> 3);
        break;
      }
      i += 8;
    }
    if (i >= end) return -1;
    const c = load<u8>(p + <usize>i);
    if (c == 0x22) return i + 1;
    i += c == 0x5c ? 2 : 1;
  }
  return -1;
}

/** Offset just past the value starting at p[i], or -1. */
export function skipValueAt(p: usize, i: i32, end: i32): i32 {
  if (i < 0 || i >= end) return -1;
  const c = load<u8>(p + <usize>i);
  if (c == 0x22) return skipStringAt(p, i, end);
  if (c == 0x7b || c == 0x5b) {
    let depth = 0;
    while (i < end) {
      const d = load<u8>(p + <usize>i);
      if (d == 0x22) {
        i = skipStringAt(p, i, end);
        if (i < 0) return -1;
        continue;
      }
      if (d == 0x7b || d == 0x5b) depth++;
      else if (d == 0x7d || d == 0x5d) {
        depth--;
        if (depth == 0) return i + 1;
      }
      i++;
    }
    return -1;
  }
  // number, true, false, null
  while (i < end) {
    const d = load<u8>(p + <usize>i);
    if (d == 0x2c || d == 0x7d || d == 0x5d || isSpace(<u32>d)) break;
    i++;
  }
  return i;
}

/** The first non-space index at or after i (at most end). */
export function rawSkipSpace(b: Uint8Array, i: i32, end: i32): i32 {
  if (end > b.length) end = b.length;
  return skipSpaceAt(b.dataStart, i, end);
}

/** Index just past the string whose opening quote is at b[i], or -1. */
export function rawSkipString(b: Uint8Array, i: i32, end: i32): i32 {
  if (end > b.length) end = b.length;
  if (i < 0) return -1;
  return skipStringAt(b.dataStart, i, end);
}

/** Index just past the value starting at b[i], or -1. */
export function rawSkipValue(b: Uint8Array, i: i32, end: i32): i32 {
  if (end > b.length) end = b.length;
  return skipValueAt(b.dataStart, i, end);
}

/** The kind of the value starting at b[i]. */
export function rawKind(b: Uint8Array, i: i32): RawKind {
  if (i < 0 || i >= b.length) return RawKind.None;
  const c = load<u8>(b.dataStart + <usize>i);
  if (c == 0x22) return RawKind.String;
  if (c == 0x7b) return RawKind.Object;
  if (c == 0x5b) return RawKind.Array;
  if (c == 0x74) return RawKind.True;
  if (c == 0x66) return RawKind.False;
  if (c == 0x6e) return RawKind.Null;
  if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return RawKind.Number;
  return RawKind.None;
}

// The member nextMemberAt read last: the key's raw bytes (inside the quotes) and the value.
export let memberKeyStart: i32 = 0;
export let memberKeyEnd: i32 = 0;
export let memberValueStart: i32 = 0;
export let memberValueEnd: i32 = 0;
/** After nextMemberAt found no member at the object's `}`: the offset just past it; else -1. */
export let memberClose: i32 = -1;

/**
 * The member at p[i] (i just past the object's `{` or a member's value; the object ends
 * before `end`): sets the member* spans and returns the offset just past its value, or -1 when
 * there is none (memberClose tells whether the object ended there). RawObjectIter's step, for
 * hot readers that keep no iterator object (no object to allocate and read fields through).
 */
export function nextMemberAt(p: usize, i: i32, end: i32): i32 {
  memberClose = -1;
  i = skipSpaceAt(p, i, end);
  if (i < end && load<u8>(p + <usize>i) == 0x2c) i = skipSpaceAt(p, i + 1, end);
  const ke = i < end && load<u8>(p + <usize>i) == 0x22 ? skipStringAt(p, i, end) : -1;
  if (ke < 0) {
    if (i < end && load<u8>(p + <usize>i) == 0x7d) memberClose = i + 1;
    return -1;
  }
  const ks = i + 1;
  i = skipSpaceAt(p, ke, end);
  if (i >= end || load<u8>(p + <usize>i) != 0x3a) return -1;
  i = skipSpaceAt(p, i + 1, end);
  const ve = skipValueAt(p, i, end);
  if (ve < 0) return -1;
  memberKeyStart = ks;
  memberKeyEnd = ke - 1;
  memberValueStart = i;
  memberValueEnd = ve;
  return ve;
}

/**
 * Walks the members of the object whose `{` is at b[start] (value ends at `end`). After
 * each next() returning true, the key's raw bytes (inside the quotes) are
 * [keyStart, keyEnd) and the value is [valueStart, valueEnd). No allocation per member.
 */
export class RawObjectIter {
  keyStart: i32 = 0;
  keyEnd: i32 = 0;
  valueStart: i32 = 0;
  valueEnd: i32 = 0;
  private p: usize;
  private i: i32;
  private done: bool = false;

  constructor(
    public b: Uint8Array,
    start: i32,
    public end: i32,
  ) {
    if (end > b.length) this.end = end = b.length;
    this.p = b.dataStart;
    this.i = start + 1;
    if (start < 0 || start >= end || load<u8>(b.dataStart + <usize>start) != 0x7b) this.done = true;
  }

  /** After next() returned false at the object's `}`: the offset just past it; else -1. */
  close: i32 = -1;

  next(): bool {
    if (this.done) return false;
    const ve = nextMemberAt(this.p, this.i, this.end);
    if (ve < 0) {
      if (memberClose >= 0) this.close = memberClose;
      this.done = true;
      return false;
    }
    this.keyStart = memberKeyStart;
    this.keyEnd = memberKeyEnd;
    this.valueStart = memberValueStart;
    this.valueEnd = memberValueEnd;
    this.i = ve;
    return true;
  }

  /** The current key's raw bytes equal `key` (ASCII). */
  keyIs(key: string): bool {
    return bytesAre(this.p, this.keyStart, this.keyEnd - this.keyStart, key);
  }

  /** The current value's span packed as for rawFind. */
  @inline get span(): i64 {
    return (<i64>this.valueStart << 32) | <i64>(<u32>this.valueEnd);
  }
}

/** Walks the elements of the array whose `[` is at b[start]: [valueStart, valueEnd) after next(). */
export class RawArrayIter {
  valueStart: i32 = 0;
  valueEnd: i32 = 0;
  private p: usize;
  private i: i32;
  private done: bool = false;

  constructor(
    public b: Uint8Array,
    start: i32,
    public end: i32,
  ) {
    if (end > b.length) this.end = end = b.length;
    this.p = b.dataStart;
    this.i = start + 1;
    if (start < 0 || start >= end || load<u8>(b.dataStart + <usize>start) != 0x5b) this.done = true;
  }

  next(): bool {
    if (this.done) return false;
    const p = this.p;
    const end = this.end;
    let i = skipSpaceAt(p, this.i, end);
    if (i < end && load<u8>(p + <usize>i) == 0x2c) i = skipSpaceAt(p, i + 1, end);
    const ve = i < end && load<u8>(p + <usize>i) != 0x5d ? skipValueAt(p, i, end) : -1;
    if (ve < 0) {
      this.done = true;
      return false;
    }
    this.valueStart = i;
    this.valueEnd = ve;
    this.i = ve;
    return true;
  }
}

/** Value span of the member `key` (raw key bytes, the last one wins) of the object at b[start, end): [start, end) packed as (start << 32 | end), or -1. */
export function rawFind(b: Uint8Array, start: i32, end: i32, key: string): i64 {
  const it = new RawObjectIter(b, start, end);
  let found: i64 = -1;
  while (it.next()) {
    if (it.keyIs(key)) found = (<i64>it.valueStart << 32) | <i64>(<u32>it.valueEnd);
  }
  return found;
}

/** Start of a span packed by rawFind. */
@inline export function spanStart(s: i64): i32 {
  return <i32>(s >> 32);
}

/** End of a span packed by rawFind. */
@inline export function spanEnd(s: i64): i32 {
  return <i32>(s & 0xffffffff);
}

@inline function hexVal(c: u32): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>(c - 0x30);
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return <i32>(l - 0x61 + 10);
  return -1;
}

/** The string literal b[start, end) (quotes included) decoded, escapes resolved. */
export function rawString(b: Uint8Array, start: i32, end: i32): string {
  if (end > b.length) end = b.length;
  const s = start + 1;
  const e = end - 1;
  if (start < 0 || e <= s) return "";
  const p = b.dataStart;
  let plain = true;
  for (let i = s; i < e; i++) {
    if (load<u8>(p + <usize>i) == 0x5c) {
      plain = false;
      break;
    }
  }
  if (plain) return String.UTF8.decodeUnsafe(p + <usize>s, <usize>(e - s));
  // Escapes: decode the plain runs and the escapes into UTF-16 code units.
  const parts = new Array<string>();
  let run = s;
  let i = s;
  while (i < e) {
    if (load<u8>(p + <usize>i) != 0x5c) {
      i++;
      continue;
    }
    if (i > run) parts.push(String.UTF8.decodeUnsafe(p + <usize>run, <usize>(i - run)));
    if (i + 1 >= e) break;
    const c = <u32>load<u8>(p + <usize>(i + 1));
    i += 2;
    if (c == 0x6e) parts.push("\n");
    else if (c == 0x74) parts.push("\t");
    else if (c == 0x72) parts.push("\r");
    else if (c == 0x62) parts.push("\b");
    else if (c == 0x66) parts.push("\f");
    else if (c == 0x75) {
      let v: i32 = 0;
      for (let k = 0; k < 4; k++) {
        const h = i + k < e ? hexVal(<u32>load<u8>(p + <usize>(i + k))) : -1;
        if (h < 0) {
          v = 0xfffd;
          break;
        }
        v = (v << 4) | h;
      }
      i += 4;
      parts.push(String.fromCharCode(v));
    } else parts.push(String.fromCharCode(c));
    run = i;
  }
  if (e > run) parts.push(String.UTF8.decodeUnsafe(p + <usize>run, <usize>(e - run)));
  return concatAll(parts);
}

function hex4(p: usize, i: i32): u32 {
  let v: u32 = 0;
  for (let k = 0; k < 4; k++) {
    const c = <u32>load<u8>(p + <usize>(i + k));
    const d = c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10;
    v = (v << 4) | d;
  }
  return v;
}

const BACKSLASHES: u64 = 0x5c5c5c5c5c5c5c5c;

/**
 * The validated string body p[s, e) (between the quotes, with escapes) written at `o` as the
 * UTF-8 that String.UTF8.encode gives for rawString's text: a \u escape of a high surrogate
 * followed by one of a low surrogate is one 4-byte character; any other surrogate is 3 bytes
 * (WTF-8). Room for e - s bytes is enough (every escape is longer than what it stands for);
 * returns the bytes written. No string on the way: the text goes from the JSON to bytes.
 */
export function unescapeAt(p: usize, s: i32, e: i32, o: usize): i32 {
  const o0 = o;
  let i = s;
  while (i < e) {
    // The run up to the next backslash, copied eight bytes at a time as it is searched (a
    // memory.copy per run cost more than the copying: runs between escapes are short). A word
    // stored whole may carry bytes past the backslash; they are overwritten next. It fits: the
    // output never runs ahead of the input (o - o0 <= i - s), and i + 8 <= e.
    while (i + 8 <= e) {
      const w = load<u64>(p + <usize>i);
      store<u64>(o, w);
      const m = swarHasZero(w ^ BACKSLASHES);
      if (m != 0) {
        const k = <i32>(ctz(m) >> 3);
        i += k;
        o += <usize>k;
        break;
      }
      i += 8;
      o += 8;
    }
    while (i < e) {
      const c = load<u8>(p + <usize>i);
      if (c == 0x5c) break;
      store<u8>(o++, c);
      i++;
    }
    if (i >= e) break;
    const x = load<u8>(p + <usize>(i + 1));
    if (x != 0x75) {
      let v: u8 = x; // \" \\ \/
      if (x == 0x6e) v = 0x0a;
      else if (x == 0x74) v = 0x09;
      else if (x == 0x72) v = 0x0d;
      else if (x == 0x62) v = 0x08;
      else if (x == 0x66) v = 0x0c;
      store<u8>(o++, v);
      i += 2;
      continue;
    }
    let u = hex4(p, i + 2);
    i += 6;
    if (u >= 0xd800 && u < 0xdc00 && i + 6 <= e && load<u8>(p + <usize>i) == 0x5c && load<u8>(p + <usize>(i + 1)) == 0x75) {
      const lo = hex4(p, i + 2);
      if ((lo & 0xfc00) == 0xdc00) {
        const cp = 0x10000 + (((u & 0x3ff) << 10) | (lo & 0x3ff));
        store<u8>(o, <u8>((cp >> 18) | 0xf0));
        store<u8>(o, <u8>(((cp >> 12) & 63) | 0x80), 1);
        store<u8>(o, <u8>(((cp >> 6) & 63) | 0x80), 2);
        store<u8>(o, <u8>((cp & 63) | 0x80), 3);
        o += 4;
        i += 6;
        continue;
      }
    }
    if (u < 0x80) store<u8>(o++, <u8>u);
    else if (u < 0x800) {
      store<u8>(o, <u8>((u >> 6) | 0xc0));
      store<u8>(o, <u8>((u & 63) | 0x80), 1);
      o += 2;
    } else {
      store<u8>(o, <u8>((u >> 12) | 0xe0));
      store<u8>(o, <u8>(((u >> 6) & 63) | 0x80), 1);
      store<u8>(o, <u8>((u & 63) | 0x80), 2);
      o += 3;
    }
  }
  return <i32>(o - o0);
}

/**
 * A validated string literal b[start, end) (quotes included) as UTF-8 bytes: the bytes of
 * String.UTF8.encode(rawString(b, start, end)), without the UTF-16 string between.
 */
export function rawStringBytes(b: Uint8Array, start: i32, end: i32): Uint8Array {
  if (end > b.length) end = b.length;
  const s = start + 1;
  const e = end - 1;
  if (start < 0 || e <= s) return new Uint8Array(0);
  // The escaped length is room enough; the view is as long as what was written.
  const out = new ArrayBuffer(e - s);
  return Uint8Array.wrap(out, 0, unescapeAt(b.dataStart, s, e, changetype<usize>(out)));
}

/**
 * The parts joined, in one allocation. Array<string>#join is quadratic with this build's
 * shrinkLevel 1 (AssemblyScript then joins through String.__concat, one copy per part), which
 * made a 40 KB string with thousands of escapes take hundreds of milliseconds.
 */
export function concatAll(parts: string[]): string {
  const n = parts.length;
  let len: usize = 0;
  for (let i = 0; i < n; i++) len += <usize>unchecked(parts[i]).length;
  // Nothing allocates between __new and the last copy, so the collector never sees it half filled.
  const out = changetype<string>(__new(len << 1, idof<string>()));
  let off: usize = 0;
  for (let i = 0; i < n; i++) {
    const s = unchecked(parts[i]);
    const bytes = <usize>s.length << 1;
    memory.copy(changetype<usize>(out) + off, changetype<usize>(s), bytes);
    off += bytes;
  }
  return out;
}

/** The string literal b[start, end) (quotes included) equals `s` once decoded. */
export function rawStringEquals(b: Uint8Array, start: i32, end: i32, s: string): bool {
  if (end > b.length) end = b.length;
  const n = end - start - 2;
  if (start < 0 || n < 0) return false;
  const p = b.dataStart + <usize>(start + 1);
  const sp = changetype<usize>(s);
  const sl = s.length;
  // Plain ASCII bytes decode to themselves: compare them directly until an escape or a
  // non-ASCII byte, which needs the decoded text.
  for (let k = 0; k < n; k++) {
    const c = <u32>load<u8>(p + <usize>k);
    if (c == 0x5c || c >= 0x80) return rawString(b, start, end) == s;
    if (k >= sl || c != <u32>load<u16>(sp + (<usize>k << 1))) return false;
  }
  return n == sl;
}

/** The number literal b[start, end) as json-as reads it (f64.parse of the text). */
export function rawNumber(b: Uint8Array, start: i32, end: i32): f64 {
  const len = b.length;
  return numberAt(b.dataStart, start, end > len ? len : end);
}

/** rawNumber over the bytes at p (`end` within them). */
export function numberAt(p: usize, start: i32, end: i32): f64 {
  if (start < 0 || end <= start) return NaN;
  // An integer of at most 15 digits (token counts, indexes) is exact in f64: no string to parse.
  const neg = load<u8>(p + <usize>start) == 0x2d;
  const ds = neg ? start + 1 : start;
  if (end > ds && end - ds <= 15) {
    let v: i64 = 0;
    let i = ds;
    for (; i < end; i++) {
      const c = <u32>load<u8>(p + <usize>i) - 0x30;
      if (c > 9) break;
      v = v * 10 + <i64>c;
    }
    if (i == end) return neg ? -<f64>v : <f64>v;
  }
  return f64.parse(String.UTF8.decodeUnsafe(p + <usize>start, <usize>(end - start)));
}

/** The index of the first non-space byte of the document in b, or b.length. */
export function rawStart(b: Uint8Array): i32 {
  return rawSkipSpace(b, 0, b.length);
}
