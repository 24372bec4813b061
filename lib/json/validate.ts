// A strict RFC 8259 validator for untrusted bytes that never traps and never recurses.
// json-as's JSON.parse aborts (traps the VM) on invalid input, so every untrusted document
// passes here first. Strings must be valid UTF-8 (no overlongs, no surrogates), control
// characters must be escaped, no trailing commas, NaN, comments or BOM.
//
// Written as free functions over a pointer and offsets (no managed object in the loops): a
// pointer loop compiles to plain loads, and this runs over every byte of every body.

const ARRAY: u8 = 0;
const OBJECT: u8 = 1;

/** Why validation failed, with the byte offset, or null when `bytes` is one valid JSON text. */
export function validateJson(bytes: Uint8Array, maxDepth: i32): string | null {
  return validateJsonAt(bytes.dataStart, bytes.byteLength, maxDepth);
}

/** The same, for a buffer given as pointer and length (memory the caller keeps alive). */
export function validateJsonAt(ptr: usize, len: i32, maxDepth: i32): string | null {
  vErr = null;
  run(ptr, len, maxDepth, false);
  const e = vErr;
  vErr = null;
  return e;
}

/**
 * validateJson that also records, when the document is an object, its top-level members in
 * `spans` (cleared first): four offsets per member, keyStart and keyEnd (the key literal,
 * quotes included), valueStart and valueEnd. Saves the caller a second pass to find them.
 * On failure `spans` holds an unspecified prefix.
 */
export function validateJsonMembers(bytes: Uint8Array, maxDepth: i32, spans: Array<i32>): string | null {
  vErr = null;
  const ns = run(bytes.dataStart, bytes.byteLength, maxDepth, true);
  // One resize and one copy instead of a push per offset (Array#push's capacity check was a
  // third of this function's time on a chat body).
  spans.length = ns;
  memory.copy(spans.dataStart, marksAt, <usize>ns << 2);
  const e = vErr;
  vErr = null;
  return e;
}

/** The first failure of the current run (the functions below return -1 after setting it). */
let vErr: string | null = null;

function describe(b: u8): string {
  if (b >= 0x20 && b < 0x7f) return "character '" + String.fromCharCode(b) + "'";
  return "byte 0x" + (b < 16 ? "0" : "") + (<u32>b).toString(16);
}

@inline function at(p: usize, i: i32): u8 {
  return load<u8>(p + <usize>i);
}

/** Records `msg` and answers -1. */
function fail(msg: string): i32 {
  if (vErr == null) vErr = msg;
  return -1;
}

// The messages are built in these helpers, never in the scanners: string concatenation in a
// scanner would pull allocation and its calls into the loop's function, even when the message
// is never built.

/** Records `what + " at byte " + i` and answers -1. */
function failAt(what: string, i: i32): i32 {
  return fail(what + " at byte " + i.toString());
}

function failDepth(maxDepth: i32): i32 {
  return fail("nesting deeper than " + maxDepth.toString());
}

function failKey(p: usize, i: i32): i32 {
  return fail("expected a string key at byte " + i.toString() + ", found " + describe(at(p, i)));
}

function unexpected(p: usize, i: i32, n: i32): i32 {
  if (i >= n) return fail("unexpected end of input");
  return fail("unexpected " + describe(at(p, i)) + " at byte " + i.toString());
}

@inline function ws(p: usize, i: i32, n: i32): i32 {
  while (i < n) {
    const c = at(p, i);
    // One compare for the usual case (compact JSON: the next byte is a token, above space).
    if (c > 0x20 || (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d)) break;
    i++;
  }
  return i;
}

// The open containers' kinds, one byte per level, kept across runs (one allocation per VM,
// not one per body); grown when a caller asks for a deeper limit.
let stack = new StaticArray<u8>(64);
// Its address and size, so run touches no managed reference.
let stackAt: usize = changetype<usize>(stack);
let stackCap: i32 = 64;

function growStack(maxDepth: i32): void {
  stack = new StaticArray<u8>(maxDepth);
  stackAt = changetype<usize>(stack);
  stackCap = maxDepth;
}

/**
 * Validates p[0, n); when `rec`, records the top-level members' offsets in `marks` and returns
 * how many it wrote (a multiple of 4 on success).
 */
function run(p: usize, n: i32, maxDepth: i32, rec: bool): i32 {
  let depth: i32 = 0;
  let ns: i32 = 0;
  if (stackCap < maxDepth) growStack(maxDepth);
  const sp = stackAt;
  let i = ws(p, 0, n);
  if (i >= n) {
    fail("empty input");
    return ns;
  }
  // Each turn reads one value, then closes containers and consumes separators until the
  // next value is due.
  while (true) {
    if (i >= n) {
      unexpected(p, i, n);
      return ns;
    }
    const c = at(p, i);
    let opened = false;
    if (c == 0x22 /* " */) {
      // Strings first: the commonest value in the bodies this reads.
      i = scanString(p, i, n);
      if (i < 0) return ns;
    } else if (c == 0x7b /* { */ || c == 0x5b /* [ */) {
      if (depth >= maxDepth) {
        failDepth(maxDepth);
        return ns;
      }
      const kind = c == 0x7b ? OBJECT : ARRAY;
      store<u8>(sp + <usize>depth, kind);
      depth++;
      i = ws(p, i + 1, n);
      const close: u8 = kind == OBJECT ? 0x7d : 0x5d;
      if (i < n && at(p, i) == close) {
        i++;
        depth--;
      } else {
        opened = true;
        if (kind == OBJECT) {
          const ks = i;
          i = key(p, i, n);
          if (i < 0) return ns;
          if (rec && depth == 1) ns = recordKey(ns, ks, i);
        }
      }
    } else if (c == 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      i = number(p, i, n);
      if (i < 0) return ns;
    } else if (c == 0x74) {
      i = literal(p, i, n, 0x65757274, 4); // "true"
      if (i < 0) return ns;
    } else if (c == 0x66) {
      i = literal(p, i, n, 0x736c6166, 5); // "fals" + "e"
      if (i < 0) return ns;
    } else if (c == 0x6e) {
      i = literal(p, i, n, 0x6c6c756e, 4); // "null"
      if (i < 0) return ns;
    } else {
      unexpected(p, i, n);
      return ns;
    }
    if (opened) continue;
    // After a value: close containers, or find the separator before the next value.
    while (true) {
      // A value of the top-level object just ended here (a scalar, or a container closed back to depth 1).
      if (rec && depth == 1 && (ns & 3) == 3) {
        store<i32>(marksAt + (<usize>ns << 2), i);
        ns++;
      }
      i = ws(p, i, n);
      if (depth == 0) {
        if (i < n) unexpected(p, i, n);
        return ns;
      }
      if (i >= n) {
        fail("unexpected end of input");
        return ns;
      }
      const kind = load<u8>(sp + <usize>(depth - 1));
      const d = at(p, i);
      if (d == 0x2c /* , */) {
        i = ws(p, i + 1, n);
        if (kind == OBJECT) {
          const ks = i;
          i = key(p, i, n);
          if (i < 0) return ns;
          if (rec && depth == 1) ns = recordKey(ns, ks, i);
        }
        break;
      }
      if ((kind == OBJECT && d == 0x7d) || (kind == ARRAY && d == 0x5d)) {
        i++;
        depth--;
        continue;
      }
      unexpected(p, i, n);
      return ns;
    }
  }
}

// The top-level member offsets of the current run, four per member, kept across runs (grown,
// never shrunk) and copied to the caller's array once at the end.
let marks = new StaticArray<i32>(64);
// Its address and capacity (in offsets), so run touches no managed reference.
let marksAt: usize = changetype<usize>(marks);
let marksCap: i32 = 64;

/**
 * Records a top-level key literal starting at ks (its end is where key() left keyEndAt) and
 * the start of its value vs at marks[ns]; returns ns + 3. Room is made for the value's end
 * too, stored when the value closes.
 */
@inline function recordKey(ns: i32, ks: i32, vs: i32): i32 {
  if (ns + 4 > marksCap) growMarks(ns);
  const m = marksAt + (<usize>ns << 2);
  store<i32>(m, ks);
  store<i32>(m, keyEndAt, 4);
  store<i32>(m, vs, 8);
  return ns + 3;
}

function growMarks(ns: i32): void {
  const next = new StaticArray<i32>(marksCap << 1);
  memory.copy(changetype<usize>(next), marksAt, <usize>ns << 2);
  marks = next;
  marksAt = changetype<usize>(next);
  marksCap <<= 1;
}

/** Offset just past the closing quote of the last key() (for recordKey). */
let keyEndAt: i32 = 0;

/** An object key and its colon at p[i]; returns the offset of the value, or -1. */
@inline function key(p: usize, i: i32, n: i32): i32 {
  if (i >= n) return unexpected(p, i, n);
  if (at(p, i) != 0x22) return failKey(p, i);
  i = scanString(p, i, n);
  if (i < 0) return -1;
  keyEndAt = i;
  i = ws(p, i, n);
  if (i >= n || at(p, i) != 0x3a /* : */) return unexpected(p, i, n);
  return ws(p, i + 1, n);
}

/**
 * true/false/null at p[i]: `word` holds the first four letters little-endian, `len` the
 * literal's length ("false" checks its fifth letter separately).
 */
function literal(p: usize, i: i32, n: i32, word: u32, len: i32): i32 {
  if (i + len > n) return fail("unexpected end of input");
  for (let k = 0; k < 4; k++) {
    if (<u32>at(p, i + k) != ((word >> (<u32>k << 3)) & 0xff)) return unexpected(p, i + k, n);
  }
  if (len == 5 && at(p, i + 4) != 0x65) return unexpected(p, i + 4, n);
  return i + len;
}

@inline function digits(p: usize, i: i32, n: i32): i32 {
  while (i < n) {
    const c = at(p, i);
    if (c < 0x30 || c > 0x39) break;
    i++;
  }
  return i;
}

function number(p: usize, i: i32, n: i32): i32 {
  const start = i;
  if (at(p, i) == 0x2d) i++;
  if (i >= n) return failAt("invalid number", start);
  const first = at(p, i);
  if (first == 0x30) i++;
  else if (first >= 0x31 && first <= 0x39) i = digits(p, i, n);
  else return failAt("invalid number", start);
  if (i < n && at(p, i) == 0x2e /* . */) {
    const f = digits(p, i + 1, n);
    if (f == i + 1) return failAt("invalid number", start);
    i = f;
  }
  if (i < n && (at(p, i) | 0x20) == 0x65 /* e/E */) {
    i++;
    if (i < n && (at(p, i) == 0x2b || at(p, i) == 0x2d)) i++;
    const e = digits(p, i, n);
    if (e == i) return failAt("invalid number", start);
    i = e;
  }
  return i;
}

@inline function cont(p: usize, k: i32, n: i32, lo: u8, hi: u8): bool {
  if (k >= n) return false;
  const b = at(p, k);
  return b >= lo && b <= hi;
}

/** 1 at each byte that may follow a backslash on its own: " \\ / b f n r t. */
// @ts-ignore: decorator
@lazy const SIMPLE_ESCAPES: usize = simpleEscapes();
function simpleEscapes(): usize {
  const t = memory.data(256);
  memory.fill(t, 0, 256);
  const chars = [0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74];
  for (let k = 0; k < chars.length; k++) store<u8>(t + <usize>unchecked(chars[k]), 1);
  return t;
}

// SWAR: a lane per byte.
const ONES: u64 = 0x0101010101010101;
const HIGHS: u64 = 0x8080808080808080;

/**
 * Non-zero when one of the 8 bytes needs a closer look: `"`, `\`, a control byte or non-ASCII.
 * The lowest flagged lane is exact (a borrow only flags lanes above a real one).
 */
// @ts-ignore: decorator
@inline export function special8(x: u64): u64 {
  const q = x ^ (ONES * 0x22);
  const s = x ^ (ONES * 0x5c);
  // (v - 1) & ~v has the high bit set in lanes that were zero; x - 0x20 borrows in lanes below 0x20.
  return (((q - ONES) & ~q) | ((s - ONES) & ~s) | (x - ONES * 0x20) | x) & HIGHS;
}

/**
 * A string from its opening quote at p[i]; returns the offset after the closing quote, or -1.
 * Inlined where strings are read: most strings (keys, short values) end at the first byte
 * that needs a look, so they cost no call; anything else continues in stringRest.
 */
@inline function scanString(p: usize, i: i32, n: i32): i32 {
  i++;
  while (i + 8 <= n) {
    const m = special8(load<u64>(p + <usize>i));
    if (m != 0) {
      i += <i32>(ctz(m) >> 3);
      if (at(p, i) == 0x22) return i + 1;
      break;
    }
    i += 8;
  }
  return stringRest(p, i, n);
}

/** The rest of a string from p[i] (inside it, after its opening quote). */
function stringRest(p: usize, i: i32, n: i32): i32 {
  while (true) {
    // Plain ASCII runs, eight bytes at a time; then straight to the first byte that needs a
    // look (the lowest flagged lane is exact: a borrow only flags lanes above a real one).
    while (i + 8 <= n) {
      const m = special8(load<u64>(p + <usize>i));
      if (m != 0) {
        i += <i32>(ctz(m) >> 3);
        break;
      }
      i += 8;
    }
    if (i >= n) return fail("unexpected end of input in a string");
    const b = at(p, i);
    if (b == 0x22) return i + 1;
    if (b == 0x5c /* \ */) {
      if (i + 1 >= n) return fail("unexpected end of input in a string");
      const e = at(p, i + 1);
      if (e == 0x75 /* u */) {
        for (let k = 2; k < 6; k++) {
          if (i + k >= n || !isHex(at(p, i + k))) return failAt("invalid escape", i);
        }
        i += 6;
      } else if (load<u8>(SIMPLE_ESCAPES + <usize>e) != 0) {
        i += 2;
      } else {
        return failAt("invalid escape", i);
      }
      continue;
    }
    if (b < 0x20) return failAt("unescaped control character", i);
    if (b < 0x80) {
      i++;
      continue;
    }
    // Non-ASCII text runs: the common 3-byte (most scripts) and 2-byte sequences with their
    // continuation bytes checked in one masked load, one after another without going back
    // to the word loop; anything else (and any doubt) takes the full table below.
    let j = i;
    while (true) {
      const c = at(p, j);
      if (c >= 0xe1 && c <= 0xef && c != 0xed && j + 2 < n && (load<u16>(p + <usize>(j + 1)) & 0xc0c0) == 0x8080) j += 3;
      else if (c >= 0xc2 && c <= 0xdf && j + 1 < n && (at(p, j + 1) & 0xc0) == 0x80) j += 2;
      else break;
      if (j >= n) break;
    }
    if (j > i) {
      i = j;
      continue;
    }
    // UTF-8 (RFC 3629 table 3-7): no overlongs, no surrogates, nothing above U+10FFFF.
    let ok = false;
    let len = 0;
    if (b >= 0xc2 && b <= 0xdf) {
      ok = cont(p, i + 1, n, 0x80, 0xbf);
      len = 2;
    } else if (b == 0xe0) {
      ok = cont(p, i + 1, n, 0xa0, 0xbf) && cont(p, i + 2, n, 0x80, 0xbf);
      len = 3;
    } else if ((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef) {
      ok = cont(p, i + 1, n, 0x80, 0xbf) && cont(p, i + 2, n, 0x80, 0xbf);
      len = 3;
    } else if (b == 0xed) {
      ok = cont(p, i + 1, n, 0x80, 0x9f) && cont(p, i + 2, n, 0x80, 0xbf);
      len = 3;
    } else if (b == 0xf0) {
      ok = cont(p, i + 1, n, 0x90, 0xbf) && cont(p, i + 2, n, 0x80, 0xbf) && cont(p, i + 3, n, 0x80, 0xbf);
      len = 4;
    } else if (b >= 0xf1 && b <= 0xf3) {
      ok = cont(p, i + 1, n, 0x80, 0xbf) && cont(p, i + 2, n, 0x80, 0xbf) && cont(p, i + 3, n, 0x80, 0xbf);
      len = 4;
    } else if (b == 0xf4) {
      ok = cont(p, i + 1, n, 0x80, 0x8f) && cont(p, i + 2, n, 0x80, 0xbf) && cont(p, i + 3, n, 0x80, 0xbf);
      len = 4;
    }
    if (!ok) return failAt("invalid UTF-8", i);
    i += len;
  }
  return -1;
}

function isHex(c: u8): bool {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

/**
 * For readers that walk a document's structure themselves in one pass (lib/llm/route's
 * request scan): the scalar (string, number, true, false, null) starting at p[i], checked
 * exactly as validateJson checks it. Returns the offset just past it, or -1; the reason is
 * dropped (such a reader falls back to validateJson for the message).
 */
// @ts-ignore: decorator
@inline export function scanJsonScalarAt(p: usize, i: i32, n: i32): i32 {
  if (i >= n) return -1;
  const c = at(p, i);
  let e: i32 = -1;
  if (c == 0x22) e = scanString(p, i, n);
  else if (c == 0x2d || (c >= 0x30 && c <= 0x39)) e = number(p, i, n);
  else if (c == 0x74) e = literal(p, i, n, 0x65757274, 4);
  else if (c == 0x66) e = literal(p, i, n, 0x736c6166, 5);
  else if (c == 0x6e) e = literal(p, i, n, 0x6c6c756e, 4);
  vErr = null;
  return e;
}
