// json-check: a test-only module exposing lib/json to test/lib-json.test.ts, which calls
// these exports directly (no host). Input bytes go into a buffer the module owns.

import { JSON } from "json-as";
import { validateJson, validateJsonMembers } from "../../../lib/json/validate";
import { readOpenAiUsage, readOpenAiUsageRaw, takeUsageOutOfRange } from "../../../lib/llm/usage";
import { Usage } from "../../../lib/llm/provider";
import { ambiguousMember } from "../../../lib/json/names";
import { arrAt, parseObject, valueArr, valueBool, valueNumber, valueObj, valueString, isNull, getString, getNumber, getBool, getObj, getArr } from "../../../lib/json/read";
import { quote } from "../probe/format";
import { RawKind, RawObjectIter, rawFind, rawKind, rawNumber, rawStart, rawString, rawStringBytes, spanEnd, spanStart } from "../../../lib/json/raw";

let input = new ArrayBuffer(0);
let output = new ArrayBuffer(0);

/** Makes room for `len` input bytes and returns where to write them. */
export function inputBuffer(len: i32): usize {
  input = new ArrayBuffer(len);
  return changetype<usize>(input);
}

/** The last result's bytes (UTF-8) and length. */
export function outputPtr(): usize {
  return changetype<usize>(output);
}
export function outputLen(): i32 {
  return output.byteLength;
}

function setOutput(s: string): void {
  output = String.UTF8.encode(s);
}

/** validateJson over the input: 1 when valid, 0 with the message in the output. */
export function validate(maxDepth: i32): i32 {
  const err = validateJson(Uint8Array.wrap(input), maxDepth);
  setOutput(err != null ? err : "");
  return err == null ? 1 : 0;
}

/** validateJson then ambiguousMember over the input: 1 when plain, 0 with the reason in the output. */
export function names(): i32 {
  const b = Uint8Array.wrap(input);
  let err = validateJson(b, 64);
  if (err == null) err = ambiguousMember(b);
  setOutput(err != null ? err : "");
  return err == null ? 1 : 0;
}

/**
 * parseObject over the input, then a walk with the type-checked readers that re-serializes
 * the document (canonical JSON). 1 with the JSON in the output, 0 with the error.
 */
export function roundTrip(maxDepth: i32): i32 {
  const p = parseObject(Uint8Array.wrap(input), maxDepth);
  if (p.error != null) {
    setOutput(p.error!);
    return 0;
  }
  setOutput(writeObj(p.value!));
  return 1;
}

/**
 * The typed getters on the input object's field `key`: "string:<s>", "number:<n>",
 * "bool:<b>", "object", "array:<len>", "null" or "absent", separated by "|" for each
 * getter that accepts it. Exercises that each getter refuses the wrong type.
 */
export function fieldTypes(keyLen: i32): i32 {
  // The key is the first keyLen bytes of the input, the document the rest.
  const all = Uint8Array.wrap(input);
  const key = String.UTF8.decodeUnsafe(all.dataStart, <usize>keyLen);
  const doc = Uint8Array.wrap(input, keyLen, all.length - keyLen);
  const p = parseObject(doc, 64);
  if (p.error != null) {
    setOutput(p.error!);
    return 0;
  }
  const obj = p.value!;
  const parts = new Array<string>();
  const s = getString(obj, key);
  if (s != null) parts.push("string:" + s);
  const n = getNumber(obj, key);
  if (!isNaN(n)) parts.push("number:" + n.toString());
  if (getBool(obj, key, false) == getBool(obj, key, true)) parts.push("bool:" + (getBool(obj, key, false) ? "true" : "false"));
  if (getObj(obj, key) != null) parts.push("object");
  const a = getArr(obj, key);
  if (a != null) parts.push("array:" + a.length.toString());
  if (isNull(obj.get(key))) parts.push("null");
  if (!obj.has(key)) parts.push("absent");
  setOutput(parts.join("|"));
  return 1;
}

function writeValue(v: JSON.Value): string {
  const s = valueString(v);
  if (s != null) return quote(s);
  const n = valueNumber(v);
  if (!isNaN(n)) return n.toString();
  const b = valueBool(v);
  if (b >= 0) return b == 1 ? "true" : "false";
  const o = valueObj(v);
  if (o != null) return writeObj(o);
  const a = valueArr(v);
  if (a != null) {
    let out = "[";
    for (let i = 0; i < a.length; i++) {
      if (i > 0) out += ",";
      const e = arrAt(a, i);
      out += e != null ? writeValue(e) : "?";
    }
    return out + "]";
  }
  if (isNull(v)) return "null";
  return "?";
}

function writeObj(o: JSON.Obj): string {
  const keys = o.keys();
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    if (i > 0) out += ",";
    const k = unchecked(keys[i]);
    const v = o.get(k);
    out += quote(k) + ":" + (v != null ? writeValue(v) : "?");
  }
  return out + "}";
}

/**
 * lib/json/raw's reads of the input object's field `key` (key = the first keyLen bytes, the
 * document the rest, validated first), in the same "kind:value" words as fieldTypes, so a test
 * can check that the byte-level reads agree with json-as's.
 */
export function rawField(keyLen: i32): i32 {
  const all = Uint8Array.wrap(input);
  const key = String.UTF8.decodeUnsafe(all.dataStart, <usize>keyLen);
  const doc = Uint8Array.wrap(input, keyLen, all.length - keyLen);
  const err = validateJson(doc, 64);
  if (err != null) {
    setOutput(err);
    return 0;
  }
  const start = rawStart(doc);
  const span = rawFind(doc, start, doc.length, key);
  if (span < 0) {
    setOutput("absent");
    return 1;
  }
  const s = spanStart(span);
  const e = spanEnd(span);
  const kind = rawKind(doc, s);
  if (kind == RawKind.String) setOutput("string:" + rawString(doc, s, e));
  else if (kind == RawKind.Number) setOutput("number:" + rawNumber(doc, s, e).toString());
  else if (kind == RawKind.True) setOutput("bool:true");
  else if (kind == RawKind.False) setOutput("bool:false");
  else if (kind == RawKind.Object) setOutput("object");
  else if (kind == RawKind.Array) setOutput("array");
  else if (kind == RawKind.Null) setOutput("null");
  else setOutput("none");
  return 1;
}

/**
 * The input is one JSON string literal: rawStringBytes of it in the output. Returns 1 when it
 * equals String.UTF8.encode(rawString(...)), the text-then-bytes path it replaces, 0 when they
 * differ, -1 when the input is not a valid JSON string.
 */
export function stringBytes(): i32 {
  const doc = Uint8Array.wrap(input);
  if (validateJson(doc, 64) != null || doc.length < 2 || doc[0] != 0x22) return -1;
  const bytes = rawStringBytes(doc, 0, doc.length);
  const ref = Uint8Array.wrap(String.UTF8.encode(rawString(doc, 0, doc.length)));
  output = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
  return bytes.length == ref.length && memory.compare(bytes.dataStart, ref.dataStart, <usize>ref.length) == 0 ? 1 : 0;
}

// validateJsonMembers writes into an array kept across calls (as ai-proxy keeps its own), so
// a test sees that each call starts it over.
const keptSpans = new Array<i32>();

/**
 * validateJsonMembers over the input: "ok:" and the spans joined by commas, or "err:" and the
 * message (spans are unspecified on failure).
 */
export function members(maxDepth: i32): i32 {
  const err = validateJsonMembers(Uint8Array.wrap(input), maxDepth, keptSpans);
  if (err != null) {
    setOutput("err:" + err);
    return 0;
  }
  setOutput("ok:" + keptSpans.join(","));
  return 1;
}

/** What members() must say, the slow way: validateJson, then the top-level members through RawObjectIter. */
export function membersRef(maxDepth: i32): i32 {
  const b = Uint8Array.wrap(input);
  const err = validateJson(b, maxDepth);
  if (err != null) {
    setOutput("err:" + err);
    return 0;
  }
  const spans = new Array<i32>();
  const it = new RawObjectIter(b, rawStart(b), b.length);
  while (it.next()) {
    spans.push(it.keyStart - 1);
    spans.push(it.keyEnd + 1);
    spans.push(it.valueStart);
    spans.push(it.valueEnd);
  }
  setOutput("ok:" + spans.join(","));
  return 1;
}

function usageWords(u: Usage, found: bool): string {
  return u.promptTokens.toString() + "," + u.completionTokens.toString() + "," + u.totalTokens.toString() + "," + (found ? "found" : "none") + "," + (takeUsageOutOfRange() ? "range" : "-");
}

/**
 * readOpenAiUsageRaw on the input object's `usage` member, twice (its walk keeps state in
 * globals), and the first time after reading `{"total_tokens":9}` from another buffer.
 */
export function usageRaw(): i32 {
  const other = Uint8Array.wrap(String.UTF8.encode('{"total_tokens":9}'));
  readOpenAiUsageRaw(other, 0, other.length, new Usage());
  takeUsageOutOfRange();
  const b = Uint8Array.wrap(input);
  const span = rawFind(b, rawStart(b), b.length, "usage");
  const s = span < 0 ? -1 : spanStart(span);
  const e = span < 0 ? -1 : spanEnd(span);
  const u1 = new Usage();
  const w1 = usageWords(u1, readOpenAiUsageRaw(b, s, e, u1));
  const u2 = new Usage();
  const w2 = usageWords(u2, readOpenAiUsageRaw(b, s, e, u2));
  setOutput(w1 == w2 ? w1 : w1 + " then " + w2);
  return 1;
}

/** readOpenAiUsage (json-as) on the input object, in usageRaw's words. */
export function usageParsed(): i32 {
  const p = parseObject(Uint8Array.wrap(input), 64);
  if (p.error != null) {
    setOutput(p.error!);
    return 0;
  }
  takeUsageOutOfRange();
  const u = new Usage();
  setOutput(usageWords(u, readOpenAiUsage(p.value!, u)));
  return 1;
}
