// Byte-level view of a validated JSON object's top-level members, so a body can be
// rewritten by copying the untouched members' bytes exactly (numbers keep their digits,
// nothing is re-serialized). Input must have passed lib/json's validator; on anything
// else the scanner stops and returns null rather than trapping.

import { skipStringAt, skipValueAt } from "../json/raw";

/** One top-level member: its decoded key and the byte spans of the raw key and value. */
export class Member {
  constructor(
    public key: string,
    public keyStart: i32,
    public keyEnd: i32,
    public valueStart: i32,
    public valueEnd: i32,
  ) {}
}

/**
 * Entry `i` of an i32 array (a validator's member spans) whose data starts at `base`, read
 * directly: the caller keeps i in range (the hot loops that walk spans read four a member).
 */
@inline export function at32(base: usize, i: i32): i32 {
  return load<i32>(base + (<usize>i << 2));
}

@inline function isSpace(c: u8): bool {
  return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d;
}

function skipSpace(b: Uint8Array, i: i32, end: i32): i32 {
  while (i < end && isSpace(unchecked(b[i]))) i++;
  return i;
}

/** Index just past the string starting at b[i] == '"', or -1. */
function skipString(b: Uint8Array, i: i32, end: i32): i32 {
  if (end > b.length) end = b.length;
  if (i < 0) return -1;
  return skipStringAt(b.dataStart, i, end);
}

/** Index just past the value starting at b[i], or -1. */
export function skipValue(b: Uint8Array, i: i32, end: i32): i32 {
  if (end > b.length) end = b.length;
  return skipValueAt(b.dataStart, i, end);
}

@inline function hexVal(c: u8): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Decodes the JSON string literal b[start, end) (quotes included). Bad escapes become U+FFFD. */
export function decodeJsonString(b: Uint8Array, start: i32, end: i32): string {
  const s = start + 1;
  const e = end - 1;
  if (e < s) return "";
  let plain = true;
  for (let i = s; i < e; i++) {
    if (unchecked(b[i]) == 0x5c) {
      plain = false;
      break;
    }
  }
  if (plain) return String.UTF8.decodeUnsafe(b.dataStart + <usize>s, <usize>(e - s));
  let out = "";
  let run = s;
  let i = s;
  while (i < e) {
    if (unchecked(b[i]) != 0x5c) {
      i++;
      continue;
    }
    if (i > run) out += String.UTF8.decodeUnsafe(b.dataStart + <usize>run, <usize>(i - run));
    if (i + 1 >= e) break;
    const c = unchecked(b[i + 1]);
    i += 2;
    if (c == 0x6e) out += "\n";
    else if (c == 0x74) out += "\t";
    else if (c == 0x72) out += "\r";
    else if (c == 0x62) out += "\b";
    else if (c == 0x66) out += "\f";
    else if (c == 0x75) {
      let v: i32 = 0;
      for (let k = 0; k < 4; k++) {
        const h = i + k < e ? hexVal(unchecked(b[i + k])) : -1;
        if (h < 0) {
          v = 0xfffd;
          break;
        }
        v = (v << 4) | h;
      }
      i += 4;
      out += String.fromCharCode(v);
    } else out += String.fromCharCode(c);
    run = i;
  }
  if (e > run && run >= s) out += String.UTF8.decodeUnsafe(b.dataStart + <usize>run, <usize>(e - run));
  return out;
}

/** The top-level members of the object in b (whole buffer), or null if it is not a well-formed object. */
export function scanObject(b: Uint8Array): Member[] | null {
  const out = new Array<Member>();
  return walkObject(b, out, null) < 0 ? null : out;
}

/**
 * Walks the object in b (whole buffer) member by member: pushes each member to `out` when
 * given, and tells whether a top-level name decodes to `name` when given. Returns -1 when b is
 * not a well-formed object (scanObject's null), else 1 when `name` was found, else 0.
 */
function walkObject(b: Uint8Array, out: Member[] | null, name: string | null): i32 {
  const end = b.length;
  let i = skipSpace(b, 0, end);
  if (i >= end || unchecked(b[i]) != 0x7b) return -1;
  i = skipSpace(b, i + 1, end);
  let found = 0;
  if (i < end && unchecked(b[i]) == 0x7d) return found;
  while (i < end) {
    if (unchecked(b[i]) != 0x22) return -1;
    const ks = i;
    const ke = skipString(b, i, end);
    if (ke < 0) return -1;
    i = skipSpace(b, ke, end);
    if (i >= end || unchecked(b[i]) != 0x3a) return -1;
    i = skipSpace(b, i + 1, end);
    const vs = i;
    const ve = skipValue(b, i, end);
    if (ve < 0) return -1;
    if (out != null) out.push(new Member(decodeJsonString(b, ks, ke), ks, ke, vs, ve));
    if (name != null && found == 0 && nameIs(b, ks, ke, name)) found = 1;
    i = skipSpace(b, ve, end);
    if (i >= end) return -1;
    const c = unchecked(b[i]);
    if (c == 0x7d) return found;
    if (c != 0x2c) return -1;
    i = skipSpace(b, i + 1, end);
  }
  return -1;
}

/** Whether the JSON string literal b[ks, ke) (quotes included) decodes to `name`: on the bytes when it has no escape and `name` is ASCII. */
function nameIs(b: Uint8Array, ks: i32, ke: i32, name: string): bool {
  const s = ks + 1;
  const n = ke - 1 - s;
  const p = b.dataStart;
  let plain = n == name.length;
  for (let k = 0; plain && k < n; k++) {
    const c = <u32>name.charCodeAt(k);
    const x = <u32>load<u8>(p + <usize>(s + k));
    if (c >= 0x80 || x == 0x5c) plain = false;
    else if (x != c) return false; // equal bytes so far, no escape: a different ASCII byte decodes differently
  }
  return plain ? true : decodeJsonString(b, ks, ke) == name;
}

/** The member named `key` (the last one, as JSON parsers keep), or null. */
export function findMember(members: Member[], key: string): Member | null {
  for (let i = members.length - 1; i >= 0; i--) {
    const m = unchecked(members[i]);
    if (m.key == key) return m;
  }
  return null;
}

import { JsonWriter } from "./json-writer";

/** Opens an object in a new writer and copies the members of `src` except those named `name`. */
function copyExcept(src: Uint8Array, ms: Member[], name: string): JsonWriter {
  const w = new JsonWriter();
  w.beginObject();
  for (let i = 0; i < ms.length; i++) {
    const m = unchecked(ms[i]);
    if (m.key == name) continue;
    w.rawMember(src, m.keyStart, m.keyEnd, m.valueStart, m.valueEnd);
  }
  return w;
}

/**
 * The object in `src` with top-level member `name` set to the string `value`. With
 * `keepExisting`, a member already present is left alone. Null when src is not an object.
 */
export function withStringMember(src: Uint8Array, name: string, value: string, keepExisting: bool): Uint8Array | null {
  const ms = scanObject(src);
  if (ms == null) return null;
  if (keepExisting && findMember(ms, name) != null) return src;
  const w = copyExcept(src, ms, name);
  w.fieldString(name, value);
  w.endObject();
  return w.toBytes();
}

/** `src` (a JSON object) without its top-level members named `name` (escapes decoded); `src` itself when it has none or is not an object. */
export function withoutMember(src: Uint8Array, name: string): Uint8Array {
  // Nearly every body has no such member: one walk without member objects or key strings says so.
  if (walkObject(src, null, name) != 1) return src;
  const ms = scanObject(src);
  if (ms == null || findMember(ms, name) == null) return src;
  const w = copyExcept(src, ms, name);
  w.endObject();
  return w.toBytes();
}
