// The text the patterns are matched against, built as Kong's guard builds it, extended so that
// every text a provider can receive as message content is read (the rule: what the model gets,
// the guard read):
// - chat (`messages` is an array): walk the messages newest to oldest, take those with role
//   "user" (every role with match_all_roles), and append each message's text followed by a
//   space; with allow_all_conversation_history only the newest one is taken, without the space.
// - completions (no `messages`): the `prompt` (a string, or an array of strings) and `suffix`.
// A message's text is its content (a string, or every content part's text, below), then every
// other string it carries (`name`, tool call names and arguments, `refusal`, …) in document
// order, joined with spaces. Of a content part every string is read (`text` of any part type,
// `input_text`, a `text` put inside an `image_url` part, the image URL itself) except its
// `type` and the identifiers and enums listed in SKIPPED; a base64 `data:` URL is decoded and
// read when its media type is text, and skipped when it is binary (an image, audio, a PDF).
// Bodies with duplicate or escaped member names are refused before this runs (lib/json/names),
// so the members read here are the members the provider decodes.
// The result is the UTF-8 bytes PCRE would see in Kong.
//
// Read straight from the body's bytes (lib/json/raw), with no tree and no strings: a string
// without a backslash is copied as it is (valid UTF-8, which is what decoding and encoding it
// again gives), one with escapes is unescaped into UTF-8 here, and only `data:` URLs go through
// a decoded string. The text is built in one buffer kept across requests.
// test/guard-extract.test.ts compares it with the json-as reading this replaced.

import { validateJsonMembers } from "../../lib/json/validate";
import { ambiguousMember } from "../../lib/json/names";
import { MessageJudge, ScanResult, scanRequest } from "../../lib/llm/route/request-scan";
import { RawArrayIter, RawObjectIter, rawStart, rawString, rawStringEquals, skipSpaceAt, skipStringAt, skipValueAt, unescapeAt } from "../../lib/json/raw";

/** Nesting limit for request bodies (deeper bodies are refused before parsing). */
export const MAX_BODY_DEPTH: i32 = 64;

export const enum PromptStatus {
  Ok = 0,
  /** Not JSON, invalid UTF-8, too deep, not an object, or ambiguous member names: the body itself is bad. */
  BadJson = 1,
  /** JSON, but not a chat or completions prompt the guard can read (Kong: "bad request"). */
  BadFormat = 2,
}

/** The outcome; on Ok the text is textLen bytes at textPtr (valid until the next extraction). */
export class Prompt {
  status: PromptStatus = PromptStatus.Ok;
  /** Why, for the 400 (BadJson) or the debug log (BadFormat). */
  reason: string = "";
  textPtr: usize = 0;
  textLen: i32 = 0;

  /** A copy of the text (for tests). */
  text(): Uint8Array {
    const out = new Uint8Array(this.textLen);
    memory.copy(out.dataStart, this.textPtr, <usize>this.textLen);
    return out;
  }
}

const RESULT = new Prompt();

function bad(status: PromptStatus, reason: string): Prompt {
  RESULT.status = status;
  RESULT.reason = reason;
  RESULT.textPtr = 0;
  RESULT.textLen = 0;
  return RESULT;
}

/** Members whose strings are identifiers or enums the provider does not show the model. */
export const SKIPPED: string[] = ["role", "type", "id", "tool_call_id", "detail", "format", "file_id"];

// --- the text being built: one buffer, grown by doubling and kept for the next request ---

let buf = new StaticArray<u8>(4096);
let len: i32 = 0;
/** Whether the next piece of the current message needs a separating space. */
let pending = false;

function reserve(n: i32): usize {
  const need = len + n;
  if (need > buf.length) {
    let cap = buf.length;
    while (cap < need && cap < 0x40000000) cap <<= 1;
    if (cap < need) cap = need;
    const grown = new StaticArray<u8>(cap);
    memory.copy(changetype<usize>(grown), changetype<usize>(buf), <usize>len);
    buf = grown;
  }
  return changetype<usize>(buf) + <usize>len;
}

/** Starts a piece: the separating space when the message already has one. */
function startPiece(): void {
  if (pending) {
    store<u8>(reserve(1), 0x20);
    len++;
  }
  pending = true;
}

function appendString(s: string): void {
  const n = String.UTF8.byteLength(s);
  String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, reserve(n));
  len += n;
}

// --- strings ---

@inline function at(p: usize, i: i32): u8 {
  return load<u8>(p + <usize>i);
}

/**
 * Appends the validated string body p[s, e) (between the quotes, with escapes) as UTF-8
 * (lib/json/raw unescapeAt says which).
 */
function appendUnescaped(p: usize, s: i32, e: i32): void {
  // At most as many bytes as the escaped form: every escape is longer than what it stands for.
  len += unescapeAt(p, s, e, reserve(e - s));
}

/** A string literal b[start, end) (quotes included) as the model gets it. */
function readStringAt(b: Uint8Array, start: i32, end: i32): void {
  const p = b.dataStart;
  const s = start + 1;
  const e = end - 1;
  const len0 = len;
  const pending0 = pending;
  startPiece();
  const from = len;
  appendUnescaped(p, s, e);
  // A decoded text longer than "data:" that starts with it (its UTF-8 does exactly then) is a
  // URL that may carry base64 text: undo, and read it through the decoded string.
  const o = changetype<usize>(buf) + <usize>from;
  if (len - from > 5 && load<u32>(o) == 0x61746164 /* "data" */ && load<u8>(o, 4) == 0x3a) {
    len = len0;
    pending = pending0;
    readDataString(rawString(b, start, end));
  }
}

/** A decoded string that starts with "data:": decoded when base64 text, skipped when binary. */
function readDataString(s: string): void {
  const comma = s.indexOf(",");
  if (comma > 0) {
    const meta = s.substring(5, comma).toLowerCase();
    if (meta.endsWith(";base64")) {
      if (!isTextMedia(meta)) return; // an image, audio, a PDF: no text to match
      startPiece();
      base64Decode(s, comma + 1);
      return;
    }
  }
  startPiece();
  appendString(s);
}

/** A media type (with parameters) whose bytes are text. */
export function isTextMedia(meta: string): bool {
  return meta.startsWith("text/") || meta.startsWith("application/json") || meta.startsWith("application/xml") || meta.indexOf("+json") >= 0 || meta.indexOf("+xml") >= 0 || meta.startsWith(";");
}

/** A base64 (or base64url) digit's value, -1 for another character. */
export function b64(c: i32): i32 {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41;
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26;
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52;
  if (c == 0x2b || c == 0x2d) return 62; // + (and base64url's -)
  if (c == 0x2f || c == 0x5f) return 63; // / (and base64url's _)
  return -1;
}

/** Lenient base64 (padding and stray characters skipped), as the bytes a provider would decode, appended. */
function base64Decode(s: string, from: i32): void {
  const o = reserve(((s.length - from) * 3) / 4 + 3);
  let n = 0;
  let acc: u32 = 0;
  let bits = 0;
  for (let i = from; i < s.length; i++) {
    const v = b64(s.charCodeAt(i));
    if (v < 0) continue;
    acc = (acc << 6) | <u32>v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      store<u8>(o + <usize>n, <u8>(acc >> bits));
      n++;
    }
  }
  len += n;
}

// --- values ---

function isSkipped(it: RawObjectIter): bool {
  for (let k = 0; k < SKIPPED.length; k++) if (it.keyIs(unchecked(SKIPPED[k]))) return true;
  return false;
}

/** Every string in the value b[start, end) (document order), skipping the members in SKIPPED. */
function readValue(b: Uint8Array, start: i32, end: i32): void {
  const c = at(b.dataStart, start);
  if (c == 0x22) readStringAt(b, start, end);
  else if (c == 0x5b) {
    const it = new RawArrayIter(b, start, end);
    while (it.next()) readValue(b, it.valueStart, it.valueEnd);
  } else if (c == 0x7b) {
    const it = new RawObjectIter(b, start, end);
    while (it.next()) {
      if (!isSkipped(it)) readValue(b, it.valueStart, it.valueEnd);
    }
  }
}

/** Whether the value at b[start] is an object with a string `type`. */
function isTypedPart(b: Uint8Array, start: i32, end: i32): bool {
  if (at(b.dataStart, start) != 0x7b) return false;
  const it = new RawObjectIter(b, start, end);
  let typed = false;
  while (it.next()) if (it.keyIs("type")) typed = at(b.dataStart, it.valueStart) == 0x22;
  return typed;
}

/**
 * A message's text: content first (its span is [cs, ce), cs -1 when absent), then its other
 * strings (when `others`); false when content is malformed.
 */
function readMessage(b: Uint8Array, start: i32, end: i32, assistant: bool, cs: i32, ce: i32, others: bool): bool {
  const p = b.dataStart;
  if (cs < 0 || at(p, cs) == 0x6e /* null */) {
    if (!assistant) return false; // only an assistant message (tool calls) may have none
  } else {
    const c = at(p, cs);
    if (c == 0x5b) {
      const parts = new RawArrayIter(b, cs, ce);
      while (parts.next()) if (!isTypedPart(b, parts.valueStart, parts.valueEnd)) return false;
    } else if (c != 0x22) return false;
    readValue(b, cs, ce);
  }
  if (!others) return true;
  const rest = new RawObjectIter(b, start, end);
  while (rest.next()) {
    if (rest.keyIs("content") || isSkipped(rest)) continue;
    readValue(b, rest.valueStart, rest.valueEnd);
  }
  return true;
}

/** Per message, from one pass over the array: its span, its role's and content's spans, whether it has other members. */
const MSG: i32 = 7;
let messages = new StaticArray<i32>(MSG * 64);

/** Walks the array at p[start, end) (validated) once, filling `messages`; answers how many elements it has. */
function scanMessages(p: usize, start: i32, end: i32): i32 {
  let n = 0;
  let i = skipSpaceAt(p, start + 1, end);
  while (i < end) {
    let c = at(p, i);
    if (c == 0x5d) break;
    if (c == 0x2c) {
      i = skipSpaceAt(p, i + 1, end);
      continue;
    }
    const s = i;
    let rs = -1;
    let re = -1;
    let cs = -1;
    let ce = -1;
    let others = 0;
    if (c == 0x7b) {
      i = skipSpaceAt(p, i + 1, end);
      while (i < end) {
        c = at(p, i);
        if (c == 0x7d) {
          i++;
          break;
        }
        if (c == 0x2c) {
          i = skipSpaceAt(p, i + 1, end);
          continue;
        }
        const ks = i + 1;
        const ke = skipStringAt(p, i, end); // past the closing quote
        if (ke < 0) return n; // not reached: the body is valid JSON
        i = skipSpaceAt(p, skipSpaceAt(p, ke, end) + 1, end); // past the colon
        const vs = i;
        const ve = skipValueAt(p, i, end);
        if (ve < 0) return n;
        i = skipSpaceAt(p, ve, end);
        const kl = ke - 1 - ks;
        if (kl == 4 && load<u32>(p + <usize>ks) == 0x656c6f72 /* role */) {
          rs = vs;
          re = ve;
        } else if (kl == 7 && load<u32>(p + <usize>ks) == 0x746e6f63 /* cont */ && load<u32>(p + <usize>ks, 3) == 0x746e6574 /* tent */) {
          cs = vs;
          ce = ve;
        } else others = 1;
      }
    } else {
      i = skipValueAt(p, i, end);
      if (i < 0) return n;
    }
    const f = messageSlot(n);
    store<i32>(f, s);
    store<i32>(f, i, 4);
    store<i32>(f, rs, 8);
    store<i32>(f, re, 12);
    store<i32>(f, cs, 16);
    store<i32>(f, ce, 20);
    store<i32>(f, others, 24);
    n++;
    i = skipSpaceAt(p, i, end);
  }
  return n;
}

/** Whether the string literal b[start, end) decodes to `name` (ASCII, 4 bytes as `word`, little-endian). */
function stringIs4(b: Uint8Array, start: i32, end: i32, word: u32, name: string): bool {
  const p = b.dataStart;
  if (end - start == 6 && load<u32>(p + <usize>(start + 1)) == word) return true;
  for (let k = start + 1; k < end - 1; k++) if (at(p, k) == 0x5c) return rawStringEquals(b, start, end, name);
  return false; // other bytes than name's, none escaped
}

/** Whether the top-level key literal p[ks, ke) (quotes included) is `name` (ASCII). */
function topKeyIs(p: usize, ks: i32, ke: i32, name: string): bool {
  const n = ke - ks - 2;
  if (n != name.length) return false;
  for (let k = 0; k < n; k++) if (<i32>at(p, ks + 1 + k) != name.charCodeAt(k)) return false;
  return true;
}

/** Top-level member spans from the validation pass (four offsets each). */
const members = new Array<i32>();

/** Grows `messages` to hold message n (0-based) and answers where its fields go. */
function messageSlot(n: i32): usize {
  if ((n + 1) * MSG > messages.length) {
    const grown = new StaticArray<i32>(messages.length * 2);
    memory.copy(changetype<usize>(grown), changetype<usize>(messages), <usize>(n * MSG) << 2);
    messages = grown;
  }
  return changetype<usize>(messages) + (<usize>(n * MSG) << 2);
}

/**
 * From ai-proxy's one-walk scan the guard takes the JSON checks and, as the walk closes each
 * message, the spans scanMessages would find: the messages are then not walked a second time.
 * It judges nothing (the guard's own rules run on the spans).
 */
class MessageRecorder extends MessageJudge {
  count: i32 = 0;
  open: i32 = 0;
  close: i32 = 0;
  others: i32 = 0;
  constructor() {
    super();
    this.wantsExtent = true;
  }
  extent(open: i32, close: i32, members: i32): void {
    this.open = open;
    this.close = close;
    this.others = members;
  }
  message(b: Uint8Array, role: i64, content: i64, toolCallId: i64): bool {
    const f = messageSlot(this.count++);
    // scanMessages' fields: span (end past the `}`), role, content (-1 when absent), and
    // whether a member other than role and content is present (names are plain and unique here).
    const others = this.others - (role >= 0 ? 1 : 0) - (content >= 0 ? 1 : 0);
    store<i32>(f, this.open);
    store<i32>(f, this.close + 1, 4);
    store<i32>(f, role >= 0 ? <i32>(role >> 32) : -1, 8);
    store<i32>(f, role >= 0 ? <i32>role : -1, 12);
    store<i32>(f, content >= 0 ? <i32>(content >> 32) : -1, 16);
    store<i32>(f, content >= 0 ? <i32>content : -1, 20);
    store<i32>(f, others > 0 ? 1 : 0, 24);
    return true;
  }
  part(b: Uint8Array, type: i64, text: i64): bool {
    return true;
  }
}
const RECORDER = new MessageRecorder();
const SCAN = new ScanResult();

/**
 * The prompt the guard checks in `body`. `oneWalk` false takes the slow path only (validate,
 * check names, walk the messages): the tests compare the two.
 */
export function extractPrompt(body: Uint8Array, matchAllRoles: bool, latestOnly: bool, oneWalk: bool = true): Prompt {
  // One walk for the common body (valid JSON, an object, plain unique member names: the same
  // top-level spans); anything it is unsure of takes the walks below, which find the exact error.
  RECORDER.count = 0;
  const fast = oneWalk && scanRequest(body, MAX_BODY_DEPTH, members, RECORDER, SCAN);
  if (!fast) {
    const err = validateJsonMembers(body, MAX_BODY_DEPTH, members);
    if (err != null) return bad(PromptStatus.BadJson, "request body is not valid JSON: " + err);
    const root = rawStart(body);
    if (root >= body.length || unchecked(body[root]) != 0x7b) return bad(PromptStatus.BadJson, "request body is not valid JSON: expected a JSON object");
    const ambiguous = ambiguousMember(body);
    if (ambiguous != null) return bad(PromptStatus.BadJson, "request body is ambiguous: " + ambiguous);
  }
  const p = body.dataStart;
  len = 0;
  pending = false;
  // The top-level members the guard reads (names are unique: ambiguousMember refused duplicates).
  let ms = -1;
  let me = -1;
  let ps = -1;
  let pe = -1;
  let ss = -1;
  let se = -1;
  for (let k = 0; k + 3 < members.length; k += 4) {
    const ks = members[k];
    const ke = members[k + 1];
    if (topKeyIs(p, ks, ke, "messages")) {
      ms = members[k + 2];
      me = members[k + 3];
    } else if (topKeyIs(p, ks, ke, "prompt")) {
      ps = members[k + 2];
      pe = members[k + 3];
    } else if (topKeyIs(p, ks, ke, "suffix")) {
      ss = members[k + 2];
      se = members[k + 3];
    }
  }
  if (ms >= 0 && at(p, ms) != 0x6e /* null */) {
    if (at(p, ms) != 0x5b) return bad(PromptStatus.BadFormat, "'messages' is not an array");
    // The one walk recorded the messages (it accepts `messages` only as an array of objects);
    // after the slow path they are found here.
    const count = fast ? RECORDER.count : scanMessages(p, ms, me);
    const list = messages;
    for (let i = count - 1; i >= 0; i--) {
      const f = i * MSG;
      const s = unchecked(list[f]);
      const e = unchecked(list[f + 1]);
      const rs = unchecked(list[f + 2]);
      const re = unchecked(list[f + 3]);
      if (at(p, s) != 0x7b) return bad(PromptStatus.BadFormat, "messages[" + i.toString() + "] is not an object");
      if (rs < 0 || at(p, rs) != 0x22) return bad(PromptStatus.BadFormat, "messages[" + i.toString() + "].role is not a string");
      if (!matchAllRoles && !stringIs4(body, rs, re, 0x72657375 /* user */, "user")) continue;
      pending = false;
      const assistant = rawStringEquals(body, rs, re, "assistant");
      if (!readMessage(body, s, e, assistant, unchecked(list[f + 4]), unchecked(list[f + 5]), unchecked(list[f + 6]) != 0)) {
        return bad(PromptStatus.BadFormat, "messages[" + i.toString() + "].content is not a string or an array of typed content parts");
      }
      if (latestOnly) break;
      // Kong's separator, after every message taken.
      store<u8>(reserve(1), 0x20);
      len++;
    }
    return ok();
  }
  if (ps >= 0 && at(p, ps) == 0x22) readStringAt(body, ps, pe);
  else {
    if (ps < 0 || at(p, ps) != 0x5b) return bad(PromptStatus.BadFormat, "neither 'messages' nor a string 'prompt'");
    const list = new RawArrayIter(body, ps, pe);
    let i = 0;
    while (list.next()) {
      if (at(p, list.valueStart) != 0x22) return bad(PromptStatus.BadFormat, "prompt[" + i.toString() + "] is not a string");
      readStringAt(body, list.valueStart, list.valueEnd);
      i++;
    }
  }
  if (ss >= 0 && at(p, ss) == 0x22) readStringAt(body, ss, se);
  return ok();
}

function ok(): Prompt {
  RESULT.status = PromptStatus.Ok;
  RESULT.reason = "";
  RESULT.textPtr = changetype<usize>(buf);
  RESULT.textLen = len;
  return RESULT;
}
