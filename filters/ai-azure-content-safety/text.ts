// The text sent to Azure, read from OpenAI-format bodies with lib/prompt's byte-level
// readers (no json-as tree): the prompt by `text_source` (Kong: each selected message's
// content followed by "\n\n"), and the generated text of an answer or of one stream event.
// A content given as an array of parts contributes its "text" parts, in order.

import { arrayElements, decodeString, Kind, kindAt, lastMember, Member, objectMembers, readJsonDoc, skipString, skipWs } from "../../lib/prompt";
import { TextSource } from "./config";

/** Kong's 400 messages for a body it cannot read. */
export const NOT_JSON = "request is not in json format";
export const NO_MESSAGES = "request [messages] array is empty or missing";

export class PromptText {
  constructor(
    /** NOT_JSON / NO_MESSAGES, or null. */
    public error: string | null,
    public text: string,
  ) {}
}

/** A string value's decoded text ("" for anything else). */
function stringAt(b: Uint8Array, m: Member | null): string {
  if (m == null || kindAt(b, m.valueStart) != Kind.String) return "";
  return decodeString(b, m.valueStart + 1, m.valueEnd - 1);
}

/** A message content: a string, or the "text" members of an array of parts, each followed by `sep`. */
function contentText(b: Uint8Array, start: i32, sep: string): string {
  const k = kindAt(b, start);
  if (k == Kind.String) {
    const end = skipString(b, start);
    return decodeString(b, start + 1, end - 1) + sep;
  }
  if (k != Kind.Array) return "";
  let out = "";
  const parts = arrayElements(b, start);
  for (let i = 0; i < parts.length; i++) {
    const s = parts[i].start;
    if (kindAt(b, s) != Kind.Object) continue;
    const members = objectMembers(b, s);
    const text = lastMember(b, members, "text");
    if (text != null && kindAt(b, text.valueStart) == Kind.String) out += decodeString(b, text.valueStart + 1, text.valueEnd - 1) + sep;
  }
  return out;
}

/** The prompt text of a chat request body, as `source` selects it. */
export function promptText(body: Uint8Array, source: TextSource): PromptText {
  const doc = readJsonDoc(body);
  if (doc.error != null || doc.kind != Kind.Object) return new PromptText(NOT_JSON, "");
  const messages = lastMember(body, doc.members, "messages");
  if (messages == null || kindAt(body, messages.valueStart) != Kind.Array) return new PromptText(NO_MESSAGES, "");
  const list = arrayElements(body, messages.valueStart);
  if (list.length == 0) return new PromptText(NO_MESSAGES, "");
  if (source == TextSource.LastMessage) {
    const last = list[list.length - 1];
    if (kindAt(body, last.start) != Kind.Object) return new PromptText(null, "");
    const c = lastMember(body, objectMembers(body, last.start), "content");
    return new PromptText(null, c != null ? contentText(body, c.valueStart, "") : "");
  }
  let out = "";
  for (let i = 0; i < list.length; i++) {
    const s = list[i].start;
    if (kindAt(body, s) != Kind.Object) continue;
    const members = objectMembers(body, s);
    if (source == TextSource.UserContent && stringAt(body, lastMember(body, members, "role")) != "user") continue;
    const c = lastMember(body, members, "content");
    if (c != null) out += contentText(body, c.valueStart, "\n\n");
  }
  return new PromptText(null, out);
}

/**
 * The generated text in an OpenAI chat/completions object (a whole answer or one stream
 * chunk): every choice's message.content / delta.content / text. Not JSON: "".
 */
export function answerText(b: Uint8Array): string {
  const start = skipWs(b, 0);
  if (kindAt(b, start) != Kind.Object) return "";
  const choices = lastMember(b, objectMembers(b, start), "choices");
  if (choices == null || kindAt(b, choices.valueStart) != Kind.Array) return "";
  let out = "";
  const list = arrayElements(b, choices.valueStart);
  for (let i = 0; i < list.length; i++) {
    const s = list[i].start;
    if (kindAt(b, s) != Kind.Object) continue;
    const members = objectMembers(b, s);
    const text = lastMember(b, members, "text");
    if (text != null) out += contentText(b, text.valueStart, "");
    let msg = lastMember(b, members, "delta");
    if (msg == null) msg = lastMember(b, members, "message");
    if (msg == null || kindAt(b, msg.valueStart) != Kind.Object) continue;
    const c = lastMember(b, objectMembers(b, msg.valueStart), "content");
    if (c != null) out += contentText(b, c.valueStart, "");
  }
  return out;
}
