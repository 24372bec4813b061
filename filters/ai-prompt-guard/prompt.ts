// The text the patterns are matched against, built as Kong's guard builds it:
// - chat (`messages` is an array): walk the messages newest to oldest, take those with role
//   "user" (every role with match_all_roles), and append each content followed by a space;
//   with allow_all_conversation_history only the newest one is taken, without the space.
// - completions (no `messages`): the `prompt` string.
// A message must have a string role, and a taken message a string content or (an extension
// over Kong 3.9) an array of content parts whose "text" parts are joined with spaces.
// The result is the UTF-8 bytes PCRE would see in Kong.

import { JSON } from "json-as";
import { arrAt, isNull, parseObject, valueArr, valueObj, valueString } from "../../lib/json/read";

/** Nesting limit for request bodies (deeper bodies are refused before parsing). */
export const MAX_BODY_DEPTH: i32 = 64;

export const enum PromptStatus {
  Ok = 0,
  /** Not JSON, invalid UTF-8, too deep, or not an object: the body itself is bad. */
  BadJson = 1,
  /** JSON, but not a chat or completions prompt the guard can read (Kong: "bad request"). */
  BadFormat = 2,
}

export class Prompt {
  constructor(
    public status: PromptStatus,
    public text: Uint8Array,
    /** Why, for the 400 (BadJson) or the debug log (BadFormat). */
    public reason: string,
  ) {}
}

function bad(status: PromptStatus, reason: string): Prompt {
  return new Prompt(status, new Uint8Array(0), reason);
}

/** Concatenates byte chunks. */
function join(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (let i = 0; i < parts.length; i++) n += parts[i].length;
  const out = new Uint8Array(n);
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    out.set(parts[i], at);
    at += parts[i].length;
  }
  return out;
}

const SPACE: Uint8Array = Uint8Array.wrap(String.UTF8.encode(" "));

function utf8(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

/** A message's text: the content string, or its text parts joined with spaces; null if malformed. */
function contentText(content: JSON.Value | null): Uint8Array | null {
  const s = valueString(content);
  if (s != null) return utf8(s);
  const parts = valueArr(content);
  if (parts == null) return null;
  const out = new Array<Uint8Array>();
  for (let i = 0; i < parts.length; i++) {
    const part = valueObj(arrAt(parts, i));
    if (part == null) return null;
    const type = valueString(part.get("type"));
    if (type == null) return null;
    if (type != "text") continue; // images, audio, files: nothing to match
    const text = valueString(part.get("text"));
    if (text == null) return null;
    if (out.length > 0) out.push(SPACE);
    out.push(utf8(text));
  }
  return join(out);
}

export function extractPrompt(body: Uint8Array, matchAllRoles: bool, latestOnly: bool): Prompt {
  const parsed = parseObject(body, MAX_BODY_DEPTH);
  if (parsed.error != null) return bad(PromptStatus.BadJson, "request body is not valid JSON: " + parsed.error!);
  const root = parsed.value!;
  const mv = root.get("messages");
  if (mv != null && !isNull(mv)) {
    const messages = valueArr(mv);
    if (messages == null) return bad(PromptStatus.BadFormat, "'messages' is not an array");
    const parts = new Array<Uint8Array>();
    for (let i = messages.length - 1; i >= 0; i--) {
      const m = valueObj(arrAt(messages, i));
      if (m == null) return bad(PromptStatus.BadFormat, "messages[" + i.toString() + "] is not an object");
      const role = valueString(m.get("role"));
      if (role == null) return bad(PromptStatus.BadFormat, "messages[" + i.toString() + "].role is not a string");
      if (role != "user" && !matchAllRoles) continue;
      const text = contentText(m.get("content"));
      if (text == null) return bad(PromptStatus.BadFormat, "messages[" + i.toString() + "].content is not a string or an array of content parts");
      parts.push(text);
      if (latestOnly) break;
      parts.push(SPACE); // Kong's separator, after every message taken
    }
    return new Prompt(PromptStatus.Ok, join(parts), "");
  }
  const prompt = valueString(root.get("prompt"));
  if (prompt == null) return bad(PromptStatus.BadFormat, "neither 'messages' nor a string 'prompt'");
  return new Prompt(PromptStatus.Ok, utf8(prompt), "");
}
