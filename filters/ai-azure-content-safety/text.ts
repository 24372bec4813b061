// The text sent to Azure, read from OpenAI-format bodies with lib/prompt's byte-level
// readers: the prompt by `text_source` (Kong: each selected message's content followed by
// "\n\n"), and the generated text of an answer or of one stream event. A content given as an
// array of parts contributes its "text" parts, in order.
//
// Text stays JSON-escaped from end to end: the bytes between a string's quotes in the client's
// (validated) body are copied as they are into Azure's `text`, never decoded to UTF-16 and
// escaped again. Lengths (UTF-16 units, as Azure's 10,000-character limit is checked here) and
// cut points are computed on the escaped bytes, never inside an escape or a UTF-8 sequence.

import { arrayElements, Kind, kindAt, lastMember, Member, objectMembers, readJsonDoc, skipString, skipWs, decodeString, rawStringEquals } from "../../lib/prompt";
import { ByteBuilder } from "../../lib/llm/json-writer";
import { validateJson } from "../../lib/json/validate";
import { TextSource } from "./config";

/** Kong's 400 messages for a body it cannot read. */
export const NOT_JSON = "request is not in json format";
export const NO_MESSAGES = "request [messages] array is empty or missing";

/** "\n\n", escaped. */
const SEP: Uint8Array = Uint8Array.wrap(String.UTF8.encode("\\n\\n"));

export class PromptText {
  constructor(
    /** NOT_JSON / NO_MESSAGES, or null. */
    public error: string | null,
    /** The text, JSON-escaped (the content of a JSON string, without quotes). */
    public text: Uint8Array,
  ) {}
}

/** The decoded text of escaped bytes (for logs). */
export function decodeText(esc: Uint8Array): string {
  return decodeString(esc, 0, esc.length);
}

/** Appends a content (string, or array of parts' "text" members) to `out`, each followed by `sep`. */
function contentText(b: Uint8Array, start: i32, sep: Uint8Array | null, out: ByteBuilder): void {
  const k = kindAt(b, start);
  if (k == Kind.String) {
    out.range(b, start + 1, skipString(b, start) - 1);
    if (sep != null) out.bytes(sep);
    return;
  }
  if (k != Kind.Array) return;
  const parts = arrayElements(b, start);
  for (let i = 0; i < parts.length; i++) {
    const s = parts[i].start;
    if (kindAt(b, s) != Kind.Object) continue;
    const text = lastMember(b, objectMembers(b, s), "text");
    if (text != null && kindAt(b, text.valueStart) == Kind.String) {
      out.range(b, text.valueStart + 1, text.valueEnd - 1);
      if (sep != null) out.bytes(sep);
    }
  }
}

function isRole(b: Uint8Array, m: Member | null, role: string): bool {
  return m != null && kindAt(b, m.valueStart) == Kind.String && rawStringEquals(b, m.valueStart + 1, m.valueEnd - 1, role);
}

/** The prompt text of a chat request body, as `source` selects it. */
export function promptText(body: Uint8Array, source: TextSource): PromptText {
  const doc = readJsonDoc(body);
  if (doc.error != null || doc.kind != Kind.Object) return new PromptText(NOT_JSON, new Uint8Array(0));
  const messages = lastMember(body, doc.members, "messages");
  if (messages == null || kindAt(body, messages.valueStart) != Kind.Array) return new PromptText(NO_MESSAGES, new Uint8Array(0));
  const list = arrayElements(body, messages.valueStart);
  if (list.length == 0) return new PromptText(NO_MESSAGES, new Uint8Array(0));
  const out = new ByteBuilder(body.length);
  if (source == TextSource.LastMessage) {
    const last = list[list.length - 1];
    if (kindAt(body, last.start) == Kind.Object) {
      const c = lastMember(body, objectMembers(body, last.start), "content");
      if (c != null) contentText(body, c.valueStart, null, out);
    }
    return new PromptText(null, out.toBytes());
  }
  for (let i = 0; i < list.length; i++) {
    const s = list[i].start;
    if (kindAt(body, s) != Kind.Object) continue;
    const members = objectMembers(body, s);
    if (source == TextSource.UserContent && !isRole(body, lastMember(body, members, "role"), "user")) continue;
    const c = lastMember(body, members, "content");
    if (c != null) contentText(body, c.valueStart, SEP, out);
  }
  return new PromptText(null, out.toBytes());
}

/**
 * The generated text (escaped) in an OpenAI chat/completions object (a whole answer or one
 * stream chunk): every choice's message.content / delta.content / text. Bytes that are not
 * valid JSON (upstream bytes are not trusted) give none.
 */
export function answerText(b: Uint8Array, out: ByteBuilder): void {
  const start = skipWs(b, 0);
  if (kindAt(b, start) != Kind.Object || validateJson(b, 64) != null) return;
  const choices = lastMember(b, objectMembers(b, start), "choices");
  if (choices == null || kindAt(b, choices.valueStart) != Kind.Array) return;
  const list = arrayElements(b, choices.valueStart);
  for (let i = 0; i < list.length; i++) {
    const s = list[i].start;
    if (kindAt(b, s) != Kind.Object) continue;
    const members = objectMembers(b, s);
    const text = lastMember(b, members, "text");
    if (text != null) contentText(b, text.valueStart, null, out);
    let msg = lastMember(b, members, "delta");
    if (msg == null) msg = lastMember(b, members, "message");
    if (msg == null || kindAt(b, msg.valueStart) != Kind.Object) continue;
    const c = lastMember(b, objectMembers(b, msg.valueStart), "content");
    if (c != null) contentText(b, c.valueStart, null, out);
  }
}

// ---- measuring and cutting escaped text ---------------------------------------------------

function hex(c: u32): u32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : 0;
}

/** The UTF-16 unit at escape `\uXXXX` starting at i. */
function uEscape(b: Uint8Array, i: i32): u32 {
  if (i + 5 >= b.length) return 0;
  return (hex(b[i + 2]) << 12) | (hex(b[i + 3]) << 8) | (hex(b[i + 4]) << 4) | hex(b[i + 5]);
}

/**
 * One character of escaped text at `i`: sets `tokUnits` (UTF-16 units), `tokBytes` (decoded
 * UTF-8 bytes) and `tokSpace`, returns the index after it. A surrogate pair (escaped or
 * UTF-8) is one token of two units.
 */
let tokUnits: i32 = 0;
let tokBytes: i32 = 0;
let tokSpace: bool = false;

function token(b: Uint8Array, i: i32): i32 {
  const n = b.length;
  const c = <u32>unchecked(b[i]);
  tokSpace = false;
  if (c == 0x5c && i + 1 < n) {
    const e = <u32>unchecked(b[i + 1]);
    if (e == 0x75) {
      const u = uEscape(b, i);
      if (u >= 0xd800 && u <= 0xdbff && i + 11 < n && b[i + 6] == 0x5c && b[i + 7] == 0x75) {
        tokUnits = 2;
        tokBytes = 4;
        return i + 12;
      }
      tokUnits = 1;
      tokBytes = u < 0x80 ? 1 : u < 0x800 ? 2 : 3;
      tokSpace = u == 0x20 || u == 0x0a || u == 0x09 || u == 0x0d;
      return i + 6;
    }
    tokUnits = 1;
    tokBytes = 1;
    tokSpace = e == 0x6e || e == 0x74 || e == 0x72;
    return i + 2;
  }
  if (c < 0x80) {
    tokUnits = 1;
    tokBytes = 1;
    tokSpace = c == 0x20;
    return i + 1;
  }
  const len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
  tokUnits = len == 4 ? 2 : 1;
  tokBytes = len;
  return min(i + len, n);
}

/** Decoded UTF-8 bytes of escaped text. */
export function decodedBytes(esc: Uint8Array): i32 {
  let n = 0;
  let i = 0;
  const len = esc.length;
  while (i < len) {
    const c = unchecked(esc[i]);
    if (c < 0x80 && c != 0x5c) {
      n++;
      i++;
      continue;
    }
    i = token(esc, i);
    n += tokBytes;
  }
  return n;
}

/**
 * Cuts escaped text into pieces of at most `limit` UTF-16 units (Azure's 10,000-character
 * limit, counted in units so a piece is never over it), ending after whitespace within the
 * last `lookback` units when there is some. Returns the end offsets of the pieces.
 */
export function cutPoints(esc: Uint8Array, limit: i32, lookback: i32): i32[] {
  const ends = new Array<i32>();
  // Every unit takes at least one escaped byte: short text is one piece without a scan.
  if (esc.length <= limit) {
    ends.push(esc.length);
    return ends;
  }
  let i = 0;
  let units = 0;
  let lastSpaceEnd = -1;
  let lastSpaceUnits = 0;
  let pieceStart = 0;
  while (i < esc.length) {
    const c = unchecked(esc[i]);
    if (c < 0x80 && c != 0x5c && units < limit) {
      // Plain ASCII: one unit, one byte (the common case, without the general token read).
      units++;
      i++;
      if (c == 0x20) {
        lastSpaceEnd = i;
        lastSpaceUnits = units;
      }
      continue;
    }
    const next = token(esc, i);
    if (units + tokUnits > limit) {
      // Cut here, or after the last whitespace if it is close enough.
      const cut = lastSpaceEnd > pieceStart && units - lastSpaceUnits <= lookback ? lastSpaceEnd : i;
      ends.push(cut);
      pieceStart = cut;
      units = cut == i ? 0 : units - lastSpaceUnits;
      lastSpaceEnd = -1;
      continue; // re-read the token at i in the new piece
    }
    units += tokUnits;
    if (tokSpace) {
      lastSpaceEnd = next;
      lastSpaceUnits = units;
    }
    i = next;
  }
  if (ends.length == 0 || ends[ends.length - 1] < esc.length) ends.push(esc.length);
  return ends;
}

/** The escaped text after the last whitespace, when at most `maxBytes` long (a word cut at a segment's end). */
export function partialWord(esc: Uint8Array, maxBytes: i32): Uint8Array {
  let i = 0;
  let after = 0;
  while (i < esc.length) {
    const next = token(esc, i);
    if (tokSpace) after = next;
    i = next;
  }
  const n = esc.length - after;
  return n > 0 && n <= maxBytes ? esc.slice(after) : new Uint8Array(0);
}
