// Validation of the client's OpenAI-format body into an LlmRequest: Kong's classification
// and model rules, plus type checks with messages that say what is wrong. Never traps.

import { arrAt, getArr, valueArr, valueObj, valueString } from "../../json";
import { DEFAULT_MAX_DEPTH } from "../../json/read";
import { validateJsonMembers } from "../../json/validate";
import { ambiguousMember } from "../../json/names";
import { bytesAre, RawArrayIter, RawKind, RawObjectIter, rawFind, rawKind, rawNumber, rawSkipValue, rawStart, rawString, rawStringEquals, skipSpaceAt, spanEnd, spanStart, word8, wordAt } from "../../json/raw";
import { MessageJudge, ScanResult, scanRequest } from "./request-scan";
import { at32 } from "../json-scan";
import { Header, LlmRequest, RouteType, routeTypeName, UNSET } from "../provider";
import { AiProxyConfig, STREAMING_ALWAYS, STREAMING_DENY } from "./config";

/** The validated request, or the status and message of the error reply. */
export class RequestResult {
  req: LlmRequest | null = null;
  status: u32 = 400;
  message: string = "";
}

function fail(status: u32, message: string): RequestResult {
  const r = new RequestResult();
  r.status = status;
  r.message = message;
  return r;
}

const ROLES = ["system", "developer", "user", "assistant", "tool", "function"];

/** Spans of the top-level members validateRequest reads (-1 when absent; the last duplicate wins, as in json-as). */
class TopMembers {
  messages: i64 = -1;
  prompt: i64 = -1;
  input: i64 = -1;
  model: i64 = -1;
  stream: i64 = -1;
  streamOptions: i64 = -1;
  maxTokens: i64 = -1;
  maxCompletionTokens: i64 = -1;
  temperature: i64 = -1;
  topP: i64 = -1;
  topK: i64 = -1;
}

/** topMembers' answer, reused (validateRequest reads it before the next call). */
const TOP_MEMBERS = new TopMembers();

/** Picks the members validateRequest reads out of the validator's top-level spans. */
function topMembers(b: Uint8Array, spans: Array<i32>): TopMembers {
  const t = TOP_MEMBERS;
  t.messages = t.prompt = t.input = t.model = t.stream = t.streamOptions = -1;
  t.maxTokens = t.maxCompletionTokens = t.temperature = t.topP = t.topK = -1;
  const p = b.dataStart;
  const sb = spans.dataStart;
  for (let i = 0; i + 3 < spans.length; i += 4) {
    // The raw key bytes inside the quotes, as json-as matches keys.
    const ks = at32(sb, i) + 1;
    const n = at32(sb, i + 1) - 1 - ks;
    const span = (<i64>at32(sb, i + 2) << 32) | <i64>(<u32>at32(sb, i + 3));
    // Dispatch on length first: most keys are rejected without a byte compare.
    if (n == 8 && bytesAre(p, ks, n, "messages")) t.messages = span;
    else if (n == 6 && bytesAre(p, ks, n, "prompt")) t.prompt = span;
    else if (n == 5 && bytesAre(p, ks, n, "input")) t.input = span;
    else if (n == 5 && bytesAre(p, ks, n, "model")) t.model = span;
    else if (n == 6 && bytesAre(p, ks, n, "stream")) t.stream = span;
    else if (n == 14 && bytesAre(p, ks, n, "stream_options")) t.streamOptions = span;
    else if (n == 10 && bytesAre(p, ks, n, "max_tokens")) t.maxTokens = span;
    else if (n == 21 && bytesAre(p, ks, n, "max_completion_tokens")) t.maxCompletionTokens = span;
    else if (n == 11 && bytesAre(p, ks, n, "temperature")) t.temperature = span;
    else if (n == 5 && bytesAre(p, ks, n, "top_p")) t.topP = span;
    else if (n == 5 && bytesAre(p, ks, n, "top_k")) t.topK = span;
  }
  return t;
}

@inline function kindAt(b: Uint8Array, span: i64): RawKind {
  return span < 0 ? RawKind.None : rawKind(b, spanStart(span));
}

/** Present and not null (json-as: has(key) && !isNull(get(key))). */
@inline function present(b: Uint8Array, span: i64): bool {
  return span >= 0 && rawKind(b, spanStart(span)) != RawKind.Null;
}

/** The index in ROLES of the role literal b[start, end), or -1. */
function roleIndex(b: Uint8Array, start: i32, end: i32): i32 {
  // The literal's bytes as they are (what clients send), by length then one word compare:
  // equal bytes decode equal.
  const n = end - start - 2;
  const len = b.length;
  if (start >= 0 && end <= len) {
    const p = b.dataStart;
    const w = wordAt(p, start + 1, min(n, 8), len);
    if (n == 4) {
      if (w == W_USER) return ROLE_USER;
      if (w == W_TOOL) return ROLE_TOOL;
    } else if (n == 6) {
      if (w == W_SYSTEM) return ROLE_SYSTEM;
    } else if (n == 8) {
      if (w == W_FUNCTION) return ROLE_FUNCTION;
    } else if (n == 9) {
      const last = load<u8>(p + <usize>(start + 9));
      if (w == W_ASSISTANT && last == 0x74) return ROLE_ASSISTANT; // assistan|t
      if (w == W_DEVELOPER && last == 0x72) return ROLE_DEVELOPER; // develope|r
    }
  }
  // Escapes (or another name): compare decoded.
  for (let k = 0; k < ROLES.length; k++) {
    if (rawStringEquals(b, start, end, unchecked(ROLES[k]))) return k;
  }
  return -1;
}

// Indexes in ROLES, and word8 of each role's first 8 characters.
const ROLE_SYSTEM = 0;
const ROLE_DEVELOPER = 1;
const ROLE_USER = 2;
const ROLE_ASSISTANT = 3;
const ROLE_TOOL = 4;
const ROLE_FUNCTION = 5;
const W_SYSTEM = word8("system");
const W_DEVELOPER = word8("developer");
const W_USER = word8("user");
const W_ASSISTANT = word8("assistant");
const W_TOOL = word8("tool");
const W_FUNCTION = word8("function");

/** Where the message checkMessage walked ends (just past its `}`), or -1 when it was not walked to the end. */
let messageEnd: i32 = -1;

/**
 * null when the message starting at b[start] (index i, inside an array ending by `end`) is
 * acceptable, else what is wrong with it. Walks the message once; sets messageEnd.
 */
function checkMessage(b: Uint8Array, start: i32, end: i32, i: i32): string | null {
  messageEnd = -1;
  if (rawKind(b, start) != RawKind.Object) return "messages[" + i.toString() + "] must be an object";
  let role: i64 = -1;
  let toolCallId: i64 = -1;
  let content: i64 = -1;
  const it = new RawObjectIter(b, start, end);
  while (it.next()) {
    const n = it.keyEnd - it.keyStart;
    if (n == 4 && it.keyIs("role")) role = it.span;
    else if (n == 7 && it.keyIs("content")) content = it.span;
    else if (n == 12 && it.keyIs("tool_call_id")) toolCallId = it.span;
  }
  messageEnd = it.close;
  const e = judgeMessage(b, role, content, toolCallId, i);
  if (e != null || kindAt(b, content) != RawKind.Array) return e;
  const parts = new RawArrayIter(b, spanStart(content), spanEnd(content));
  let j = 0;
  while (parts.next()) {
    const pe = checkPart(b, parts.valueStart, parts.valueEnd);
    if (pe != null) return "messages[" + i.toString() + "].content[" + j.toString() + "]" + pe!;
    j++;
  }
  return null;
}

/**
 * What is wrong with message i given the spans of its role, content and tool_call_id (-1 when
 * absent), or null; its content parts (when content is an array) are judged apart.
 */
function judgeMessage(b: Uint8Array, role: i64, content: i64, toolCallId: i64, i: i32): string | null {
  if (kindAt(b, role) != RawKind.String) return "messages[" + i.toString() + "].role must be a string";
  const r = roleIndex(b, spanStart(role), spanEnd(role));
  if (r < 0) {
    return "messages[" + i.toString() + "].role must be one of system, developer, user, assistant, tool, function (got '" + rawString(b, spanStart(role), spanEnd(role)) + "')";
  }
  if (r == ROLE_TOOL && kindAt(b, toolCallId) != RawKind.String) return "messages[" + i.toString() + "].tool_call_id must be a string for role tool";
  const ck = kindAt(b, content);
  if (ck == RawKind.None || ck == RawKind.Null) {
    if (r == ROLE_ASSISTANT) return null; // tool_calls only
    return "messages[" + i.toString() + "].content is required for role " + unchecked(ROLES[r]);
  }
  if (ck != RawKind.String && ck != RawKind.Array) return "messages[" + i.toString() + "].content must be a string or an array of content parts";
  return null;
}

/** null when a content part is acceptable, else the tail of the message. */
function checkPart(b: Uint8Array, start: i32, end: i32): string | null {
  if (rawKind(b, start) != RawKind.Object) return " must be an object";
  let type: i64 = -1;
  let text: i64 = -1;
  const it = new RawObjectIter(b, start, end);
  while (it.next()) {
    const n = it.keyEnd - it.keyStart;
    if (n == 4 && it.keyIs("type")) type = it.span;
    else if (n == 4 && it.keyIs("text")) text = it.span;
  }
  return judgePart(b, type, text);
}

/** checkPart's verdict given the spans of the part's type and text (-1 when absent). */
function judgePart(b: Uint8Array, type: i64, text: i64): string | null {
  if (kindAt(b, type) != RawKind.String) return ".type must be a string";
  if (rawStringEquals(b, spanStart(type), spanEnd(type), "text") && kindAt(b, text) != RawKind.String) return ".text must be a string";
  return null;
}

/** What is wrong with the array of messages at span `messages`, or null. */
function checkMessages(body: Uint8Array, messages: i64): string | null {
  // One walk over the array: each message object is checked while it is skipped.
  const p = body.dataStart;
  const mEnd = spanEnd(messages);
  let at = skipSpaceAt(p, spanStart(messages) + 1, mEnd);
  let i = 0;
  while (at < mEnd && load<u8>(p + <usize>at) != 0x5d) {
    const e = checkMessage(body, at, mEnd, i);
    if (e != null) return e;
    // Past this element (checkMessage only walks objects), then past the comma.
    const next = messageEnd >= 0 ? messageEnd : rawSkipValue(body, at, mEnd);
    if (next < 0) break;
    at = skipSpaceAt(p, next, mEnd);
    if (at < mEnd && load<u8>(p + <usize>at) == 0x2c) at = skipSpaceAt(p, at + 1, mEnd);
    i++;
  }
  if (i == 0) return "request body doesn't contain valid prompts: 'messages' is empty";
  return null;
}

/** The slow path's rules for the one-walk scan (request-scan.ts), as yes or no. */
class Judge extends MessageJudge {
  message(b: Uint8Array, role: i64, content: i64, toolCallId: i64): bool {
    // The common message first, on the bytes: a string role other than tool (no tool_call_id
    // needed) with string content, which judgeMessage accepts. The scan's spans are in bounds.
    if (role >= 0 && content >= 0) {
      const p = b.dataStart;
      const rs = spanStart(role);
      if (load<u8>(p + <usize>rs) == 0x22 && load<u8>(p + <usize>spanStart(content)) == 0x22) {
        const r = roleIndex(b, rs, spanEnd(role));
        if (r >= 0 && r != ROLE_TOOL) return true;
      }
    }
    return judgeMessage(b, role, content, toolCallId, 0) == null;
  }
  part(b: Uint8Array, type: i64, text: i64): bool {
    return judgePart(b, type, text) == null;
  }
}

const JUDGE = new Judge();
/** Four offsets per top-level member: room for 8 members. */
const SPANS_CAPACITY = 32;
/** The type errors of the optional members, reused (only the first becomes the reply). */
const ERRORS = new Array<string>();
const SCAN = new ScanResult();

/** An optional number member: NaN when absent/null, or records the type error. */
function optNumber(b: Uint8Array, span: i64, key: string, err: string[]): f64 {
  const k = kindAt(b, span);
  if (k == RawKind.None || k == RawKind.Null) return NaN;
  if (k != RawKind.Number) {
    err.push("'" + key + "' must be a number");
    return NaN;
  }
  return rawNumber(b, spanStart(span), spanEnd(span));
}

function optInt(b: Uint8Array, span: i64, key: string, min: f64, err: string[]): i64 {
  const n = optNumber(b, span, key, err);
  if (isNaN(n)) return UNSET;
  if (n != Math.floor(n) || n < min || n > 2147483647.0) {
    err.push("'" + key + "' must be an integer >= " + (<i64>min).toString());
    return UNSET;
  }
  return <i64>n;
}

/** 1 for true, 0 for false, -1 when not a boolean. */
function boolAt(b: Uint8Array, span: i64): i32 {
  const k = kindAt(b, span);
  if (k == RawKind.True) return 1;
  if (k == RawKind.False) return 0;
  return -1;
}

/** Whether validateRequest's one walk takes `body` (the tests check that it does where it should). */
export function oneWalkTakes(body: Uint8Array): bool {
  const spans = new Array<i32>(SPANS_CAPACITY);
  spans.length = 0;
  return scanRequest(body, DEFAULT_MAX_DEPTH, spans, JUDGE, SCAN);
}

/**
 * Validates `body` for the configured route. `created`/`requestId` seed the response
 * fields; `query` is what the upstream request carries (for providers that care).
 * Reads the bytes directly (one walk, request-scan.ts, then only the members it needs); the
 * json-as tree of the body is built later, only if a provider asks for req.body. `oneWalk`
 * false skips the one walk (tests compare the two paths).
 */
export function validateRequest(body: Uint8Array, cfg: AiProxyConfig, created: i64, requestId: string, query: Header[], oneWalk: bool = true): RequestResult {
  if (body.length == 0) return fail(400, "request body doesn't contain valid prompts: the body is empty");
  // Room for a body's usual few members up front (push would regrow it several times).
  const spans = new Array<i32>(SPANS_CAPACITY);
  spans.length = 0;
  // One walk for the common body; any doubt and the three walks below find the exact error.
  const fast = oneWalk && scanRequest(body, DEFAULT_MAX_DEPTH, spans, JUDGE, SCAN);
  if (!fast) {
    const verr = validateJsonMembers(body, DEFAULT_MAX_DEPTH, spans);
    if (verr != null) return fail(400, "request body is not valid JSON: " + verr!);
    if (rawKind(body, rawStart(body)) != RawKind.Object) return fail(400, "request body must be a JSON object");
    // What leaves the gateway is unambiguous: every reader (the filters, the provider's parser)
    // sees the same members.
    const ambiguous = ambiguousMember(body);
    if (ambiguous != null) return fail(400, "request body is ambiguous: " + ambiguous!);
  }
  const t = topMembers(body, spans);
  const route = cfg.route;
  const hasMessages = present(body, t.messages);
  const hasPrompt = present(body, t.prompt);
  const hasInput = present(body, t.input);
  if (hasMessages && hasPrompt) return fail(400, "request matches multiple LLM request formats");
  let bodyFormat: i32 = -1;
  if (hasMessages) bodyFormat = RouteType.Chat;
  else if (hasPrompt) bodyFormat = RouteType.Completions;
  else if (hasInput) bodyFormat = RouteType.Embeddings;
  if (bodyFormat >= 0 && bodyFormat != <i32>route) {
    return fail(400, "[" + routeTypeName(<RouteType>bodyFormat) + "] message format is not compatible with [" + routeTypeName(route) + "] route type");
  }

  if (route == RouteType.Chat) {
    if (!hasMessages) return fail(400, "request body doesn't contain valid prompts: 'messages' is missing");
    if (kindAt(body, t.messages) != RawKind.Array) return fail(400, "'messages' must be an array of message objects");
    // The scan judged every message already when it could.
    if (!(fast && SCAN.messagesChecked)) {
      const e = checkMessages(body, t.messages);
      if (e != null) return fail(400, e!);
    }
  } else if (route == RouteType.Completions) {
    if (!hasPrompt) return fail(400, "request body doesn't contain valid prompts: 'prompt' is missing");
    const pk = kindAt(body, t.prompt);
    if (pk != RawKind.String) {
      if (pk != RawKind.Array) return fail(400, "'prompt' must be a string or an array of strings");
      const arr = new RawArrayIter(body, spanStart(t.prompt), spanEnd(t.prompt));
      while (arr.next()) {
        if (rawKind(body, arr.valueStart) != RawKind.String) return fail(400, "'prompt' must be a string or an array of strings");
      }
    }
  } else if (route == RouteType.Embeddings) {
    if (!hasInput) return fail(400, "request body doesn't contain valid prompts: 'input' is missing");
    const ik = kindAt(body, t.input);
    if (ik != RawKind.String && ik != RawKind.Array) return fail(400, "'input' must be a string or an array");
  }

  // model (Kong: the configured model wins; naming another one is refused)
  const err = ERRORS;
  err.length = 0;
  let model = cfg.model.name;
  if (present(body, t.model)) {
    if (kindAt(body, t.model) != RawKind.String) return fail(400, "'model' must be a string");
    const ms = spanStart(t.model);
    const me = spanEnd(t.model);
    const nonEmpty = me - ms > 2;
    if (model.length > 0 && nonEmpty && !cfg.targetModelWins && !rawStringEquals(body, ms, me, model)) return fail(400, "cannot use own model - must be: " + model);
    if (model.length == 0) model = rawString(body, ms, me);
  }
  if (model.length == 0) return fail(400, "model parameter not found in request, nor in gateway configuration");

  const req = new LlmRequest();
  req.route = route;
  req.setValidatedRaw(body, spans);
  req.model = model;
  req.created = created;
  req.requestId = requestId;
  req.upstreamQuery = query;

  if (route != RouteType.Embeddings) {
    let stream = false;
    if (present(body, t.stream)) {
      const sb = boolAt(body, t.stream);
      if (sb < 0) return fail(400, "'stream' must be a boolean");
      stream = sb == 1;
    }
    if (stream && cfg.responseStreaming == STREAMING_DENY) return fail(400, "response streaming is not enabled for this LLM");
    if (cfg.responseStreaming == STREAMING_ALWAYS) stream = true;
    req.stream = stream;
    if (present(body, t.streamOptions)) {
      if (kindAt(body, t.streamOptions) != RawKind.Object) return fail(400, "'stream_options' must be an object");
      const iu = rawFind(body, spanStart(t.streamOptions), spanEnd(t.streamOptions), "include_usage");
      if (present(body, iu) && boolAt(body, iu) < 0) return fail(400, "'stream_options.include_usage' must be a boolean");
      req.clientIncludeUsage = boolAt(body, iu) == 1;
    }
    // Request values win; configured options fill what the request lacks.
    const opt = cfg.model.options;
    const mt = optInt(body, t.maxTokens, "max_tokens", 1, err);
    const mct = optInt(body, t.maxCompletionTokens, "max_completion_tokens", 1, err);
    req.maxTokens = mt != UNSET ? mt : mct != UNSET ? mct : opt.maxTokens;
    const tv = optNumber(body, t.temperature, "temperature", err);
    req.temperature = !isNaN(tv) ? tv : opt.temperature;
    const tp = optNumber(body, t.topP, "top_p", err);
    req.topP = !isNaN(tp) ? tp : opt.topP;
    const tk = optInt(body, t.topK, "top_k", 0, err);
    req.topK = tk != UNSET ? tk : opt.topK;
    if (err.length > 0) return fail(400, unchecked(err[0]));
  }

  const r = new RequestResult();
  r.req = req;
  return r;
}

/** The prompt text (for Kong's token estimate when a provider reports no usage). */
export function promptText(req: LlmRequest): string {
  const o = req.body;
  let s = "";
  const msgs = getArr(o, "messages");
  if (msgs != null) {
    for (let i = 0; i < msgs.length; i++) {
      const m = valueObj(arrAt(msgs, i));
      if (m == null) continue;
      const c = m.get("content");
      const cs = valueString(c);
      if (cs != null) {
        s += cs + " ";
        continue;
      }
      const parts = valueArr(c);
      if (parts == null) continue;
      for (let j = 0; j < parts.length; j++) {
        const part = valueObj(arrAt(parts, j));
        if (part == null) continue;
        const t = valueString(part.get("text"));
        if (t != null) s += t + " ";
      }
    }
    return s;
  }
  const key = req.route == RouteType.Embeddings ? "input" : "prompt";
  const v = o.get(key);
  const vs = valueString(v);
  if (vs != null) return vs;
  const arr = valueArr(v);
  if (arr != null) {
    for (let i = 0; i < arr.length; i++) {
      const e = valueString(arrAt(arr, i));
      if (e != null) s += e + " ";
    }
  }
  return s;
}
