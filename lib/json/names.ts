// Member names that make a request body mean different things to different readers.
//
// The filters read member names by their raw bytes (json-as and lib/json/raw do not decode
// escapes) and take the last of duplicate members; a provider's parser decodes escapes and
// keeps whichever duplicate its library keeps. So `"cont\u0065nt"` after `"content"`, or a
// second `"role"`, lets a body say one thing to the guard and another to the model. A body
// that leaves the gateway therefore has, in every object:
// - no duplicate member (names compared after decoding), as Envoy 1.40's ai_protocol_manager
//   refuses duplicate keys;
// - no escape in a member name that stands for a character written plainly just as well:
//   an escape is accepted only where an encoder writes one (`\"`, `\\`, control characters,
//   non-ASCII characters as Python's `ensure_ascii` does, `\/` as PHP does, `\u003c` `\u003e`
//   `\u0026` as Go does). Any other (`\u0065` for `e`) can only disguise a name.
// The check walks a document validateJson accepted, once, without recursion.

import { skipStringAt, skipSpaceAt } from "./raw";

const OBJ: i32 = 1;
const ARR: i32 = 0;
/** Ints per open container in ambiguousMember's stack. */
const FRAME: i32 = 5;
/** Ints per member name in ambiguousMember's key list: start, end, 1 if it holds a backslash. */
const KEY: i32 = 3;

// Scratch kept across calls (a VM runs one callback at a time): a walk allocates nothing
// unless a document nests or names more than these hold.
let stackScratch = new StaticArray<i32>(FRAME * 16);
let keyScratch = new StaticArray<i32>(KEY * 64);

function grown(a: StaticArray<i32>, need: i32): StaticArray<i32> {
  let size = a.length;
  while (size < need) size *= 2;
  const b = new StaticArray<i32>(size);
  memory.copy(changetype<usize>(b), changetype<usize>(a), <usize>a.length << 2);
  return b;
}

@inline function at(p: usize, i: i32): u8 {
  return load<u8>(p + <usize>i);
}

function hexVal(c: u8): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** The escape at p[i] (a backslash) stands for a character an encoder would write plainly. */
function needlessEscape(p: usize, i: i32, end: i32): bool {
  const e = i + 1 < end ? at(p, i + 1) : 0;
  if (e == 0x22 || e == 0x5c || e == 0x2f) return false; // `"`, `\`, PHP's `\/`
  if (e != 0x75) return e != 0x62 && e != 0x66 && e != 0x6e && e != 0x72 && e != 0x74; // \b \f \n \r \t are control characters
  let v = 0;
  for (let k = 2; k < 6; k++) v = (v << 4) | max(0, hexVal(i + k < end ? at(p, i + k) : 0));
  if (v < 0x20 || v >= 0x7f) return false; // control or non-ASCII
  return v != 0x22 && v != 0x5c && v != 0x2f && v != 0x3c && v != 0x3e && v != 0x26;
}

/** Decodes the raw key p[s, e) (between its quotes): escapes resolved, as a provider reads it. */
function decodeKey(p: usize, s: i32, e: i32): string {
  let out = "";
  let run = s;
  let i = s;
  while (i < e) {
    if (at(p, i) != 0x5c) {
      i++;
      continue;
    }
    if (i > run) out += String.UTF8.decodeUnsafe(p + <usize>run, <usize>(i - run));
    const c = i + 1 < e ? at(p, i + 1) : 0;
    if (c == 0x75) {
      let v = 0;
      for (let k = 2; k < 6; k++) v = (v << 4) | max(0, hexVal(i + k < e ? at(p, i + k) : 0));
      out += String.fromCharCode(v);
      i += 6;
    } else {
      if (c == 0x6e) out += "\n";
      else if (c == 0x74) out += "\t";
      else if (c == 0x72) out += "\r";
      else if (c == 0x62) out += "\b";
      else if (c == 0x66) out += "\f";
      else out += String.fromCharCode(c);
      i += 2;
    }
    run = i;
  }
  if (e > run) out += String.UTF8.decodeUnsafe(p + <usize>run, <usize>(e - run));
  return out;
}

/** The raw keys p[s1, e1) and p[s2, e2) name the same member; `esc`: either holds a backslash. */
function sameName(p: usize, s1: i32, e1: i32, s2: i32, e2: i32, esc: bool): bool {
  if (!esc) {
    if (e1 - s1 != e2 - s2) return false;
    return memory.compare(p + <usize>s1, p + <usize>s2, <usize>(e1 - s1)) == 0;
  }
  return decodeKey(p, s1, e1) == decodeKey(p, s2, e2);
}

/** A name for messages: the decoded key, shortened. */
function shown(p: usize, s: i32, e: i32): string {
  const k = decodeKey(p, s, e);
  return k.length > 64 ? k.substring(0, 64) + "…" : k;
}

/**
 * Why the validated JSON document `b` is ambiguous (a duplicate member or a disguised member
 * name, with the path of the object that holds it, e.g. "duplicate member 'role' in
 * messages[1]"), or null when every object is plain.
 */
export function ambiguousMember(b: Uint8Array): string | null {
  const p = b.dataStart;
  const n = b.length;
  // Per open container, FRAME ints: its kind, the array index, the current key's span (for the
  // path), and where its keys begin in `keys`. Grown when a document nests deeper.
  let stack = stackScratch;
  let d = -1;
  // Keys of the open objects (KEY ints each), keyScratch[0, kn).
  let keys = keyScratch;
  let kn = 0;
  let i = skipSpaceAt(p, 0, n);
  while (i < n) {
    const c = at(p, i);
    if (c == 0x7b || c == 0x5b) {
      d++;
      if ((d + 1) * FRAME > stack.length) stackScratch = stack = grown(stack, (d + 1) * FRAME);
      const f = d * FRAME;
      unchecked((stack[f] = c == 0x7b ? OBJ : ARR));
      unchecked((stack[f + 1] = 0));
      unchecked((stack[f + 2] = 0));
      unchecked((stack[f + 3] = 0));
      unchecked((stack[f + 4] = kn));
      i = skipSpaceAt(p, i + 1, n);
      continue;
    }
    if (c == 0x7d || c == 0x5d) {
      if (d < 0) break;
      const base = unchecked(stack[d * FRAME + 4]);
      if (c == 0x7d) {
        const err = duplicateIn(p, keys, base, kn);
        if (err != null) return "duplicate member '" + err + "' in " + pathOf(p, stack, d);
      }
      kn = base;
      d--;
      i = skipSpaceAt(p, i + 1, n);
      continue;
    }
    if (c == 0x2c) {
      if (d >= 0 && unchecked(stack[d * FRAME]) == ARR) unchecked((stack[d * FRAME + 1] += 1));
      i = skipSpaceAt(p, i + 1, n);
      continue;
    }
    if (c == 0x22) {
      const e = skipStringAt(p, i, n);
      if (e < 0) break;
      const j = skipSpaceAt(p, e, n);
      if (d >= 0 && unchecked(stack[d * FRAME]) == OBJ && j < n && at(p, j) == 0x3a) {
        // A member name.
        const s = i + 1;
        const ke = e - 1;
        let esc = 0;
        for (let k = s; k < ke; k++) {
          if (at(p, k) != 0x5c) continue;
          esc = 1;
          if (needlessEscape(p, k, ke)) {
            return "member name '" + String.UTF8.decodeUnsafe(p + <usize>s, <usize>(ke - s)) + "' in " + pathOf(p, stack, d) + " is written with a needless escape; send it as '" + shown(p, s, ke) + "'";
          }
          k++;
        }
        if (kn + KEY > keys.length) keyScratch = keys = grown(keys, kn + KEY);
        unchecked((keys[kn] = s));
        unchecked((keys[kn + 1] = ke));
        unchecked((keys[kn + 2] = esc));
        kn += KEY;
        unchecked((stack[d * FRAME + 2] = s));
        unchecked((stack[d * FRAME + 3] = ke));
        i = skipSpaceAt(p, j + 1, n);
        continue;
      }
      i = skipSpaceAt(p, e, n);
      continue;
    }
    // Numbers and literals.
    while (i < n) {
      const x = at(p, i);
      if (x == 0x2c || x == 0x7d || x == 0x5d || x == 0x20 || x == 0x09 || x == 0x0a || x == 0x0d) break;
      i++;
    }
    i = skipSpaceAt(p, i, n);
  }
  return null;
}

/** The name of a duplicate among the keys in keys[from, to) (KEY ints each), or null. */
function duplicateIn(p: usize, keys: StaticArray<i32>, from: i32, to: i32): string | null {
  const count = (to - from) / KEY;
  if (count < 2) return null;
  if (count <= 16) {
    for (let a = from; a < to; a += KEY) {
      const s1 = unchecked(keys[a]);
      const e1 = unchecked(keys[a + 1]);
      const esc1 = unchecked(keys[a + 2]);
      for (let c = a + KEY; c < to; c += KEY) {
        if (sameName(p, s1, e1, unchecked(keys[c]), unchecked(keys[c + 1]), (esc1 | unchecked(keys[c + 2])) != 0)) return shown(p, s1, e1);
      }
    }
    return null;
  }
  const seen = new Set<string>();
  for (let a = from; a < to; a += KEY) {
    const k = decodeKey(p, unchecked(keys[a]), unchecked(keys[a + 1]));
    if (seen.has(k)) return k.length > 64 ? k.substring(0, 64) + "…" : k;
    seen.add(k);
  }
  return null;
}

/** The path of the container at stack index `depth` ("the request body", "messages[1]", "messages[0].content[2]"). */
function pathOf(p: usize, stack: StaticArray<i32>, depth: i32): string {
  let s = "";
  for (let d = 0; d < depth; d++) {
    const f = d * FRAME;
    if (stack[f] == ARR) s += "[" + stack[f + 1].toString() + "]";
    else {
      if (s.length > 0) s += ".";
      s += shown(p, stack[f + 2], stack[f + 3]);
    }
  }
  return s.length > 0 ? s : "the request body";
}
