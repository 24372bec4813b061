// The LLM's JSON response instructions (parse_llm_response_json_instructions, reference §8):
// `{"status": <int>, "headers": {…}, "body": <string or JSON>}`. Status defaults to 200; the
// body is `body` (a string as is, any other JSON value as JSON text), or the whole object when
// `body` is absent. Headers are checked so an answer cannot inject a pseudo-header or split one.

import { readJsonDoc } from "../../lib/prompt/body";
import { rawStringBytes } from "../../lib/json/raw";
import { decodeString, Kind, kindAt, lastMember, objectMembers } from "../../lib/prompt/scan";
import { HeaderPair } from "../../lib/abi/pairs";

export const INSTRUCTIONS_FAILED = "failed to parse JSON response instructions from AI backend: ";

export class Instructions {
  status: u32 = 200;
  headers: HeaderPair[] = [];
  body: Uint8Array = new Uint8Array(0);
  /** Why the answer is not usable instructions (then Kong answers 500). */
  error: string | null = null;
}

function failed(message: string): Instructions {
  const r = new Instructions();
  r.error = INSTRUCTIONS_FAILED + message;
  return r;
}

/** RFC 9110 token characters, lower case only (HTTP/2 and Envoy's header maps are lower case). */
function validName(n: string): bool {
  if (n.length == 0) return false;
  for (let i = 0; i < n.length; i++) {
    const c = n.charCodeAt(i);
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || c == 0x2d || c == 0x5f || c == 0x2e || c == 0x21 || c == 0x23 || c == 0x24 || c == 0x25 || c == 0x26 || c == 0x27 || c == 0x2a || c == 0x2b || c == 0x5e || c == 0x60 || c == 0x7c || c == 0x7e;
    if (!ok) return false;
  }
  return true;
}

function validValue(v: string): bool {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c == 0x0d || c == 0x0a || c == 0) return false;
  }
  return true;
}

/** An integer status 100–599 from a number's raw text, or 0. */
function statusOf(b: Uint8Array, s: i32, e: i32): u32 {
  if (e - s != 3) return 0;
  let v: u32 = 0;
  for (let i = s; i < e; i++) {
    const c = <u32>b[i] - 0x30;
    if (c > 9) return 0;
    v = v * 10 + c;
  }
  return v >= 100 && v <= 599 ? v : 0;
}

export function parseInstructions(text: Uint8Array): Instructions {
  const doc = readJsonDoc(text);
  if (doc.error != null) return failed(doc.error!);
  if (doc.kind != Kind.Object) return failed("the answer is not a JSON object");
  const m = doc.members;
  const r = new Instructions();

  const st = lastMember(text, m, "status");
  if (st != null && kindAt(text, st.valueStart) != Kind.Null) {
    const s = kindAt(text, st.valueStart) == Kind.Number ? statusOf(text, st.valueStart, st.valueEnd) : 0;
    if (s == 0) return failed("'status' must be an integer HTTP status code (100-599)");
    r.status = s;
  }

  const hd = lastMember(text, m, "headers");
  if (hd != null && kindAt(text, hd.valueStart) != Kind.Null) {
    if (kindAt(text, hd.valueStart) != Kind.Object) return failed("'headers' must be an object");
    const hm = objectMembers(text, hd.valueStart);
    for (let i = 0; i < hm.length; i++) {
      const h = unchecked(hm[i]);
      const name = decodeString(text, h.keyStart, h.keyEnd).toLowerCase();
      if (!validName(name)) return failed("header name '" + name + "' is not a valid HTTP header name");
      const k = kindAt(text, h.valueStart);
      let value: string;
      if (k == Kind.String) value = decodeString(text, h.valueStart + 1, h.valueEnd - 1);
      else if (k == Kind.Number || k == Kind.True || k == Kind.False) value = String.UTF8.decodeUnsafe(text.dataStart + <usize>h.valueStart, <usize>(h.valueEnd - h.valueStart));
      else return failed("header '" + name + "' must be a string");
      if (!validValue(value)) return failed("header '" + name + "' contains CR, LF or NUL");
      r.headers.push(new HeaderPair(name, value));
    }
  }

  const bd = lastMember(text, m, "body");
  if (bd == null || kindAt(text, bd.valueStart) == Kind.Null) r.body = text;
  else if (kindAt(text, bd.valueStart) == Kind.String) r.body = rawStringBytes(text, bd.valueStart, bd.valueEnd);
  else r.body = text.slice(bd.valueStart, bd.valueEnd);
  return r;
}
