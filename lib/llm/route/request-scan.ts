// The fast path of validateRequest (request.ts): one walk over the client body that does what
// three walks did (validateJsonMembers, ambiguousMember, then each message's members):
// - checks the JSON exactly as validateJson does (strings, numbers and literals through
//   lib/json/validate's scanJsonScalarAt, the structure here);
// - records the top-level member spans as validateJsonMembers does;
// - checks every object's member names for duplicates;
// - collects role/content/tool_call_id of each `messages[i]` and type/text of each content part,
//   and judges them as the slow path does (request.ts judgeMessage, judgePart).
// It only ever says "plain and fine" or "not sure": anything else (invalid JSON, an escape in a
// member name, a duplicate, an object with many members, a bad message, deep nesting) makes it
// answer false, and validateRequest takes the slow path, which finds the exact error. So this
// walk must never accept what the slow path refuses; it may refuse what the slow path accepts.

import { scanJsonScalarAt, special8 } from "../../json/validate";
import { bytesAre, skipSpaceAt, word8, wordAt } from "../../json/raw";

// Container kinds.
const ARR: i32 = 0;
const OBJ: i32 = 1;

// What a container is, for the message checks.
const T_OTHER: i32 = 0;
const T_TOP: i32 = 1; // the body object
const T_MSGS: i32 = 2; // the body's `messages` array
const T_MSG: i32 = 3; // an element of it
const T_PARTS: i32 = 4; // a message's `content` array
const T_PART: i32 = 5; // an element of it

// The member an object is reading (slot index; 0 = none of interest).
const K_NONE: i32 = 0;
const K_MESSAGES: i32 = 1; // in T_TOP
const K_ROLE: i32 = 1; // in T_MSG
const K_CONTENT: i32 = 2;
const K_TOOL_CALL_ID: i32 = 3;
const K_TYPE: i32 = 1; // in T_PART
const K_TEXT: i32 = 2;

// A frame per open container: kind, tag, where its member names begin in `keys`, the member
// being read (kept while a nested container is open), its own opening offset, an element count, then three value spans.
const F_KIND = 0;
const F_TAG = 1;
const F_KEYS = 2;
const F_KEY = 3;
const F_OPEN = 4;
const F_COUNT = 5;
const F_SLOTS = 6; // slot k (1..3): start at F_SLOTS + 2(k-1), end after it
const FRAME = 12;

/** Objects with more members than this go to the slow path (its duplicate check hashes). */
const MAX_PLAIN_MEMBERS = 16;

/** The deepest nesting the fast path walks (deeper bodies take the slow path). */
const MAX_FRAMES = 64;

// Scratch reused by every request (a VM runs one callback at a time).
const frames = new StaticArray<i32>(FRAME * MAX_FRAMES);
let keys = new StaticArray<i32>(64);

/** Judges each message and content part as the walk closes it (request.ts has the rules). */
export abstract class MessageJudge {
  /** Whether a message with these member spans (-1: absent) is acceptable, its content parts aside. */
  abstract message(b: Uint8Array, role: i64, content: i64, toolCallId: i64): bool;
  /** Whether a content part with these member spans is acceptable. */
  abstract part(b: Uint8Array, type: i64, text: i64): bool;
  /**
   * Set by a judge that also wants each message's extent (the guard, which reads the messages
   * from what this walk found instead of walking them again): `extent` is then called before
   * `message`. A flag, not a default method, so judges without it pay no call per message.
   */
  wantsExtent: bool = false;
  /** The message object b[open, close] (`close` is its `}`) with `members` member names. */
  extent(open: i32, close: i32, members: i32): void {}
}

/** What the walk found besides the spans. */
export class ScanResult {
  /** `messages` was an array of at least one message, each judged acceptable. */
  messagesChecked: bool = false;
}

@inline function at(p: usize, i: i32): u32 {
  return <u32>load<u8>(p + <usize>i);
}

@inline function fr(d: i32, f: i32): i32 {
  return unchecked(frames[d * FRAME + f]);
}

@inline function setFr(d: i32, f: i32, v: i32): void {
  unchecked((frames[d * FRAME + f] = v));
}

@inline function slotSpan(d: i32, k: i32): i64 {
  const s = fr(d, F_SLOTS + 2 * (k - 1));
  return s < 0 ? -1 : (<i64>s << 32) | <i64>(<u32>fr(d, F_SLOTS + 2 * (k - 1) + 1));
}

const W_MESSAGES = word8("messages");
const W_ROLE = word8("role");
const W_CONTENT = word8("content");
const W_TYPE = word8("type");
const W_TEXT = word8("text");

/** The slot a member name p[s, e) fills in a container tagged `tag` (end: where readable bytes end). */
function keyId(p: usize, s: i32, e: i32, tag: i32, end: i32): i32 {
  const n = e - s;
  if (n > 8) return tag == T_MSG && n == 12 && bytesAre(p, s, n, "tool_call_id") ? K_TOOL_CALL_ID : K_NONE;
  const w = wordAt(p, s, n, end);
  if (tag == T_TOP) return n == 8 && w == W_MESSAGES ? K_MESSAGES : K_NONE;
  if (tag == T_MSG) {
    if (n == 4 && w == W_ROLE) return K_ROLE;
    if (n == 7 && w == W_CONTENT) return K_CONTENT;
    return K_NONE;
  }
  if (tag == T_PART && n == 4) {
    if (w == W_TYPE) return K_TYPE;
    if (w == W_TEXT) return K_TEXT;
  }
  return K_NONE;
}

/** Some byte of p[s, e) is a backslash (eight at a time while eight are readable before `end`). */
function hasBackslash(p: usize, s: i32, e: i32, end: i32): bool {
  let k = s;
  while (k < e && k + 8 <= end) {
    let x = load<u64>(p + <usize>k) ^ (ONES * 0x5c);
    const left = e - k;
    // A zero lane is a backslash; lanes past e are forced non-zero.
    if (left < 8) x |= ~((<u64>1 << (<u64>left << 3)) - 1);
    if (((x - ONES) & ~x & HIGHS) != 0) return true;
    k += 8;
  }
  for (; k < e; k++) if (at(p, k) == 0x5c) return true;
  return false;
}

/**
 * The offset after the member name whose opening quote is p[i] when the first byte after it
 * that is a quote, a backslash, a control byte or non-ASCII (lib/json/validate's string test)
 * is its closing quote, eight bytes at a time while eight are readable; else -1 (the caller
 * takes the general path, which gives the same end for such a name).
 */
function plainNameEnd(p: usize, i: i32, n: i32): i32 {
  let k = i + 1;
  while (k + 8 <= n) {
    const m = special8(load<u64>(p + <usize>k));
    if (m != 0) {
      const j = k + <i32>(ctz(m) >> 3);
      return at(p, j) == 0x22 ? j + 1 : -1;
    }
    k += 8;
  }
  return -1;
}

// SWAR: a lane per byte.
const ONES: u64 = 0x0101010101010101;
const HIGHS: u64 = 0x8080808080808080;

/**
 * The member name whose literal is p[ks, ke) (quotes included) added to the object of frame d
 * (tagged `tag`), which holds names keys[base, nk). Returns the new nk (and sets lastKey to the
 * slot the member fills), or -1 when the name has an escape, is a duplicate, or the object has
 * too many members.
 */
function addKey(p: usize, d: i32, tag: i32, ks: i32, ke: i32, nk: i32, end: i32, plain: bool): i32 {
  const s = ks + 1;
  const e = ke - 1;
  if (!plain && hasBackslash(p, s, e, end)) return -1;
  const base = fr(d, F_KEYS);
  if (((nk - base) >> 1) >= MAX_PLAIN_MEMBERS) return -1;
  const len = e - s;
  for (let j = base; j < nk; j += 2) {
    const os = unchecked(keys[j]);
    if (unchecked(keys[j + 1]) - os == len && memory.compare(p + <usize>os, p + <usize>s, <usize>len) == 0) return -1;
  }
  if (nk + 2 > keys.length) {
    const grown = new StaticArray<i32>(keys.length * 2);
    memory.copy(changetype<usize>(grown), changetype<usize>(keys), <usize>nk << 2);
    keys = grown;
  }
  unchecked((keys[nk] = s));
  unchecked((keys[nk + 1] = e));
  lastKey = tag == T_OTHER ? K_NONE : keyId(p, s, e, tag, end);
  return nk + 2;
}

/** The value b[s, e) of member `key` (0: none of interest) of the object of frame d ended: fill its slot. */
@inline function fillSlot(d: i32, key: i32, s: i32, e: i32): void {
  if (key != K_NONE) {
    setFr(d, F_SLOTS + 2 * (key - 1), s);
    setFr(d, F_SLOTS + 2 * (key - 1) + 1, e);
  }
}

/**
 * Walks `b` as described above. True when the body is valid JSON, an object, has plain member
 * names and (when present as an array) acceptable messages; `spans` then holds the top-level
 * members as validateJsonMembers records them. False: take the slow path.
 */
export function scanRequest(b: Uint8Array, maxDepth: i32, spans: Array<i32>, judge: MessageJudge, out: ScanResult): bool {
  spans.length = 0;
  out.messagesChecked = false;
  const p = b.dataStart;
  const n = b.length;
  const depthLimit = min(maxDepth, MAX_FRAMES);
  let i = skipSpaceAt(p, 0, n);
  if (i >= n || at(p, i) != 0x7b) return false;
  let d = -1;
  let nk = 0;
  // The innermost open container's kind, tag and current member, kept in locals (its frame
  // holds them only while a nested container is open).
  let kind = OBJ;
  let tag = T_OTHER;
  let key = K_NONE;
  while (true) {
    // A value starts at i.
    if (i >= n) return false;
    const c = at(p, i);
    let end: i32;
    if (c == 0x7b || c == 0x5b) {
      if (d + 1 >= depthLimit) return false;
      let childTag = T_OTHER;
      if (d < 0) childTag = T_TOP;
      else {
        if (tag == T_MSGS || tag == T_PARTS) {
          if (c != 0x7b) return false; // a message or part that is not an object
          childTag = tag == T_MSGS ? T_MSG : T_PART;
          setFr(d, F_COUNT, fr(d, F_COUNT) + 1);
        } else if (c == 0x5b) {
          if (tag == T_TOP && key == K_MESSAGES) childTag = T_MSGS;
          else if (tag == T_MSG && key == K_CONTENT) childTag = T_PARTS;
        }
        setFr(d, F_KEY, key);
      }
      d++;
      kind = c == 0x7b ? OBJ : ARR;
      tag = childTag;
      key = K_NONE;
      setFr(d, F_KIND, kind);
      setFr(d, F_TAG, tag);
      setFr(d, F_KEYS, nk);
      setFr(d, F_OPEN, i);
      setFr(d, F_COUNT, 0);
      if (tag == T_MSG || tag == T_PART) for (let k = F_SLOTS; k < FRAME; k += 2) setFr(d, k, -1);
      i = skipSpaceAt(p, i + 1, n);
      if (i >= n) return false;
      if (at(p, i) != (kind == OBJ ? 0x7d : 0x5d)) {
        if (kind == OBJ) {
          i = memberName(p, i, n, d, tag, nk, spans);
          if (i < 0) return false;
          nk = lastNk;
          key = lastKey;
        }
        continue;
      }
      // An empty container: closed below.
      end = i;
    } else {
      // A scalar: a message or a part must be an object.
      if (tag == T_MSGS || tag == T_PARTS) return false;
      end = scanJsonScalarAt(p, i, n);
      if (end < 0) return false;
      if (kind == OBJ) fillSlot(d, key, i, end);
      if (d == 0) spans.push(end);
    }
    // After a value (or at an empty container's close): close containers, or pass a separator.
    i = end;
    while (true) {
      i = skipSpaceAt(p, i, n);
      if (d < 0) return i == n;
      if (i >= n) return false;
      const x = at(p, i);
      if (x == 0x2c) {
        i = skipSpaceAt(p, i + 1, n);
        if (kind == OBJ) {
          i = memberName(p, i, n, d, tag, nk, spans);
          if (i < 0) return false;
          nk = lastNk;
          key = lastKey;
        }
        break;
      }
      if (x != (kind == OBJ ? 0x7d : 0x5d)) return false;
      // Frame d closes at i.
      if (tag == T_MSG) {
        if (judge.wantsExtent) judge.extent(fr(d, F_OPEN), i, (nk - fr(d, F_KEYS)) >> 1);
        if (!judge.message(b, slotSpan(d, K_ROLE), slotSpan(d, K_CONTENT), slotSpan(d, K_TOOL_CALL_ID))) return false;
      } else if (tag == T_PART) {
        if (!judge.part(b, slotSpan(d, K_TYPE), slotSpan(d, K_TEXT))) return false;
      } else if (tag == T_MSGS) {
        if (fr(d, F_COUNT) == 0) return false; // no message: the slow path says so
        out.messagesChecked = true;
      }
      const open = fr(d, F_OPEN);
      nk = fr(d, F_KEYS);
      i++;
      d--;
      if (d >= 0) {
        kind = fr(d, F_KIND);
        tag = fr(d, F_TAG);
        key = fr(d, F_KEY);
        if (kind == OBJ) fillSlot(d, key, open, i);
      }
      if (d == 0) spans.push(i);
    }
  }
  return false;
}

/** nk and the member's slot after the last memberName. */
let lastNk: i32 = 0;
let lastKey: i32 = K_NONE;

/**
 * The member name at p[i] of the object of frame d, then its colon: returns the offset of the
 * value (and sets lastNk, lastKey), or -1. Top-level names are recorded in `spans`.
 */
function memberName(p: usize, i: i32, n: i32, d: i32, tag: i32, nk: i32, spans: Array<i32>): i32 {
  if (i >= n || at(p, i) != 0x22) return -1;
  // A name of printable ASCII without escapes (nearly all) ends at the first byte that needs a
  // look; anything else goes through the validator's string scan and the backslash check.
  const plain = plainNameEnd(p, i, n);
  const ke = plain >= 0 ? plain : scanJsonScalarAt(p, i, n);
  if (ke < 0) return -1;
  const k = addKey(p, d, tag, i, ke, nk, n, plain >= 0);
  if (k < 0) return -1;
  lastNk = k;
  let j = skipSpaceAt(p, ke, n);
  if (j >= n || at(p, j) != 0x3a) return -1;
  j = skipSpaceAt(p, j + 1, n);
  if (d == 0) {
    spans.push(i);
    spans.push(ke);
    spans.push(j);
  }
  return j;
}
