// The reference for filters/ai-prompt-guard/prompt.ts: the guard's prompt extraction as it was
// written on a json-as tree (decoded strings, re-encoded to UTF-8), kept for
// test/guard-extract.test.ts to compare the byte-level reading with. Not built into the filter.
//
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

import { JSON } from "json-as";
import { arrAt, isNull, parseObject, valueArr, valueObj, valueString } from "../../../lib/json/read";
import { ambiguousMember } from "../../../lib/json/names";
import { b64, isTextMedia, MAX_BODY_DEPTH, PromptStatus, SKIPPED } from "../../../filters/ai-prompt-guard/prompt";

export class TreePrompt {
  constructor(
    public status: PromptStatus,
    public text: Uint8Array,
    /** Why, for the 400 (BadJson) or the debug log (BadFormat). */
    public reason: string,
  ) {}
}

function bad(status: PromptStatus, reason: string): TreePrompt {
  return new TreePrompt(status, new Uint8Array(0), reason);
}


/** Collects the pieces of the prompt as UTF-8, separated by single spaces. */
class TextParts {
  parts: Uint8Array[] = [];
  /** Whether the next piece needs a separating space. */
  private pending: bool = false;

  /** Starts a new message: its first piece gets no separator. */
  reset(): void {
    this.pending = false;
  }

  bytes(b: Uint8Array): void {
    if (this.pending) this.parts.push(SPACE);
    this.parts.push(b);
    this.pending = true;
  }

  str(s: string): void {
    this.bytes(Uint8Array.wrap(String.UTF8.encode(s)));
  }

  /** A raw separator (Kong's space after each message). */
  space(): void {
    this.parts.push(SPACE);
  }

  join(): Uint8Array {
    let n = 0;
    for (let i = 0; i < this.parts.length; i++) n += this.parts[i].length;
    const out = new Uint8Array(n);
    let at = 0;
    for (let i = 0; i < this.parts.length; i++) {
      out.set(this.parts[i], at);
      at += this.parts[i].length;
    }
    return out;
  }
}

const SPACE: Uint8Array = Uint8Array.wrap(String.UTF8.encode(" "));

/** A string value as the model gets it: data: URLs decoded when textual, skipped when binary. */
function readString(s: string, out: TextParts): void {
  if (s.length > 5 && s.startsWith("data:")) {
    const comma = s.indexOf(",");
    if (comma > 0) {
      const meta = s.substring(5, comma).toLowerCase();
      if (meta.endsWith(";base64")) {
        if (!isTextMedia(meta)) return; // an image, audio, a PDF: no text to match
        out.bytes(base64Decode(s, comma + 1));
        return;
      }
    }
  }
  out.str(s);
}

/** Lenient base64 (padding and stray characters skipped), as the bytes a provider would decode. */
function base64Decode(s: string, from: i32): Uint8Array {
  const out = new Uint8Array(((s.length - from) * 3) / 4 + 3);
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
      out[n++] = <u8>(acc >> bits);
    }
  }
  return out.subarray(0, n);
}

/** Every string in `v` (document order), skipping the members in SKIPPED. */
function readValue(v: JSON.Value | null, out: TextParts): void {
  if (v == null) return;
  const s = valueString(v);
  if (s != null) {
    readString(s, out);
    return;
  }
  const a = valueArr(v);
  if (a != null) {
    for (let i = 0; i < a.length; i++) readValue(arrAt(a, i), out);
    return;
  }
  const o = valueObj(v);
  if (o == null) return;
  const keys = o.keys();
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (SKIPPED.includes(k)) continue;
    readValue(o.get(k), out);
  }
}

/** A message's text into `out`: content first, then its other strings; false when content is malformed. */
function readMessage(m: JSON.Obj, role: string, out: TextParts): bool {
  const content = m.get("content");
  if (content == null || isNull(content)) {
    if (role != "assistant") return false; // only an assistant message (tool calls) may have none
  } else {
    if (valueString(content) == null) {
      const parts = valueArr(content);
      if (parts == null) return false;
      for (let i = 0; i < parts.length; i++) {
        const part = valueObj(arrAt(parts, i));
        if (part == null || valueString(part.get("type")) == null) return false;
      }
    }
    readValue(content, out);
  }
  const keys = m.keys();
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (k == "content" || SKIPPED.includes(k)) continue;
    readValue(m.get(k), out);
  }
  return true;
}

export function extractPromptTree(body: Uint8Array, matchAllRoles: bool, latestOnly: bool): TreePrompt {
  const parsed = parseObject(body, MAX_BODY_DEPTH);
  if (parsed.error != null) return bad(PromptStatus.BadJson, "request body is not valid JSON: " + parsed.error!);
  const ambiguous = ambiguousMember(body);
  if (ambiguous != null) return bad(PromptStatus.BadJson, "request body is ambiguous: " + ambiguous!);
  const root = parsed.value!;
  const out = new TextParts();
  const mv = root.get("messages");
  if (mv != null && !isNull(mv)) {
    const messages = valueArr(mv);
    if (messages == null) return bad(PromptStatus.BadFormat, "'messages' is not an array");
    for (let i = messages.length - 1; i >= 0; i--) {
      const m = valueObj(arrAt(messages, i));
      if (m == null) return bad(PromptStatus.BadFormat, "messages[" + i.toString() + "] is not an object");
      const role = valueString(m.get("role"));
      if (role == null) return bad(PromptStatus.BadFormat, "messages[" + i.toString() + "].role is not a string");
      if (role != "user" && !matchAllRoles) continue;
      out.reset();
      if (!readMessage(m, role!, out)) return bad(PromptStatus.BadFormat, "messages[" + i.toString() + "].content is not a string or an array of typed content parts");
      if (latestOnly) break;
      out.space(); // Kong's separator, after every message taken
    }
    return new TreePrompt(PromptStatus.Ok, out.join(), "");
  }
  const pv = root.get("prompt");
  const prompt = valueString(pv);
  if (prompt != null) out.str(prompt);
  else {
    const list = valueArr(pv);
    if (list == null) return bad(PromptStatus.BadFormat, "neither 'messages' nor a string 'prompt'");
    for (let i = 0; i < list.length; i++) {
      const s = valueString(arrAt(list, i));
      if (s == null) return bad(PromptStatus.BadFormat, "prompt[" + i.toString() + "] is not a string");
      out.str(s);
    }
  }
  const suffix = valueString(root.get("suffix"));
  if (suffix != null) out.str(suffix);
  return new TreePrompt(PromptStatus.Ok, out.join(), "");
}
