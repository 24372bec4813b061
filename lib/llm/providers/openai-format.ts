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
import { ByteBuilder, JsonWriter } from "../json-writer";
import { findMember, Member, scanObject } from "../json-scan";
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
  isDropped(key: string): bool {
    return key == "top_k";
  }

  /** A member name to send under another name (Mistral: max_completion_tokens → max_tokens); "" keeps it. */
  renamed(key: string): string {
    return "";
  }

  translateRequest(req: LlmRequest): TranslatedRequest {
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
        if (so != null && soObj) copyMembersExcept(w, src, so, "include_usage");
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

/** Copies the members of the object value `m` (in src) except `skip`, into the open object of w. */
function copyMembersExcept(w: JsonWriter, src: Uint8Array, m: Member, skip: string): void {
  const inner = src.subarray(m.valueStart, m.valueEnd);
  const ms = scanObject(inner);
  if (ms == null) return;
  for (let i = 0; i < ms.length; i++) {
    const x = unchecked(ms[i]);
    if (x.key == skip) continue;
    w.rawMember(inner, x.keyStart, x.keyEnd, x.valueStart, x.valueEnd);
  }
}

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
