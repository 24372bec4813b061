// regex-check: a test-only module exposing lib/regex to test/regex*.test.ts and bench/regex.ts,
// which call these exports directly (no host). Patterns and inputs go into a buffer the module
// owns; compiled patterns are kept by id.

import { compileBytes, Regex, RegexSet } from "../../../lib/regex";
import { BitNfa } from "../../../lib/regex/bitnfa";

let input = new ArrayBuffer(0);
let output = new ArrayBuffer(0);
const regexes = new Array<Regex>();
let lastStart: i32 = -1;
const pendingIds = new Array<i32>();
const pendingGroups = new Array<i32>();
const sets = new Array<RegexSet>();
let lastEnd: i32 = -1;
/** Per compiled id: the reference bit-parallel NFA (chunk tables only), made on first use. */
const chunkNfas = new Map<i32, BitNfa>();

/** Makes room for `len` input bytes and returns where to write them. */
export function inputBuffer(len: i32): usize {
  input = new ArrayBuffer(len);
  return changetype<usize>(input);
}

export function outputPtr(): usize {
  return changetype<usize>(output);
}
export function outputLen(): i32 {
  return output.byteLength;
}

/** Compiles the first `len` input bytes: the new id, or -1 with the error in the output. */
export function compile(len: i32): i32 {
  const r = compileBytes(Uint8Array.wrap(input, 0, len));
  if (r.error != null) {
    output = String.UTF8.encode(r.error!);
    return -1;
  }
  regexes.push(r.regex!);
  output = new ArrayBuffer(0);
  return regexes.length - 1;
}

/** Drops every compiled pattern (ids start over at 0). */
export function reset(): void {
  regexes.length = 0;
  chunkNfas.clear();
  sets.length = 0;
  pendingIds.length = 0;
  pendingGroups.length = 0;
}

function get(id: i32): Regex | null {
  return id >= 0 && id < regexes.length ? regexes[id] : null;
}

/** Leftmost-first search over the first `len` input bytes: 1 with the offsets in matchStart/matchEnd. */
export function find(id: i32, len: i32): i32 {
  const r = get(id);
  if (r == null) return -1;
  const ok = r.findAt(changetype<usize>(input), len);
  lastStart = r.matchStart;
  lastEnd = r.matchEnd;
  return ok ? 1 : 0;
}

export function matchStart(): i32 {
  return lastStart;
}
export function matchEnd(): i32 {
  return lastEnd;
}

/** Yes/no through the lazy DFA (what the guard uses). */
export function test(id: i32, len: i32): i32 {
  const r = get(id);
  if (r == null) return -1;
  return r.testAt(changetype<usize>(input), len) ? 1 : 0;
}

/** Yes/no through the Pike VM alone. */
export function testPike(id: i32, len: i32): i32 {
  const r = get(id);
  if (r == null) return -1;
  return r.testPike(Uint8Array.wrap(input, 0, len)) ? 1 : 0;
}

export function programLength(id: i32): i32 {
  const r = get(id);
  return r == null ? -1 : r.program.length;
}

/** Regex.bound(): the DFA's state count (0 for the bit-parallel NFA), else -1; the strategy or the reason in the output. */
export function bound(id: i32): i32 {
  const r = get(id);
  if (r == null) return -1;
  const err = r.bound();
  output = String.UTF8.encode(err != null ? err! : r.strategy);
  return err == null ? r.dfaStates : -1;
}

/** Yes/no through the bit-parallel NFA alone (-1 when the program does not fit it). */
export function testBits(id: i32, len: i32): i32 {
  const r = get(id);
  if (r == null || !BitNfa.fits(r.program)) return -1;
  return r.testBits(Uint8Array.wrap(input, 0, len)) ? 1 : 0;
}

/** Yes/no through the bit-parallel NFA with chunk tables only (the previous step, kept as the reference). */
export function testBitsChunks(id: i32, len: i32): i32 {
  const r = get(id);
  if (r == null || !BitNfa.fits(r.program)) return -1;
  if (!chunkNfas.has(id)) chunkNfas.set(id, new BitNfa(r.program, true));
  return chunkNfas.get(id).test(changetype<usize>(input), len) ? 1 : 0;
}

/** The bit-parallel NFA's plan shape without assertions (left,right,groups,chunks) in the output; -1 when it does not fit. */
export function bitsPlan(id: i32): i32 {
  const r = get(id);
  if (r == null || !BitNfa.fits(r.program)) return -1;
  output = String.UTF8.encode(new BitNfa(r.program).planShape(0));
  return 0;
}

export function dfaFlushes(id: i32): i32 {
  const r = get(id);
  return r == null ? -1 : r.dfaFlushes;
}

/** The program as text, one instruction per line (for debugging failures). */
export function dump(id: i32): i32 {
  const r = get(id);
  if (r == null) return -1;
  const p = r.program;
  const names = ["BYTE", "SET", "SPLIT", "JMP", "ASSERT", "MATCH", "ENTER", "CHECK"];
  let s = "";
  for (let pc = 0; pc < p.length; pc++) {
    s += pc.toString() + " " + names[p.op[pc]] + " " + p.a[pc].toString() + " " + p.b[pc].toString() + "\n";
  }
  output = String.UTF8.encode(s);
  return p.length;
}

// --- RegexSet: many patterns in one pass ---


/** Adds compiled pattern `id` to the set being made, in `group`. */
export function setAdd(id: i32, group: i32): i32 {
  const r = get(id);
  if (r == null) return -1;
  pendingIds.push(id);
  pendingGroups.push(group);
  return 0;
}

/** Makes the set of the patterns added since the last setBuild: its id. */
export function setBuild(stopGroups: i32): i32 {
  const rs = new Array<Regex>();
  for (let i = 0; i < pendingIds.length; i++) rs.push(regexes[pendingIds[i]]);
  sets.push(new RegexSet(rs, pendingGroups.slice(0), stopGroups));
  pendingIds.length = 0;
  pendingGroups.length = 0;
  return sets.length - 1;
}

/** The groups that match in the first `len` input bytes. */
export function setSearch(id: i32, len: i32): i32 {
  return id >= 0 && id < sets.length ? sets[id].search(changetype<usize>(input), len) : -1;
}

/** Which pattern (index in the set) ended the last search with a stop group's match, or -1. */
export function setStopPattern(id: i32): i32 {
  return id >= 0 && id < sets.length ? sets[id].stopPattern : -2;
}

export function setPasses(id: i32): i32 {
  return id >= 0 && id < sets.length ? sets[id].passes : -1;
}

export function setStates(id: i32): i32 {
  return id >= 0 && id < sets.length ? sets[id].states : -1;
}
