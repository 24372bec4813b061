// The per-request AI analytics record, in Kong's field names (reference §12), written as
// filter state with set_property. Envoy runs access loggers before the filters' on_log,
// so the filter writes this when the response completes, not in on_log.
//
// Keys (filter state `wasm.<key>`):
//   ai.log                 one JSON record {"proxy":{"meta":{…},"usage":{…},"payload":{…}}}
//                          (only with logging.log_statistics; payload only with log_payloads)
//   ai.target, ai.tries    ai-proxy-advanced only: the target that served and the tries it took
//   ai.provider_name, ai.request_model, ai.response_model, ai.request_mode,
//   ai.prompt_tokens, ai.completion_tokens, ai.total_tokens, ai.llm_latency (ms),
//   ai.time_per_token (ms), ai.cost, ai.status      always, as plain text, for other filters
//   ai.error_type          when a 2xx answer failed on the way (upstream_stream_error,
//                          upstream_stream_incomplete, upstream_bad_response)
//   ai.facts               the same facts packed for ai-metrics, with other writers' (facts.ts)
//
// The transformers write the same keys under their own prefix (AnalyticsKeys):
//   ai.ai-request-transformer.log = {"ai-request-transformer":{…}}, ai.ai-request-transformer.prompt_tokens, …

import { HttpContext } from "../runtime";
import { proxy_set_property } from "../abi/imports";
import { ByteBuilder, decimalAt, writeJsonString } from "../llm/json-writer";
import { Usage } from "../llm/provider";
import { beginFact, count, endFact, FACT_RECORD, MAX_NANO, parseCostNano, R_COMPLETION, R_COST, R_LABELS, R_LATENCY, R_PROMPT, R_STATUS, R_TOTAL } from "./facts";
import { dtoa_buffered } from "util/number";

/** A filter-state key as UTF-8 made once (per writer, not per request), with where it lies. */
class Key {
  readonly bytes: ArrayBuffer;
  readonly ptr: usize;
  readonly len: usize;
  constructor(s: string) {
    this.bytes = String.UTF8.encode(s);
    this.ptr = changetype<usize>(this.bytes);
    this.len = <usize>this.bytes.byteLength;
  }
}
// ai-proxy-advanced's: the target that served and the tries it took.
const K_TARGET = new Key("ai.target");
const K_TRIES = new Key("ai.tries");

/**
 * The filter-state keys one writer uses. ai-proxy writes under "ai." with the log record named
 * "proxy"; the transformers under "ai.<plugin>." (Kong's `ai.ai-request-transformer`).
 */
export class AnalyticsKeys {
  providerName: Key;
  requestModel: Key;
  responseModel: Key;
  requestMode: Key;
  promptTokens: Key;
  completionTokens: Key;
  totalTokens: Key;
  llmLatency: Key;
  timePerToken: Key;
  cost: Key;
  status: Key;
  errorType: Key;
  log: Key;
  /** The prefix's UTF-8: the id of this writer's record in `ai.facts`. */
  prefixBytes: Key;

  /** `prefix` ends with "."; `logName` is the record's top-level member in the `log` JSON. */
  constructor(
    public readonly prefix: string,
    public readonly logName: string,
  ) {
    this.providerName = new Key(prefix + "provider_name");
    this.requestModel = new Key(prefix + "request_model");
    this.responseModel = new Key(prefix + "response_model");
    this.requestMode = new Key(prefix + "request_mode");
    this.promptTokens = new Key(prefix + "prompt_tokens");
    this.completionTokens = new Key(prefix + "completion_tokens");
    this.totalTokens = new Key(prefix + "total_tokens");
    this.llmLatency = new Key(prefix + "llm_latency");
    this.timePerToken = new Key(prefix + "time_per_token");
    this.cost = new Key(prefix + "cost");
    this.status = new Key(prefix + "status");
    this.errorType = new Key(prefix + "error_type");
    this.log = new Key(prefix + "log");
    this.prefixBytes = new Key(prefix);
  }
}

/** ai-proxy's keys: `ai.*`, the record `{"proxy":{…}}` in `ai.log`. */
export const PROXY_KEYS = new AnalyticsKeys("ai.", "proxy");

export class Analytics {
  /** Where write() puts the record (ai-proxy's keys unless a transformer sets its own). */
  keys: AnalyticsKeys = PROXY_KEYS;
  pluginId: string = "";
  provider: string = "";
  requestModel: string = "";
  responseModel: string = "";
  /** "oneshot" or "stream". */
  requestMode: string = "oneshot";
  usage: Usage = new Usage();
  latencyMs: i64 = 0;
  /** Stream only: ms until the first body chunk ( -1 = not a stream). */
  timeToFirstTokenMs: i64 = -1;
  cost: f64 = 0;
  status: u32 = 0;
  /** Set when the client got no usable answer although the status says success (a broken stream or body). */
  errorType: string = "";
  /** operationOfPath of the :path sent upstream, for ai-metrics (facts.ts L_OPERATION); "" when unknown. */
  operation: string = "";
  /** ai-proxy-advanced: which target served (its description, else targets[N]) and after how many tries; 0 = not set. */
  target: string = "";
  tries: i32 = 0;
  azureInstance: string = "";
  azureDeployment: string = "";
  azureApiVersion: string = "";
  requestPayload: string | null = null;
  responsePayload: string | null = null;

  /** e2e latency ÷ completion tokens; 0 without tokens (Kong's llm_tpot_latency). */
  get timePerToken(): f64 {
    const c = this.usage.completionTokens;
    return c > 0 ? <f64>this.latencyMs / <f64>c : 0;
  }

  /**
   * The `ai` record as JSON (Kong's `ai` log table), written as constant fragments and escaped
   * values (a JsonWriter's key escaping and comma tracking were a third of write()'s time; the
   * analytics-check test filter compares the two byte for byte).
   */
  toJson(withPayload: bool): ArrayBuffer {
    const b = new ByteBuilder(512);
    this.writeJson(b, withPayload, false);
    return b.buf.buffer.slice(0, b.len);
  }

  /**
   * toJson's bytes appended to `b`. With `fromValues` (write(), right after it wrote the key
   * values into `b`), the values the keys hold are copied from there instead of written again:
   * the numbers' text is the same, and a string whose bytes need no JSON escape is its bytes in
   * quotes (the analytics-check test filter compares `ai.log` with toJson).
   */
  private writeJson(b: ByteBuilder, withPayload: bool, fromValues: bool): void {
    b.byte(0x7b);
    writeJsonString(b, this.keys.logName);
    frag(b, J_META);
    writeJsonString(b, this.pluginId);
    frag(b, J_PROVIDER);
    if (this.provider.length == 0) writeJsonString(b, "UNSPECIFIED");
    else if (!fromValues || !plainCopy(b, V_PROVIDER)) writeJsonString(b, this.provider);
    frag(b, J_REQUEST_MODEL);
    if (!fromValues || !plainCopy(b, V_REQUEST_MODEL)) writeJsonString(b, this.requestModel);
    frag(b, J_RESPONSE_MODEL);
    if (!fromValues || !plainCopy(b, V_RESPONSE_MODEL)) writeJsonString(b, this.responseModel.length > 0 ? this.responseModel : this.requestModel);
    frag(b, J_LATENCY);
    if (fromValues) copyValue(b, V_LATENCY);
    else b.int(this.latencyMs);
    frag(b, J_MODE);
    if (!fromValues || !plainCopy(b, V_REQUEST_MODE)) writeJsonString(b, this.requestMode);
    if (this.tries > 0) {
      frag(b, J_TARGET);
      writeJsonString(b, this.target);
      frag(b, J_TRIES);
      b.int(this.tries);
    }
    if (this.azureInstance.length > 0) {
      frag(b, J_AZURE_INSTANCE);
      writeJsonString(b, this.azureInstance);
      frag(b, J_AZURE_DEPLOYMENT);
      writeJsonString(b, this.azureDeployment);
      frag(b, J_AZURE_VERSION);
      writeJsonString(b, this.azureApiVersion);
    }
    const u = this.usage;
    frag(b, J_USAGE);
    if (fromValues) copyValue(b, V_PROMPT);
    else b.int(max<i64>(u.promptTokens, 0));
    frag(b, J_COMPLETION);
    if (fromValues) copyValue(b, V_COMPLETION);
    else b.int(max<i64>(u.completionTokens, 0));
    frag(b, J_TOTAL);
    if (fromValues) copyValue(b, V_TOTAL);
    else b.int(max<i64>(u.totalTokens, 0));
    // The key's text (putNumberText) and JSON's number differ only for a value that is not finite ("0" / null).
    const tpt = this.timePerToken;
    frag(b, J_TIME_PER_TOKEN);
    if (fromValues && isFinite(tpt)) copyValue(b, V_TIME_PER_TOKEN);
    else jsonNumber(b, tpt);
    frag(b, J_COST);
    if (fromValues && isFinite(this.cost)) copyValue(b, V_COST);
    else jsonNumber(b, this.cost);
    if (this.timeToFirstTokenMs >= 0) {
      frag(b, J_TTFT);
      b.int(this.timeToFirstTokenMs);
    }
    if (withPayload) {
      frag(b, J_PAYLOAD);
      jsonStringOrNull(b, this.requestPayload);
      frag(b, J_RESPONSE);
      jsonStringOrNull(b, this.responsePayload);
    }
    frag(b, J_END);
  }

  /**
   * Writes the individual keys, `ai.facts`, and `ai.log` when `logStatistics`. Every value is
   * written into one reused buffer, one after another, and set from there under its key's
   * bytes (made once per writer; the host copies both): no string, buffer or label list per
   * record; `ai.facts`' label fields and `ai.log`'s values are copied from the values already
   * written. The bytes are those setPropertyString wrote (AssemblyScript's UTF-8 encoder,
   * toString()'s digits): the analytics-check test filter compares every key, the facts and
   * `ai.log` with that way.
   */
  write(ctx: HttpContext, logStatistics: bool, logPayloads: bool): void {
    const u = this.usage;
    const k = this.keys;
    const b = kv;
    const prompt = max<i64>(u.promptTokens, 0);
    const completion = max<i64>(u.completionTokens, 0);
    const total = max<i64>(u.totalTokens, 0);
    const responseModel = this.responseModel.length > 0 ? this.responseModel : this.requestModel;
    // Room for every value at once (UTF-8 is at most 3 bytes a code unit; a number's text at
    // most 28 bytes), so they are stored without a check each.
    b.reset();
    b.ensure(3 * (this.provider.length + this.requestModel.length + responseModel.length + this.requestMode.length + this.errorType.length) + 8 * 28);
    const base = b.buf.dataStart;
    let p = base;
    p = value(V_PROVIDER, base, p, putUtf8(p, this.provider));
    p = value(V_REQUEST_MODEL, base, p, putUtf8(p, this.requestModel));
    p = value(V_RESPONSE_MODEL, base, p, putUtf8(p, responseModel));
    p = value(V_REQUEST_MODE, base, p, putUtf8(p, this.requestMode));
    p = value(V_PROMPT, base, p, decimalAt(p, prompt));
    p = value(V_COMPLETION, base, p, decimalAt(p, completion));
    p = value(V_TOTAL, base, p, decimalAt(p, total));
    p = value(V_LATENCY, base, p, decimalAt(p, this.latencyMs));
    p = value(V_TIME_PER_TOKEN, base, p, putNumberText(p, this.timePerToken));
    const costAt = p;
    p = putNumberText(p, this.cost);
    const costNano = costNanoOf(this.cost, costAt, p);
    p = value(V_COST, base, costAt, p);
    p = value(V_STATUS, base, p, decimalAt(p, <i64>this.status));
    p = value(V_ERROR_TYPE, base, p, putUtf8(p, this.errorType));
    b.len = <i32>(p - base);
    send(k.providerName, V_PROVIDER);
    send(k.requestModel, V_REQUEST_MODEL);
    send(k.responseModel, V_RESPONSE_MODEL);
    send(k.requestMode, V_REQUEST_MODE);
    send(k.promptTokens, V_PROMPT);
    send(k.completionTokens, V_COMPLETION);
    send(k.totalTokens, V_TOTAL);
    send(k.llmLatency, V_LATENCY);
    send(k.timePerToken, V_TIME_PER_TOKEN);
    send(k.cost, V_COST);
    send(k.status, V_STATUS);
    if (this.errorType.length > 0) send(k.errorType, V_ERROR_TYPE);
    // The same facts for ai-metrics, valued exactly as it reads the keys above (facts.ts'
    // record layout). The route type and Kong's cache labels are not written by this gateway: empty.
    const from = b.len;
    const lenAt = beginFact(b, FACT_RECORD, k.prefixBytes.ptr, <u32>k.prefixBytes.len);
    b.ensure(R_LABELS + 11 * 4 + (unchecked(spans[V_ERROR_TYPE + 1]) - unchecked(spans[V_PROVIDER])) + 3 * this.operation.length);
    const q = b.buf.dataStart + <usize>b.len;
    store<i64>(q + R_PROMPT, count(prompt));
    store<i64>(q + R_COMPLETION, count(completion));
    store<i64>(q + R_TOTAL, count(total));
    store<i64>(q + R_LATENCY, count(this.latencyMs));
    store<u64>(q + R_COST, costNano);
    store<i64>(q + R_STATUS, <i64>this.status);
    let l = q + R_LABELS;
    l = label(b, l, V_PROVIDER);
    l = label(b, l, V_REQUEST_MODEL);
    l = label(b, l, V_RESPONSE_MODEL);
    l = label(b, l, V_REQUEST_MODE);
    for (let i = 0; i < 5; i++) {
      store<u32>(l, 0); // route type, cache status, vector db, embeddings provider and model
      l += 4;
    }
    l = label(b, l, V_ERROR_TYPE);
    const opEnd = putUtf8(l + 4, this.operation);
    store<u32>(l, <u32>(opEnd - l - 4));
    l = opEnd;
    b.len = <i32>(l - b.buf.dataStart);
    endFact(b, from, lenAt);
    if (this.tries > 0) {
      const at = b.len;
      b.utf8(this.target);
      sendRange(K_TARGET, at, b.len);
      const n = b.len;
      b.int(<i64>this.tries);
      sendRange(K_TRIES, n, b.len);
    }
    if (logStatistics) {
      const at = b.len;
      this.writeJson(b, logPayloads, true);
      sendRange(k.log, at, b.len);
    }
    if (b.buf.length > KV_KEEP) kv = new ByteBuilder(1024);
  }
}

// The buffer every record of the VM is written into.
let kv = new ByteBuilder(1024);
/** Past this a payload-sized buffer is dropped after use rather than kept for the VM's life. */
const KV_KEEP = 64 << 10;

// Where write() put each key's value in kv: [start, end) offsets, two per value.
const V_PROVIDER = 0;
const V_REQUEST_MODEL = 2;
const V_RESPONSE_MODEL = 4;
const V_REQUEST_MODE = 6;
const V_PROMPT = 8;
const V_COMPLETION = 10;
const V_TOTAL = 12;
const V_LATENCY = 14;
const V_TIME_PER_TOKEN = 16;
const V_COST = 18;
const V_STATUS = 20;
const V_ERROR_TYPE = 22;
const spans = new StaticArray<i32>(24);

/** Records value `v` as kv's bytes [start, end) (pointers; kv starts at base); returns end. */
@inline function value(v: i32, base: usize, start: usize, end: usize): usize {
  unchecked((spans[v] = <i32>(start - base)));
  unchecked((spans[v + 1] = <i32>(end - base)));
  return end;
}

/** Sets `key` to value `v`. */
function send(key: Key, v: i32): void {
  sendRange(key, unchecked(spans[v]), unchecked(spans[v + 1]));
}

/** Sets `key` to kv's bytes [start, end). */
function sendRange(key: Key, start: i32, end: i32): void {
  proxy_set_property(key.ptr, key.len, kv.buf.dataStart + <usize>start, <usize>(end - start));
}

/** A label field of the facts record at `p` (length, then bytes) from value `v`; returns its end. */
@inline function label(b: ByteBuilder, p: usize, v: i32): usize {
  const start = unchecked(spans[v]);
  const n = <usize>(unchecked(spans[v + 1]) - start);
  store<u32>(p, <u32>n);
  copySmall(p + 4, b.buf.dataStart + <usize>start, n);
  return p + 4 + n;
}

/** Appends value `v` (kv's bytes, written before `b`'s end) to `b`. */
function copyValue(b: ByteBuilder, v: i32): void {
  const start = unchecked(spans[v]);
  const n = unchecked(spans[v + 1]) - start;
  b.ensure(n);
  const base = b.buf.dataStart;
  copySmall(base + <usize>b.len, base + <usize>start, <usize>n);
  b.len += n;
}

/**
 * Appends value `v` as a JSON string when its bytes need no escape (printable ASCII but `"` and
 * `\`): they are then the string's JSON text. False (nothing appended) otherwise.
 */
function plainCopy(b: ByteBuilder, v: i32): bool {
  const start = unchecked(spans[v]);
  const end = unchecked(spans[v + 1]);
  const src = b.buf.dataStart;
  for (let i = start; i < end; i++) {
    const c = load<u8>(src + <usize>i);
    if (c < 0x20 || c >= 0x7f || c == 0x22 || c == 0x5c) return false;
  }
  b.ensure(end - start + 2);
  const d = b.buf.dataStart + <usize>b.len;
  store<u8>(d, 0x22);
  copySmall(d + 1, b.buf.dataStart + <usize>start, <usize>(end - start));
  store<u8>(d + 1 + <usize>(end - start), 0x22);
  b.len += end - start + 2;
  return true;
}

/** `s` as UTF-8 at `p` (room for 3 bytes a code unit) with the property setters' encoder; returns the end. */
@inline function putUtf8(p: usize, s: string): usize {
  return p + String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, p);
}

/**
 * The text of a number key (ai.cost, ai.time_per_token) at `p` (room for 28 bytes): "0" for 0, -0 and values that are not
 * finite, the digits of an integral value below 2^53, else f64 toString()'s text (the same
 * dtoa, without the string). Returns the end.
 */
function putNumberText(p: usize, v: f64): usize {
  if (v == 0 || !isFinite(v)) {
    store<u8>(p, 0x30);
    return p + 1;
  }
  if (v == Math.floor(v) && Math.abs(v) < 9007199254740992.0) return decimalAt(p, <i64>v);
  const n = <usize>dtoa_buffered(DTOA_BUF, v);
  for (let i: usize = 0; i < n; i++) store<u8>(p + i, <u8>load<u16>(DTOA_BUF + (i << 1)));
  return p + n;
}

/**
 * The cost in nano-dollars as ai-metrics reads its text (parseCostNano of the bytes [start,
 * end) putNumberText wrote). An integral cost below 2^53 is computed exactly (parseFloat reads
 * its digits exactly); only a fractional one is parsed from its text, as a string (parseFloat
 * takes one).
 */
function costNanoOf(v: f64, start: usize, end: usize): u64 {
  if (v <= 0 || !isFinite(v)) return 0; // "0", or a text that starts with '-'
  if (v == Math.floor(v) && v < 9007199254740992.0) {
    const nano = Math.round(v * 1e9);
    return nano >= MAX_NANO ? 0 : <u64>nano;
  }
  return parseCostNano(String.UTF8.decodeUnsafe(start, end - start));
}

// dtoa_buffered's UTF-16 output (at most MAX_DOUBLE_LENGTH = 28 code units).
// @ts-ignore: decorator
@lazy const DTOA_BUF: usize = memory.data(64);

/** writeJsonNumber's bytes: null when not finite, else putNumberText's. */
function jsonNumber(b: ByteBuilder, v: f64): void {
  if (!isFinite(v)) {
    b.str("null");
    return;
  }
  b.ensure(28);
  b.len = <i32>(putNumberText(b.buf.dataStart + <usize>b.len, v) - b.buf.dataStart);
}

/** toJson's constant parts, as UTF-8 made once per VM. */
function fragment(s: string): Key {
  return new Key(s);
}

/** Appends fragment `f`. */
function frag(b: ByteBuilder, f: Key): void {
  b.ensure(<i32>f.len);
  copySmall(b.buf.dataStart + <usize>b.len, f.ptr, f.len);
  b.len += <i32>f.len;
}

/**
 * memory.copy of bytes whose source and destination do not overlap (every copy here goes to the
 * end of the buffer, after its source), a few by words: V8 calls out of the module for each
 * memory.copy, which costs more than a fragment or a value here takes to copy.
 */
@inline function copySmall(dst: usize, src: usize, n: usize): void {
  if (n > 64) {
    memory.copy(dst, src, n);
  } else if (n >= 8) {
    // Whole words, then the last word again where it ends (overlapping the one before).
    let i: usize = 0;
    for (; i + 8 <= n; i += 8) store<u64>(dst + i, load<u64>(src + i));
    if (i < n) store<u64>(dst + n - 8, load<u64>(src + n - 8));
  } else if (n >= 4) {
    store<u32>(dst, load<u32>(src));
    store<u32>(dst + n - 4, load<u32>(src + n - 4));
  } else {
    for (let i: usize = 0; i < n; i++) store<u8>(dst + i, load<u8>(src + i));
  }
}
const J_META = fragment(':{"meta":{"plugin_id":');
const J_PROVIDER = fragment(',"provider_name":');
const J_REQUEST_MODEL = fragment(',"request_model":');
const J_RESPONSE_MODEL = fragment(',"response_model":');
const J_LATENCY = fragment(',"llm_latency":');
const J_MODE = fragment(',"request_mode":');
const J_TARGET = fragment(',"target":');
const J_TRIES = fragment(',"tries":');
const J_AZURE_INSTANCE = fragment(',"azure_instance_id":');
const J_AZURE_DEPLOYMENT = fragment(',"azure_deployment_id":');
const J_AZURE_VERSION = fragment(',"azure_api_version":');
const J_USAGE = fragment('},"usage":{"prompt_tokens":');
const J_COMPLETION = fragment(',"completion_tokens":');
const J_TOTAL = fragment(',"total_tokens":');
const J_TIME_PER_TOKEN = fragment(',"time_per_token":');
const J_COST = fragment(',"cost":');
const J_TTFT = fragment(',"time_to_first_token":');
const J_PAYLOAD = fragment('},"payload":{"request":');
const J_RESPONSE = fragment(',"response":');
const J_END = fragment("}}}");

function jsonStringOrNull(b: ByteBuilder, s: string | null): void {
  if (s == null) b.str("null");
  else writeJsonString(b, s);
}
