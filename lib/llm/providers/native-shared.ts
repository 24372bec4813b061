// Helpers shared by the providers with a native (non-OpenAI) wire format: anthropic.ts, gemini.ts,
// cohere.ts, ollama.ts and llama2.ts. Reading OpenAI message content, re-serializing parsed
// JSON values, copying raw value spans out of validated bodies, data: URLs and base64
// float32 embeddings. Everything here works on input that lib/json has validated, and
// checks types and bounds anyway so that nothing traps.

import { JSON } from "json-as";
import { arrAt, getArr, getObj, getString, isNull, valueArr, valueBool, valueNumber, valueObj, valueString } from "../../json";
import { ByteBuilder, JsonWriter } from "../json-writer";
import { findMember, scanObject, skipValue } from "../json-scan";
import { LlmRequest, UNSET, Usage } from "../provider";
import { ChunkHeader, writeChatChunk, writeUsageChunk } from "../format";
import { tokenCount } from "../usage";

// ---------------------------------------------------------------------------------------
// Serializing parsed values

/** Writes a parsed json-as value as JSON (strings escaped, numbers kept as integers where they were). */
export function writeValue(w: JsonWriter, v: JSON.Value | null): void {
  if (v == null) {
    w.null();
    return;
  }
  const t = v.type;
  if (t == JSON.Types.String) {
    w.string(v.get<string>());
  } else if (t == JSON.Types.Bool) {
    w.bool(v.get<bool>());
  } else if (t == JSON.Types.Object) {
    const o = v.get<JSON.Obj>();
    w.beginObject();
    const keys = o.keys();
    for (let i = 0; i < keys.length; i++) {
      const k = unchecked(keys[i]);
      w.key(k);
      writeValue(w, o.get(k));
    }
    w.endObject();
  } else if (t == JSON.Types.Array) {
    const a = v.get<JSON.Arr>();
    w.beginArray();
    for (let i = 0; i < a.length; i++) writeValue(w, arrAt(a, i));
    w.endArray();
  } else if (t == JSON.Types.I64) {
    w.int(v.get<i64>());
  } else if (t == JSON.Types.I32) {
    w.int(<i64>v.get<i32>());
  } else if (t == JSON.Types.U64) {
    w.rawString(v.get<u64>().toString());
  } else if (t == JSON.Types.U32) {
    w.int(<i64>v.get<u32>());
  } else {
    const n = valueNumber(v);
    if (!isNaN(n)) w.number(n);
    else w.null();
  }
}

/** The JSON text of a parsed value. */
export function valueJson(v: JSON.Value | null): string {
  const w = new JsonWriter();
  writeValue(w, v);
  return w.out.toString();
}

/** The JSON text of a parsed object. */
export function objJson(o: JSON.Obj): string {
  const w = new JsonWriter();
  w.beginObject();
  const keys = o.keys();
  for (let i = 0; i < keys.length; i++) {
    const k = unchecked(keys[i]);
    w.key(k);
    writeValue(w, o.get(k));
  }
  w.endObject();
  return w.out.toString();
}

// ---------------------------------------------------------------------------------------
// OpenAI message content

/** The text of OpenAI content: a string, or the `text` of its text parts joined by `sep`; "" for null. */
export function contentText(v: JSON.Value | null, sep: string): string {
  const s = valueString(v);
  if (s != null) return s;
  const parts = valueArr(v);
  if (parts == null) return "";
  let out = "";
  let first = true;
  for (let i = 0; i < parts.length; i++) {
    const p = valueObj(arrAt(parts, i));
    if (p == null) continue;
    const t = getString(p, "text");
    if (t == null) continue;
    const type = getString(p, "type");
    if (type != null && type != "text" && type != "input_text") continue;
    if (!first) out += sep;
    out += t;
    first = false;
  }
  return out;
}

/** The `type` of the first content part that is not text, or null when all parts are text (or content is a string). */
export function firstNonTextPart(v: JSON.Value | null): string | null {
  const parts = valueArr(v);
  if (parts == null) return null;
  for (let i = 0; i < parts.length; i++) {
    const p = valueObj(arrAt(parts, i));
    if (p == null) return "non-object";
    const t = getString(p, "type");
    if (t == null) return "untyped";
    if (t != "text" && t != "input_text") return t;
  }
  return null;
}

/** The URL of an `image_url` content part (`{"image_url":{"url"}}`, or the older `{"image_url":"..."}`), or null. */
export function imageUrlOf(part: JSON.Obj): string | null {
  const o = getObj(part, "image_url");
  if (o != null) return getString(o, "url");
  return getString(part, "image_url");
}

/** A parsed `data:<mime>;base64,<data>` URL. */
/** A JSON fragment built from part of a request, or why it could not be. */
export class JsonOrError {
  json: string = "";
  error: string | null = null;
}

export class DataUrl {
  constructor(
    public mediaType: string,
    public data: string,
  ) {}
}

/** Parses a base64 data URL; null for anything else (http URLs, non-base64 data URLs). */
export function parseDataUrl(url: string): DataUrl | null {
  if (!url.startsWith("data:")) return null;
  const comma = url.indexOf(",");
  if (comma < 0) return null;
  const meta = url.substring(5, comma);
  if (!meta.endsWith(";base64")) return null;
  const semi = meta.indexOf(";");
  return new DataUrl(meta.substring(0, semi), url.substring(comma + 1));
}

/** OpenAI's `stop` (a string or an array of strings) as a list; null when absent or of another type. */
export function stopList(body: JSON.Obj): string[] | null {
  const v = body.get("stop");
  if (v == null || isNull(v)) return null;
  const s = valueString(v);
  if (s != null) return [s];
  const a = valueArr(v);
  if (a == null) return null;
  const out = new Array<string>();
  for (let i = 0; i < a.length; i++) {
    const e = valueString(arrAt(a, i));
    if (e != null) out.push(e);
  }
  return out;
}

/** Writes `"key":[...strings]`. */
export function writeStringList(w: JsonWriter, key: string, list: string[]): void {
  w.key(key).beginArray();
  for (let i = 0; i < list.length; i++) w.string(unchecked(list[i]));
  w.endArray();
}

/** A number member of the request body, NaN when absent or not a number. */
export function bodyNumber(body: JSON.Obj, key: string): f64 {
  return valueNumber(body.get(key));
}

/** The completions `prompt`: a string, or an array holding exactly one string. Null otherwise. */
export function singlePrompt(body: JSON.Obj): string | null {
  const v = body.get("prompt");
  const s = valueString(v);
  if (s != null) return s;
  const a = valueArr(v);
  if (a != null && a.length == 1) return valueString(arrAt(a, 0));
  return null;
}

/** The embeddings `input` as a list of strings (a string, or an array of strings); null otherwise. */
export function inputTexts(body: JSON.Obj): string[] | null {
  const v = body.get("input");
  const s = valueString(v);
  if (s != null) return [s];
  const a = valueArr(v);
  if (a == null) return null;
  const out = new Array<string>();
  for (let i = 0; i < a.length; i++) {
    const e = valueString(arrAt(a, i));
    if (e == null) return null;
    out.push(e);
  }
  return out;
}

/** The request's max_tokens (its own or the configured one), or `fallback`. */
export function maxTokensOr(req: LlmRequest, fallback: i64): i64 {
  return req.maxTokens != UNSET ? req.maxTokens : fallback;
}

/** True when the client set `"parallel_tool_calls": false`. */
export function parallelToolCallsOff(body: JSON.Obj): bool {
  return valueBool(body.get("parallel_tool_calls")) == 0;
}

// ---------------------------------------------------------------------------------------
// Raw spans of validated bodies (exact bytes, nothing re-serialized)

/** A byte range [start, end) in a buffer. */
export class Span {
  constructor(
    public start: i32,
    public end: i32,
  ) {}
}

@inline function isSpace(c: u8): bool {
  return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d;
}

/** The value of member `key` of the object at b[span], or null when the span is not an object or lacks the key. */
export function memberSpan(b: Uint8Array, span: Span, key: string): Span | null {
  const ms = scanObject(b.subarray(span.start, span.end));
  if (ms == null) return null;
  const m = findMember(ms, key);
  if (m == null) return null;
  return new Span(span.start + m.valueStart, span.start + m.valueEnd);
}

/** The elements of the array at b[span], or null when the span is not a well-formed array. */
export function elementSpans(b: Uint8Array, span: Span): Span[] | null {
  let i = span.start;
  const end = span.end;
  while (i < end && isSpace(unchecked(b[i]))) i++;
  if (i >= end || unchecked(b[i]) != 0x5b) return null;
  i++;
  const out = new Array<Span>();
  while (i < end && isSpace(unchecked(b[i]))) i++;
  if (i < end && unchecked(b[i]) == 0x5d) return out;
  while (i < end) {
    const vs = i;
    const ve = skipValue(b, i, end);
    if (ve < 0 || ve == vs) return null;
    out.push(new Span(vs, ve));
    i = ve;
    while (i < end && isSpace(unchecked(b[i]))) i++;
    if (i >= end) return null;
    const c = unchecked(b[i]);
    if (c == 0x5d) return out;
    if (c != 0x2c) return null;
    i++;
    while (i < end && isSpace(unchecked(b[i]))) i++;
  }
  return null;
}

/** The whole buffer as a span. */
export function whole(b: Uint8Array): Span {
  return new Span(0, b.length);
}

/** Follows object keys from the top of b; null when any step is missing or not an object. */
export function pathSpan(b: Uint8Array, keys: string[]): Span | null {
  let s: Span | null = whole(b);
  for (let i = 0; i < keys.length && s != null; i++) s = memberSpan(b, s, unchecked(keys[i]));
  return s;
}

/** The bytes of b[span] as a string (for spans of numbers and other ASCII JSON). */
export function spanString(b: Uint8Array, s: Span): string {
  return String.UTF8.decodeUnsafe(b.dataStart + <usize>s.start, <usize>(s.end - s.start));
}

/** True when b[s] is a JSON number. */
export function isNumberSpan(b: Uint8Array, s: Span): bool {
  if (s.end <= s.start) return false;
  const c = unchecked(b[s.start]);
  return c == 0x2d || (c >= 0x30 && c <= 0x39);
}

/**
 * An embedding vector at b[s] (an array of numbers) as the JSON OpenAI returns: the array
 * copied as is, or with `base64` the little-endian float32 bytes in base64 (what the
 * openai SDKs ask for by default). Null when b[s] is not an array of numbers.
 */
export function embeddingJson(b: Uint8Array, s: Span, base64: bool): string | null {
  const els = elementSpans(b, s);
  if (els == null) return null;
  for (let i = 0; i < els.length; i++) if (!isNumberSpan(b, unchecked(els[i]))) return null;
  if (!base64) {
    let out = "[";
    for (let i = 0; i < els.length; i++) {
      if (i > 0) out += ",";
      out += spanString(b, unchecked(els[i]));
    }
    return out + "]";
  }
  const raw = new Uint8Array(els.length * 4);
  for (let i = 0; i < els.length; i++) {
    const f = <f32>parseFloat(spanString(b, unchecked(els[i])));
    store<f32>(raw.dataStart + <usize>(i * 4), f);
  }
  return '"' + base64Encode(raw) + '"';
}

/** True when the embeddings request asked for `encoding_format: "base64"`. */
export function wantsBase64(body: JSON.Obj): bool {
  const f = getString(body, "encoding_format");
  return f != null && f == "base64";
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Standard base64 with padding. */
export function base64Encode(src: Uint8Array): string {
  const out = new ByteBuilder(((src.length + 2) / 3) * 4 + 4);
  const n = src.length;
  let i = 0;
  while (i + 2 < n) {
    const v = (<u32>unchecked(src[i]) << 16) | (<u32>unchecked(src[i + 1]) << 8) | <u32>unchecked(src[i + 2]);
    out.byte(<u8>B64.charCodeAt((v >> 18) & 63));
    out.byte(<u8>B64.charCodeAt((v >> 12) & 63));
    out.byte(<u8>B64.charCodeAt((v >> 6) & 63));
    out.byte(<u8>B64.charCodeAt(v & 63));
    i += 3;
  }
  const rest = n - i;
  if (rest == 1) {
    const v = <u32>unchecked(src[i]) << 16;
    out.byte(<u8>B64.charCodeAt((v >> 18) & 63));
    out.byte(<u8>B64.charCodeAt((v >> 12) & 63));
    out.byte(0x3d);
    out.byte(0x3d);
  } else if (rest == 2) {
    const v = (<u32>unchecked(src[i]) << 16) | (<u32>unchecked(src[i + 1]) << 8);
    out.byte(<u8>B64.charCodeAt((v >> 18) & 63));
    out.byte(<u8>B64.charCodeAt((v >> 12) & 63));
    out.byte(<u8>B64.charCodeAt((v >> 6) & 63));
    out.byte(0x3d);
  }
  return out.toString();
}

// ---------------------------------------------------------------------------------------
// Responses and streams

/** A token count from a parsed number: -1 unless finite and in [0, 2^31] (usage.ts tokenCount). */
export function countOf(v: f64): i64 {
  return tokenCount(v);
}

/** The count at obj[key] or -1. */
export function countAt(obj: JSON.Obj | null, key: string): i64 {
  if (obj == null) return -1;
  return countOf(valueNumber(obj.get(key)));
}

/** Sets prompt/completion counts that are known (>= 0) and completes the total. */
export function setUsage(u: Usage, prompt: i64, completion: i64): void {
  if (prompt >= 0) u.promptTokens = prompt;
  if (completion >= 0) u.completionTokens = completion;
  if (prompt >= 0 || completion >= 0) {
    u.totalTokens = -1;
    u.complete();
  }
}

/** The end of a translated stream: the finish chunk, then the usage chunk when the client asked for it. */
export function writeStreamEnd(out: ByteBuilder, h: ChunkHeader, req: LlmRequest, finishReason: string | null, usage: Usage): void {
  writeChatChunk(out, h, null, h.object == "text_completion" ? "" : null, finishReason);
  if (req.clientIncludeUsage && usage.known) writeUsageChunk(out, h, usage);
}

/** Serializes one OpenAI tool call: `{"id","type":"function","function":{"name","arguments"}}`, with an optional stream `index`. */
export function writeToolCall(w: JsonWriter, index: i32, id: string | null, name: string | null, args: string | null): void {
  w.beginObject();
  if (index >= 0) w.fieldInt("index", index);
  if (id != null) w.fieldString("id", id).fieldString("type", "function");
  w.key("function").beginObject();
  if (name != null) w.fieldString("name", name);
  if (args != null) w.fieldString("arguments", args);
  w.endObject().endObject();
}

/** A one-element tool_calls array for a stream delta. */
export function toolCallDelta(index: i32, id: string | null, name: string | null, args: string | null): string {
  const w = new JsonWriter();
  w.beginArray();
  writeToolCall(w, index, id, name, args);
  w.endArray();
  return w.out.toString();
}

/** An array member of a parsed object, or an empty array. */
export function arrOrEmpty(o: JSON.Obj | null, key: string): JSON.Arr {
  if (o == null) return new JSON.Arr();
  const a = getArr(o, key);
  return a != null ? a : new JSON.Arr();
}
