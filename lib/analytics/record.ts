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
import { ByteBuilder, writeJsonString } from "../llm/json-writer";
import { Usage } from "../llm/provider";
import { beginFact, count, endFact, FACT_RECORD, MAX_NANO, parseCostNano, R_COMPLETION, R_COST, R_LABELS, R_LATENCY, R_PROMPT, R_STATUS, R_TOTAL } from "./facts";
import { dtoa_buffered } from "util/number";

/**
 * The filter-state keys one writer uses, as UTF-8 made once (per writer, not per request).
 * ai-proxy writes under "ai." with the log record named "proxy"; the transformers under
 * "ai.<plugin>." (Kong's `ai.ai-request-transformer`).
 */
function key(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}
// ai-proxy-advanced's: the target that served and the tries it took.
const K_TARGET = key("ai.target");
const K_TRIES = key("ai.tries");

export class AnalyticsKeys {
  providerName: Uint8Array;
  requestModel: Uint8Array;
  responseModel: Uint8Array;
  requestMode: Uint8Array;
  promptTokens: Uint8Array;
  completionTokens: Uint8Array;
  totalTokens: Uint8Array;
  llmLatency: Uint8Array;
  timePerToken: Uint8Array;
  cost: Uint8Array;
  status: Uint8Array;
  errorType: Uint8Array;
  log: Uint8Array;
  /** The prefix's UTF-8: the id of this writer's record in `ai.facts`. */
  prefixBytes: Uint8Array;

  /** `prefix` ends with "."; `logName` is the record's top-level member in the `log` JSON. */
  constructor(
    public readonly prefix: string,
    public readonly logName: string,
  ) {
    this.providerName = key(prefix + "provider_name");
    this.requestModel = key(prefix + "request_model");
    this.responseModel = key(prefix + "response_model");
    this.requestMode = key(prefix + "request_mode");
    this.promptTokens = key(prefix + "prompt_tokens");
    this.completionTokens = key(prefix + "completion_tokens");
    this.totalTokens = key(prefix + "total_tokens");
    this.llmLatency = key(prefix + "llm_latency");
    this.timePerToken = key(prefix + "time_per_token");
    this.cost = key(prefix + "cost");
    this.status = key(prefix + "status");
    this.errorType = key(prefix + "error_type");
    this.log = key(prefix + "log");
    this.prefixBytes = key(prefix);
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
    this.writeJson(b, withPayload);
    return b.buf.buffer.slice(0, b.len);
  }

  /** toJson's bytes appended to `b`. */
  private writeJson(b: ByteBuilder, withPayload: bool): void {
    b.byte(0x7b);
    writeJsonString(b, this.keys.logName);
    b.bytes(J_META);
    writeJsonString(b, this.pluginId);
    b.bytes(J_PROVIDER);
    writeJsonString(b, this.provider.length > 0 ? this.provider : "UNSPECIFIED");
    b.bytes(J_REQUEST_MODEL);
    writeJsonString(b, this.requestModel);
    b.bytes(J_RESPONSE_MODEL);
    writeJsonString(b, this.responseModel.length > 0 ? this.responseModel : this.requestModel);
    b.bytes(J_LATENCY);
    b.int(this.latencyMs);
    b.bytes(J_MODE);
    writeJsonString(b, this.requestMode);
    if (this.tries > 0) {
      b.bytes(J_TARGET);
      writeJsonString(b, this.target);
      b.bytes(J_TRIES);
      b.int(this.tries);
    }
    if (this.azureInstance.length > 0) {
      b.bytes(J_AZURE_INSTANCE);
      writeJsonString(b, this.azureInstance);
      b.bytes(J_AZURE_DEPLOYMENT);
      writeJsonString(b, this.azureDeployment);
      b.bytes(J_AZURE_VERSION);
      writeJsonString(b, this.azureApiVersion);
    }
    const u = this.usage;
    b.bytes(J_USAGE);
    b.int(max<i64>(u.promptTokens, 0));
    b.bytes(J_COMPLETION);
    b.int(max<i64>(u.completionTokens, 0));
    b.bytes(J_TOTAL);
    b.int(max<i64>(u.totalTokens, 0));
    b.bytes(J_TIME_PER_TOKEN);
    jsonNumber(b, this.timePerToken);
    b.bytes(J_COST);
    jsonNumber(b, this.cost);
    if (this.timeToFirstTokenMs >= 0) {
      b.bytes(J_TTFT);
      b.int(this.timeToFirstTokenMs);
    }
    if (withPayload) {
      b.bytes(J_PAYLOAD);
      jsonStringOrNull(b, this.requestPayload);
      b.bytes(J_RESPONSE);
      jsonStringOrNull(b, this.responsePayload);
    }
    b.bytes(J_END);
  }

  /**
   * Writes the individual keys, `ai.facts`, and `ai.log` when `logStatistics`. Every value is
   * written into one reused buffer, one after another, and set from there under its key's
   * bytes (made once per writer; the host copies both): no string, buffer or label list per
   * record, and `ai.facts`' label fields are copied from the values just written. The bytes
   * are those setPropertyString wrote (AssemblyScript's UTF-8 encoder, toString()'s digits):
   * the analytics-check test filter compares every key and the facts with that way.
   */
  write(ctx: HttpContext, logStatistics: bool, logPayloads: bool): void {
    const u = this.usage;
    const k = this.keys;
    const b = kv;
    b.reset();
    const prompt = max<i64>(u.promptTokens, 0);
    const completion = max<i64>(u.completionTokens, 0);
    const total = max<i64>(u.totalTokens, 0);
    // Where each label value lies in b: offsets, as b may grow.
    const provider = b.len;
    b.utf8(this.provider);
    send(b, k.providerName, provider);
    const requestModel = b.len;
    b.utf8(this.requestModel);
    send(b, k.requestModel, requestModel);
    const responseModel = b.len;
    if (this.responseModel.length > 0) b.utf8(this.responseModel);
    else b.ptr(b.buf.dataStart + <usize>requestModel, responseModel - requestModel);
    send(b, k.responseModel, responseModel);
    const requestMode = b.len;
    b.utf8(this.requestMode);
    const requestModeEnd = b.len;
    send(b, k.requestMode, requestMode);
    putInt(b, k.promptTokens, prompt);
    putInt(b, k.completionTokens, completion);
    putInt(b, k.totalTokens, total);
    putInt(b, k.llmLatency, this.latencyMs);
    let at = b.len;
    appendNumberText(b, this.timePerToken);
    send(b, k.timePerToken, at);
    at = b.len;
    const costNano = appendCost(b, this.cost);
    send(b, k.cost, at);
    putInt(b, k.status, <i64>this.status);
    const errorType = b.len;
    if (this.errorType.length > 0) {
      b.utf8(this.errorType);
      send(b, k.errorType, errorType);
    }
    const errorTypeEnd = b.len;
    // The same facts for ai-metrics, valued exactly as it reads the keys above (facts.ts'
    // record layout). The route type and Kong's cache labels are not written by this gateway: empty.
    const from = b.len;
    const lenAt = beginFact(b, FACT_RECORD, k.prefixBytes.dataStart, <u32>k.prefixBytes.length);
    b.ensure(R_LABELS);
    const p = b.buf.dataStart + <usize>b.len;
    store<i64>(p + R_PROMPT, count(prompt));
    store<i64>(p + R_COMPLETION, count(completion));
    store<i64>(p + R_TOTAL, count(total));
    store<i64>(p + R_LATENCY, count(this.latencyMs));
    store<u64>(p + R_COST, costNano);
    store<i64>(p + R_STATUS, <i64>this.status);
    b.len += R_LABELS;
    label(b, provider, requestModel);
    label(b, requestModel, responseModel);
    label(b, responseModel, requestMode);
    label(b, requestMode, requestModeEnd);
    for (let i = 0; i < 5; i++) label(b, 0, 0); // route type, cache status, vector db, embeddings provider and model
    label(b, errorType, errorTypeEnd);
    b.ensure(4);
    const op = b.len;
    b.len += 4;
    b.utf8(this.operation);
    store<u32>(b.buf.dataStart + <usize>op, <u32>(b.len - op - 4));
    endFact(b, from, lenAt);
    if (this.tries > 0) {
      b.reset();
      b.utf8(this.target);
      send(b, K_TARGET, 0);
      putInt(b, K_TRIES, <i64>this.tries);
    }
    if (logStatistics) {
      b.reset();
      this.writeJson(b, logPayloads);
      send(b, k.log, 0);
    }
    if (b.buf.length > KV_KEEP) kv = new ByteBuilder(1024);
  }
}

// The buffer every record of the VM is written into.
let kv = new ByteBuilder(1024);
/** Past this a payload-sized buffer is dropped after use rather than kept for the VM's life. */
const KV_KEEP = 64 << 10;

/** Sets `key` to what `b` holds from `from` on. */
function send(b: ByteBuilder, key: Uint8Array, from: i32): void {
  proxy_set_property(key.dataStart, <usize>key.byteLength, b.buf.dataStart + <usize>from, <usize>(b.len - from));
}

function putInt(b: ByteBuilder, key: Uint8Array, v: i64): void {
  const at = b.len;
  b.int(v);
  send(b, key, at);
}

/** A label field of the facts record (length, then bytes) from the bytes `b` holds in [start, end). */
function label(b: ByteBuilder, start: i32, end: i32): void {
  const n = end - start;
  b.ensure(4 + n);
  const base = b.buf.dataStart;
  const dst = base + <usize>b.len;
  store<u32>(dst, <u32>n);
  memory.copy(dst + 4, base + <usize>start, <usize>n);
  b.len += 4 + n;
}

// dtoa_buffered's UTF-16 output (at most MAX_DOUBLE_LENGTH = 28 code units).
// @ts-ignore: decorator
@lazy const DTOA_BUF: usize = memory.data(64);

/**
 * numberText(v)'s bytes appended to `b`: "0" for 0, -0 and non-finite values, the digits of an
 * integral value below 2^53, else f64 toString()'s text (the same dtoa, without the string).
 */
function appendNumberText(b: ByteBuilder, v: f64): void {
  if (v == 0 || !isFinite(v)) b.byte(0x30);
  else if (v == Math.floor(v) && Math.abs(v) < 9007199254740992.0) b.int(<i64>v);
  else appendDtoa(b, v);
}

/** writeJsonNumber's bytes: null when not finite, the digits of an integral value below 2^53, else toString()'s text. */
function jsonNumber(b: ByteBuilder, v: f64): void {
  if (!isFinite(v)) b.str("null");
  else if (v == Math.floor(v) && Math.abs(v) < 9007199254740992.0) b.int(<i64>v);
  else appendDtoa(b, v);
}

/** f64 toString()'s text of a finite non-zero `v`, as bytes (it is ASCII). */
function appendDtoa(b: ByteBuilder, v: f64): void {
  const n = <i32>dtoa_buffered(DTOA_BUF, v);
  b.ensure(n);
  const dst = b.buf.dataStart + <usize>b.len;
  for (let i = 0; i < n; i++) store<u8>(dst + <usize>i, <u8>load<u16>(DTOA_BUF + (<usize>i << 1)));
  b.len += n;
}

/**
 * Appends the cost's text (numberText) and returns it in nano-dollars as ai-metrics reads that
 * text (parseCostNano). An integral cost below 2^53 is parsed exactly; only a fractional one is
 * parsed from its text, as a string (parseFloat takes one).
 */
function appendCost(b: ByteBuilder, v: f64): u64 {
  if (v == 0 || !isFinite(v)) {
    b.byte(0x30);
    return 0;
  }
  if (v == Math.floor(v) && Math.abs(v) < 9007199254740992.0) {
    b.int(<i64>v);
    return v > 0 ? integralCostNano(v) : 0;
  }
  const s = v.toString();
  b.utf8(s);
  return parseCostNano(s);
}

/** parseCostNano of a positive integral amount's digits (below 2^53: parseFloat reads them exactly). */
function integralCostNano(v: f64): u64 {
  const nano = Math.round(v * 1e9);
  return nano >= MAX_NANO ? 0 : <u64>nano;
}

/** toJson's constant parts, as UTF-8 made once per VM. */
function fragment(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
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
