// Shared base of the providers that speak the OpenAI format (openai, azure, mistral with
// mistral_format=openai; llama2.ts may reuse it for llama2_format=openai). The request goes
// up nearly as sent: the untouched members are copied byte for byte, `model` and `stream`
// are set, options fill absent tuning fields, `top_k` is removed, and streams ask for
// usage (`stream_options.include_usage`) where the upstream supports it.

import { JSON } from "json-as";
import { arrAt, getArr, getObj, getString, valueObj } from "../../json";
import { DEFAULT_MAX_DEPTH, parseValidatedObject } from "../../json/read";
import { validateJsonMembers } from "../../json/validate";
import { bytesAre, RawArrayIter, RawKind, rawFind, rawKind, rawStart, rawString, rawStringEquals, spanEnd, spanStart } from "../../json/raw";
import { ByteBuilder, JsonWriter, utf8Bytes, writeJsonNumber, writeJsonString } from "../json-writer";
import { at32, findMember, Member, scanObject } from "../json-scan";
import {
  LlmRequest,
  Provider,
  RouteType,
  routeTypeName,
  StreamTranslator,
  TranslatedRequest,
  TranslatedResponse,
  UNSET,
} from "../provider";
import { SseEvent } from "../sse";
import { SseStreamTranslator } from "../stream";
import { readOpenAiUsageRaw } from "../usage";
import { isSome } from "../nullable";

/** The member that carries a client's own key (the filter drops it unless allow_override). */
const CLIENT_KEY = "api_key";

export abstract class OpenAiFormatProvider extends Provider {
  /** Whether the upstream accepts `stream_options.include_usage` for this request. */
  acceptsStreamOptions(req: LlmRequest): bool {
    return true;
  }

  /** Request members the upstream refuses and the gateway drops (always includes top_k). */
  droppedKeys(): string[] {
    return DROPPED;
  }

  /** Member names sent under another name, as pairs (Mistral: max_completion_tokens → max_tokens). */
  renames(): string[] {
    return NO_RENAMES;
  }

  /** Whether the upstream refuses the member `key` (droppedKeys). */
  isDropped(key: string): bool {
    const d = this.droppedKeys();
    for (let i = 0; i < d.length; i++) if (unchecked(d[i]) == key) return true;
    return false;
  }

  /** The name member `key` goes up under (renames), or "" to keep it. */
  renamed(key: string): string {
    const r = this.renames();
    for (let i = 0; i + 1 < r.length; i += 2) if (unchecked(r[i]) == key) return unchecked(r[i + 1]);
    return "";
  }

  translateRequest(req: LlmRequest): TranslatedRequest {
    // The validator's spans, when every top-level name is written without an escape (its raw
    // bytes are then its decoded name): read on the bytes, no member objects or key strings.
    const spans = req.validatedSpans;
    if (spans != null && plainNames(req.raw, spans)) return this.translateSpans(req, spans);
    return this.translateMembers(req);
  }

  /**
   * translateRequest on the decoded members (json-scan's view). The reference translateSpans is
   * tested against (test/ai-proxy-request-scan.test.ts), and the path for names with escapes.
   */
  translateMembers(req: LlmRequest): TranslatedRequest {
    const src = req.raw;
    const members = req.members();
    if (members == null) return TranslatedRequest.fail("request body is not a JSON object");
    const embeddings = req.route == RouteType.Embeddings;
    // Room for the copy and the members added below: the buffer never grows. Not cleared: only its view() goes out.
    const w = new JsonWriter(new ByteBuilder(src.length + 256, false));
    w.beginObject();
    // Whether a member named api_key goes up (the filter then drops it).
    let clientKey = false;
    // What the members below are looked up for, found in the same loop (the last of a name, as findMember).
    let so: Member | null = null;
    let hasMaxTokens = false;
    let hasTemperature = false;
    let hasTopP = false;
    for (let i = 0; i < members.length; i++) {
      const m = unchecked(members[i]);
      const k = m.key;
      if (k == "stream_options") so = m;
      else if (k == "max_tokens" || k == "max_completion_tokens") hasMaxTokens = true;
      else if (k == "temperature") hasTemperature = true;
      else if (k == "top_p") hasTopP = true;
      if (k == "model" || this.isDropped(k)) continue;
      if (!embeddings && (k == "stream" || k == "stream_options")) continue;
      const to = this.renamed(k);
      if (to.length > 0) {
        if (findMember(members, to) != null) continue; // the real name wins
        w.key(to).rawRange(src, m.valueStart, m.valueEnd);
        if (to == CLIENT_KEY) clientKey = true;
        continue;
      }
      w.rawMember(src, m.keyStart, m.keyEnd, m.valueStart, m.valueEnd);
      if (k == CLIENT_KEY) clientKey = true;
    }
    w.fieldString("model", req.model);
    if (!embeddings) {
      w.fieldBool("stream", req.stream);
      // Whether json-as would read stream_options as an object (raw key, last one), without building the tree.
      const soSpan = so != null ? rawFind(src, rawStart(src), src.length, "stream_options") : -1;
      const soObj = soSpan >= 0 && rawKind(src, spanStart(soSpan)) == RawKind.Object;
      if (req.stream && this.acceptsStreamOptions(req)) {
        w.key("stream_options").beginObject();
        if (so != null && soObj) copyMembersExcept(w, src, so.valueStart, so.valueEnd, "include_usage");
        w.fieldBool("include_usage", true);
        w.endObject();
      } else if (req.stream && so != null && soObj && !this.isDropped("stream_options")) {
        // The gateway does not add what this upstream may refuse, but the client's own ask goes up.
        w.rawMember(src, so.keyStart, so.keyEnd, so.valueStart, so.valueEnd);
      }
      if (!hasMaxTokens && req.maxTokens != UNSET) w.fieldInt(this.maxTokensField(), req.maxTokens);
      if (!hasTemperature && !isNaN(req.temperature)) w.fieldNumber("temperature", req.temperature);
      if (!hasTopP && !isNaN(req.topP)) w.fieldNumber("top_p", req.topP);
    }
    w.endObject();
    const r = TranslatedRequest.ok(w.out.view());
    r.noClientKey = !clientKey;
    return r;
  }

  /**
   * translateMembers' output, byte for byte, read on the validator's spans (every top-level
   * name plain: plainNames). The members written as JsonWriter writes them: `{`, kept members
   * copied as `key:value` with commas, then the fields the gateway sets.
   */
  translateSpans(req: LlmRequest, spans: Array<i32>): TranslatedRequest {
    const src = req.raw;
    const p = src.dataStart;
    const sb = spans.dataStart;
    const embeddings = req.route == RouteType.Embeddings;
    const dropped = this.droppedKeys();
    const renames = this.renames();
    // A fresh buffer in the one builder (its earlier view went out with the last request). Not
    // cleared: only its view() goes out; it grows if the added fields need more than 256 bytes.
    const b = SPANS_OUT;
    b.restart(src.length + 256);
    b.byte(0x7b);
    let clientKey = false;
    // Index in spans of the last stream_options member, or -1.
    let so = -1;
    let hasMaxTokens = false;
    let hasTemperature = false;
    let hasTopP = false;
    let wrote = false;
    for (let i = 0; i + 3 < spans.length; i += 4) {
      const ks = at32(sb, i);
      const ke = at32(sb, i + 1);
      const vs = at32(sb, i + 2);
      const ve = at32(sb, i + 3);
      const s = ks + 1;
      const n = ke - 1 - s;
      const isSo = n == 14 && bytesAre(p, s, n, "stream_options");
      if (isSo) so = i;
      else if ((n == 10 && bytesAre(p, s, n, "max_tokens")) || (n == 21 && bytesAre(p, s, n, "max_completion_tokens"))) hasMaxTokens = true;
      else if (n == 11 && bytesAre(p, s, n, "temperature")) hasTemperature = true;
      else if (n == 5 && bytesAre(p, s, n, "top_p")) hasTopP = true;
      if ((n == 5 && bytesAre(p, s, n, "model")) || nameIn(p, s, n, dropped, 1)) continue;
      if (!embeddings && (isSo || (n == 6 && bytesAre(p, s, n, "stream")))) continue;
      const r = renames.length > 0 ? nameAt(p, s, n, renames, 2) : -1;
      if (r >= 0) {
        const to = unchecked(renames[r + 1]);
        if (hasName(p, spans, to)) continue; // the real name wins
        if (wrote) b.byte(0x2c);
        writeJsonString(b, to);
        b.byte(0x3a);
        b.range(src, vs, ve);
        wrote = true;
        if (to == CLIENT_KEY) clientKey = true;
        continue;
      }
      b.member(src, ks, ke, vs, ve, wrote);
      wrote = true;
      if (n == 7 && bytesAre(p, s, n, CLIENT_KEY)) clientKey = true;
    }
    b.bytes(wrote ? J_NEXT_MODEL : J_MODEL);
    writeJsonString(b, req.model);
    if (!embeddings) {
      b.bytes(req.stream ? J_STREAM_TRUE : J_STREAM_FALSE);
      // With plain names the last raw stream_options is the last decoded one (translateMembers' soSpan).
      const soObj = so >= 0 && rawKind(src, at32(sb, so + 2)) == RawKind.Object;
      if (req.stream && this.acceptsStreamOptions(req)) {
        b.bytes(J_STREAM_OPTIONS);
        // A writer inside the open object (no member yet: no comma before the first).
        const w = new JsonWriter(b);
        w.beginObject();
        if (soObj) copyMembersExcept(w, src, at32(sb, so + 2), at32(sb, so + 3), "include_usage");
        w.fieldBool("include_usage", true);
        w.endObject();
      } else if (req.stream && so >= 0 && soObj && !this.isDropped("stream_options")) {
        b.member(src, at32(sb, so), at32(sb, so + 1), at32(sb, so + 2), at32(sb, so + 3), true);
      }
      if (!hasMaxTokens && req.maxTokens != UNSET) {
        b.byte(0x2c);
        writeJsonString(b, this.maxTokensField());
        b.byte(0x3a);
        b.int(req.maxTokens);
      }
      if (!hasTemperature && !isNaN(req.temperature)) {
        b.bytes(J_TEMPERATURE);
        writeJsonNumber(b, req.temperature);
      }
      if (!hasTopP && !isNaN(req.topP)) {
        b.bytes(J_TOP_P);
        writeJsonNumber(b, req.topP);
      }
    }
    b.byte(0x7d);
    const out = TranslatedRequest.ok(b.view());
    out.noClientKey = !clientKey;
    return out;
  }

  /** The field that carries configured max_tokens. */
  maxTokensField(): string {
    return "max_tokens";
  }

  translateResponse(req: LlmRequest, body: Uint8Array): TranslatedResponse {
    // Read on the bytes: the body goes out unchanged, so no tree is built. The validator
    // records the top-level members as it goes (no second walk to find them).
    const top = rawStart(body);
    if (isSome(validateJsonMembers(body, DEFAULT_MAX_DEPTH, responseSpans)) || rawKind(body, top) != RawKind.Object) {
      return TranslatedResponse.fail("transformation failed from type " + this.name + "://" + routeTypeName(req.route) + ": response is not a JSON object");
    }
    const t = TOP;
    t.fromSpans(body, responseSpans);
    const r = new TranslatedResponse();
    if (req.route == RouteType.Embeddings) {
      if (kindOf(body, t.data) != RawKind.Array) return TranslatedResponse.fail("transformation failed from type " + this.name + "://" + routeTypeName(req.route) + ": 'data' not in " + routeTypeName(req.route) + " response");
    } else if (req.route != RouteType.Preserve) {
      if (kindOf(body, t.choices) != RawKind.Array) return TranslatedResponse.fail("transformation failed from type " + this.name + "://" + routeTypeName(req.route) + ": 'choices' not in " + routeTypeName(req.route) + " response");
    }
    if (t.usage >= 0) readOpenAiUsageRaw(body, spanStart(t.usage), spanEnd(t.usage), r.usage);
    if (kindOf(body, t.model) == RawKind.String) r.model = modelName(body, spanStart(t.model), spanEnd(t.model));
    // Already the OpenAI shape: passed through unchanged (Kong does the same).
    r.body = body;
    return r;
  }

  newStreamTranslator(req: LlmRequest): StreamTranslator {
    return new OpenAiStreamTranslator(req);
  }

  streamReportsUsage(): bool {
    return true;
  }
}

/** Spans of the top-level members an OpenAI-format response or chunk is read for (-1: absent). */
class TopSpans {
  choices: i64 = -1;
  data: i64 = -1;
  usage: i64 = -1;
  model: i64 = -1;
  error: i64 = -1;

  /** From the top-level member spans validateJsonMembers recorded (key literals with their quotes). */
  fromSpans(b: Uint8Array, spans: Array<i32>): void {
    this.choices = this.data = this.usage = this.model = this.error = -1;
    // Read in place: four i32 a member (a response has a handful of members, read once each).
    const sp = spans.dataStart;
    const end = sp + (<usize>(spans.length & ~3) << 2);
    const p = b.dataStart;
    for (let q = sp; q < end; q += 16) {
      const ks = load<i32>(q) + 1;
      const n = load<i32>(q, 4) - 1 - ks;
      // Told apart by length and first byte before the bytes are compared.
      if (n < 4 || n > 7) continue;
      const c = load<u8>(p + <usize>ks);
      if (c != 0x63 && c != 0x75 && c != 0x6d && c != 0x64 && c != 0x65) continue; // c u m d e
      const span = (<i64>load<i32>(q, 8) << 32) | <i64>load<u32>(q, 12);
      this.take(p, ks, n, span);
    }
  }

  /** The member with raw key p[ks, ks + n) and value span `span` (the last of duplicates wins, as in json-as). */
  private take(p: usize, ks: i32, n: i32, span: i64): void {
    if (n == 7 && bytesAre(p, ks, n, "choices")) this.choices = span;
    else if (n == 5 && bytesAre(p, ks, n, "usage")) this.usage = span;
    else if (n == 5 && bytesAre(p, ks, n, "model")) this.model = span;
    else if (n == 4 && bytesAre(p, ks, n, "data")) this.data = span;
    else if (n == 5 && bytesAre(p, ks, n, "error")) this.error = span;
  }
}

// Scratch of translateResponse and the stream translator: the validator's member spans and their
// reading (a VM runs one call at a time).
const responseSpans = new Array<i32>();
const TOP = new TopSpans();

// The model the last answer named: a route's answers nearly always name the same one, so its
// bytes are compared with it instead of decoding a new string (and the same string lets
// Secrets#maskString answer from its last result).
let lastModel = "";

/** The string literal b[start, end) decoded: the last answer's model when the bytes are its. */
function modelName(b: Uint8Array, start: i32, end: i32): string {
  if (!rawStringEquals(b, start, end, lastModel)) lastModel = rawString(b, start, end);
  return lastModel;
}

/** The kind of the value at `span` (a member span inside b), None when absent: rawKind's answer without its call. */
@inline function kindOf(b: Uint8Array, span: i64): RawKind {
  if (span < 0) return RawKind.None;
  const c = load<u8>(b.dataStart + <usize>spanStart(span));
  if (c == 0x22) return RawKind.String;
  if (c == 0x7b) return RawKind.Object;
  if (c == 0x5b) return RawKind.Array;
  return rawKind(b, spanStart(span));
}

/** The message of an `{"error":…}` event: error.message, or error as a string. */
function streamErrorMessage(data: Uint8Array): string {
  const o = parseValidatedObject(data);
  if (o != null) {
    const e = getObj(o, "error");
    const m = e != null ? getString(e, "message") : getString(o, "error");
    if (m != null && m.length > 0) return m;
  }
  return "upstream stream error";
}

/** The array b[start, end) has no element. */
function isEmptyArray(b: Uint8Array, start: i32, end: i32): bool {
  const it = new RawArrayIter(b, start, end);
  return !it.next();
}

/** Copies the members of the object value src[vs, ve) except `skip`, into the open object of w. */
function copyMembersExcept(w: JsonWriter, src: Uint8Array, vs: i32, ve: i32, skip: string): void {
  const inner = src.subarray(vs, ve);
  const ms = scanObject(inner);
  if (ms == null) return;
  for (let i = 0; i < ms.length; i++) {
    const x = unchecked(ms[i]);
    if (x.key == skip) continue;
    w.rawMember(inner, x.keyStart, x.keyEnd, x.valueStart, x.valueEnd);
  }
}

/** Whether no top-level name (raw key literal in spans) holds a backslash: its bytes are then its decoded name. */
function plainNames(src: Uint8Array, spans: Array<i32>): bool {
  const sb = spans.dataStart;
  const p = src.dataStart;
  for (let i = 0; i + 3 < spans.length; i += 4) {
    for (let k = at32(sb, i) + 1, e = at32(sb, i + 1) - 1; k < e; k++) if (load<u8>(p + <usize>k) == 0x5c) return false;
  }
  return true;
}

/** The index in `names` (every `step`-th entry) of the name whose bytes are p[s, s+n), or -1. */
function nameAt(p: usize, s: i32, n: i32, names: string[], step: i32): i32 {
  for (let i = 0; i < names.length; i += step) if (bytesAre(p, s, n, unchecked(names[i]))) return i;
  return -1;
}

@inline function nameIn(p: usize, s: i32, n: i32, names: string[], step: i32): bool {
  return nameAt(p, s, n, names, step) >= 0;
}

/** Whether a top-level member (plain names) is named `name`. */
function hasName(p: usize, spans: Array<i32>, name: string): bool {
  const sb = spans.dataStart;
  for (let i = 0; i + 3 < spans.length; i += 4) {
    const s = at32(sb, i) + 1;
    if (bytesAre(p, s, at32(sb, i + 1) - 1 - s, name)) return true;
  }
  return false;
}

/** translateSpans' builder, restarted on a fresh buffer each time (one object fewer a request). */
const SPANS_OUT = new ByteBuilder(16);

/** The default dropped members, and no renames. */
const DROPPED = ["top_k"];
const NO_RENAMES = new Array<string>();

// The fixed fragments translateSpans writes (as JsonWriter writes them).
const J_MODEL = utf8Bytes('"model":');
const J_NEXT_MODEL = utf8Bytes(',"model":');
const J_STREAM_TRUE = utf8Bytes(',"stream":true');
const J_STREAM_FALSE = utf8Bytes(',"stream":false');
const J_STREAM_OPTIONS = utf8Bytes(',"stream_options":');
const J_TEMPERATURE = utf8Bytes(',"temperature":');
const J_TOP_P = utf8Bytes(',"top_p":');

/**
 * OpenAI SSE passed through event by event: usage and model are read from each chunk,
 * the usage-only chunk (`choices: []` + usage) is dropped unless the client asked for
 * it, and the end marker is normalised to `data: [DONE]\n\n`.
 */
export class OpenAiStreamTranslator extends SseStreamTranslator {
  onEvent(ev: SseEvent): string | null {
    if (ev.isDone()) {
      this.done();
      return null;
    }
    const data = ev.data;
    if (data.length == 0) return null;
    // Read on the bytes (the event goes out unchanged): validate (the validator records the
    // top-level members), then only the members needed.
    const err = validateJsonMembers(data, DEFAULT_MAX_DEPTH, responseSpans);
    if (isSome(err)) return "upstream sent an invalid stream event: " + err!;
    const top = rawStart(data);
    if (rawKind(data, top) != RawKind.Object) return "upstream sent an invalid stream event: expected a JSON object";
    const t = TOP;
    t.fromSpans(data, responseSpans);
    const choicesArr = kindOf(data, t.choices) == RawKind.Array;
    // A mid-stream error event (`{"error":{…}}`) ends the stream with an error frame.
    if (!choicesArr && kindOf(data, t.error) != RawKind.None) return streamErrorMessage(data);
    const hasUsage = kindOf(data, t.usage) == RawKind.Object;
    if (hasUsage) readOpenAiUsageRaw(data, spanStart(t.usage), spanEnd(t.usage), this.usage);
    if (kindOf(data, t.model) == RawKind.String) {
      const ms = spanStart(t.model);
      const me = spanEnd(t.model);
      // Most streams repeat one model name: decode it only when it changes.
      if (me - ms > 2 && !rawStringEquals(data, ms, me, this.model)) this.model = rawString(data, ms, me);
    }
    if (this.text != null && choicesArr) {
      const o = parseValidatedObject(data);
      const choices = o != null ? getArr(o, "choices") : null;
      if (choices != null) this.collectDelta(choices);
    }
    if (choicesArr && isEmptyArray(data, spanStart(t.choices), spanEnd(t.choices))) {
      // The usage-only chunk the gateway asked for, and Azure's prompt-filter annotation
      // chunk (no choices, no usage, empty object/id), are not OpenAI chunks a client expects.
      if (!hasUsage || !this.req.clientIncludeUsage) return null;
    }
    this.out.str("data: ");
    this.out.bytes(data);
    this.out.str("\n\n");
    return null;
  }

  private collectDelta(choices: JSON.Arr): void {
    const c0 = valueObj(arrAt(choices, 0));
    if (c0 == null) return;
    const delta = getObj(c0, "delta");
    const s = delta != null ? getString(delta, "content") : getString(c0, "text");
    if (s != null) this.collect(s);
  }
}
