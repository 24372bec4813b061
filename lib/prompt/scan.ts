// Byte-level reads of a JSON text that `validateJson` has accepted. Filters that rewrite a
// request body work on spans of the original bytes instead of a json-as tree: nested values
// are copied byte for byte (numbers keep their precision, strings their escapes), nothing is
// recursed, and nothing here can trap: every read is bounds-checked, so even input that was
// not validated only yields nonsense spans, never an abort.

import { skipStringAt } from "../json/raw";

/** The JSON kinds, told by a value's first byte. */
export const enum Kind {
  None = 0,
  Object = 1,
  Array = 2,
  String = 3,
  Number = 4,
  True = 5,
  False = 6,
  Null = 7,
}

/** Byte `i`, or 0 outside the buffer. */
// @ts-ignore: decorator
@inline export function byteAt(b: Uint8Array, i: i32): u8 {
  return i >= 0 && i < b.length ? unchecked(b[i]) : 0;
}

export function skipWs(b: Uint8Array, i: i32): i32 {
  const n = b.length;
  while (i < n) {
    const c = unchecked(b[i]);
    if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
    i++;
  }
  return i;
}

export function kindAt(b: Uint8Array, i: i32): Kind {
  const c = byteAt(b, i);
  if (c == 0x7b) return Kind.Object;
  if (c == 0x5b) return Kind.Array;
  if (c == 0x22) return Kind.String;
  if (c == 0x74) return Kind.True;
  if (c == 0x66) return Kind.False;
  if (c == 0x6e) return Kind.Null;
  if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return Kind.Number;
  return Kind.None;
}

/** The index just past the string whose opening quote is at `i` (the end of `b` when unterminated). */
export function skipString(b: Uint8Array, i: i32): i32 {
  const n = b.length;
  // Eight bytes a step to the next quote or backslash (lib/json/raw): a prompt is long strings.
  const e = i >= 0 ? skipStringAt(b.dataStart, i, n) : -1;
  return e < 0 ? n : e;
}

/** The index just past the value that starts at `i` (iterative: depth costs no stack). */
export function skipValue(b: Uint8Array, i: i32): i32 {
  const n = b.length;
  let depth = 0;
  while (i < n) {
    const c = unchecked(b[i]);
    if (c == 0x22) {
      i = skipString(b, i);
      if (depth == 0) return i;
      continue;
    }
    if (c == 0x7b || c == 0x5b) {
      depth++;
      i++;
      continue;
    }
    if (c == 0x7d || c == 0x5d) {
      depth--;
      i++;
      if (depth <= 0) return i;
      continue;
    }
    if (depth == 0) {
      // A scalar at top level: numbers and literals end at a delimiter.
      while (i < n) {
        const d = unchecked(b[i]);
        if (d == 0x2c || d == 0x7d || d == 0x5d || d == 0x20 || d == 0x09 || d == 0x0a || d == 0x0d) break;
        i++;
      }
      return i;
    }
    i++;
  }
  return n;
}

/** One member of an object: the key's raw bytes (between its quotes) and the value's span. */
export class Member {
  constructor(
    public keyStart: i32,
    public keyEnd: i32,
    public valueStart: i32,
    public valueEnd: i32,
  ) {}
}

/** A value's span. */
export class Span {
  constructor(
    public start: i32,
    public end: i32,
  ) {}
}

/** The members of the object whose `{` is at `i`, in document order (duplicates included). */
export function objectMembers(b: Uint8Array, i: i32): Member[] {
  const out = new Array<Member>();
  if (byteAt(b, i) != 0x7b) return out;
  i = skipWs(b, i + 1);
  if (byteAt(b, i) == 0x7d) return out;
  const n = b.length;
  while (i < n && byteAt(b, i) == 0x22) {
    const ks = i + 1;
    const ke = skipString(b, i);
    i = skipWs(b, ke);
    if (byteAt(b, i) != 0x3a) break;
    const vs = skipWs(b, i + 1);
    const ve = skipValue(b, vs);
    out.push(new Member(ks, ke - 1, vs, ve));
    i = skipWs(b, ve);
    if (byteAt(b, i) != 0x2c) break;
    i = skipWs(b, i + 1);
  }
  return out;
}

/** The elements of the array whose `[` is at `i`, in order. */
export function arrayElements(b: Uint8Array, i: i32): Span[] {
  const out = new Array<Span>();
  if (byteAt(b, i) != 0x5b) return out;
  i = skipWs(b, i + 1);
  if (byteAt(b, i) == 0x5d) return out;
  const n = b.length;
  while (i < n) {
    const e = skipValue(b, i);
    if (e <= i) break;
    out.push(new Span(i, e));
    i = skipWs(b, e);
    if (byteAt(b, i) != 0x2c) break;
    i = skipWs(b, i + 1);
  }
  return out;
}

/** The last member whose decoded key is `key` (the one JSON.parse and cjson keep), or null. */
export function lastMember(b: Uint8Array, members: Member[], key: string): Member | null {
  for (let k = members.length - 1; k >= 0; k--) {
    const m = unchecked(members[k]);
    if (rawStringEquals(b, m.keyStart, m.keyEnd, key)) return m;
  }
  return null;
}

/** True when the raw string content `b[start:end]` decodes to `s`. */
export function rawStringEquals(b: Uint8Array, start: i32, end: i32, s: string): bool {
  if (start >= 0 && end <= b.length && start <= end) {
    const p = b.dataStart + <usize>start;
    const n = end - start;
    const sp = changetype<usize>(s);
    const sl = s.length;
    // Plain ASCII bytes decode to themselves: compare them to `s` directly until an escape or
    // a non-ASCII byte, which needs the decoded text (a member key is compared on every
    // lookup, so this path allocates nothing).
    let k = 0;
    for (; k < n; k++) {
      const c = <u32>load<u8>(p + <usize>k);
      if (c == 0x5c || c >= 0x80) break;
      if (k >= sl || c != <u32>load<u16>(sp + (<usize>k << 1))) return false;
    }
    if (k == n) return n == sl;
  }
  // Every escape or UTF-8 sequence of up to 6 bytes yields at least one UTF-16 unit.
  if (end - start > 6 * s.length) return false;
  return decodeString(b, start, end) == s;
}

function hexVal(c: u8): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** Decodes the raw content of a JSON string (between its quotes) to a string, in one pass. */
export function decodeString(b: Uint8Array, start: i32, end: i32): string {
  if (start < 0) start = 0;
  if (end > b.length) end = b.length;
  if (end <= start) return "";
  // Each input byte yields at most one UTF-16 unit (a 4-byte sequence yields two).
  const out = new StaticArray<u16>(end - start);
  let o = 0;
  let i = start;
  while (i < end) {
    const c = <u32>unchecked(b[i]);
    if (c == 0x5c) {
      const e = byteAt(b, i + 1);
      if (e == 0x75) {
        let v = 0;
        for (let k = 2; k < 6; k++) {
          const h = hexVal(byteAt(b, i + k));
          v = (v << 4) | (h < 0 ? 0 : h);
        }
        unchecked((out[o++] = <u16>v));
        i += 6;
        continue;
      }
      let ch: u32 = e;
      if (e == 0x62) ch = 0x08;
      else if (e == 0x66) ch = 0x0c;
      else if (e == 0x6e) ch = 0x0a;
      else if (e == 0x72) ch = 0x0d;
      else if (e == 0x74) ch = 0x09;
      unchecked((out[o++] = <u16>ch));
      i += 2;
      continue;
    }
    if (c < 0x80) {
      unchecked((out[o++] = <u16>c));
      i++;
      continue;
    }
    // UTF-8 (validated upstream; anything malformed becomes U+FFFD rather than a trap).
    let cp: u32 = 0xfffd;
    let len = 1;
    if (c >= 0xc2 && c <= 0xdf && i + 1 < end) {
      cp = ((c & 0x1f) << 6) | (<u32>byteAt(b, i + 1) & 0x3f);
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef && i + 2 < end) {
      cp = ((c & 0x0f) << 12) | ((<u32>byteAt(b, i + 1) & 0x3f) << 6) | (<u32>byteAt(b, i + 2) & 0x3f);
      len = 3;
    } else if (c >= 0xf0 && c <= 0xf4 && i + 3 < end) {
      cp = ((c & 0x07) << 18) | ((<u32>byteAt(b, i + 1) & 0x3f) << 12) | ((<u32>byteAt(b, i + 2) & 0x3f) << 6) | (<u32>byteAt(b, i + 3) & 0x3f);
      len = 4;
    }
    if (cp >= 0x10000 && o + 1 < out.length) {
      cp -= 0x10000;
      unchecked((out[o++] = <u16>(0xd800 | (cp >> 10))));
      unchecked((out[o++] = <u16>(0xdc00 | (cp & 0x3ff))));
    } else {
      unchecked((out[o++] = <u16>(cp >= 0x10000 ? 0xfffd : cp)));
    }
    i += len;
  }
  return String.UTF16.decodeUnsafe(changetype<usize>(out), <usize>o << 1);
}
