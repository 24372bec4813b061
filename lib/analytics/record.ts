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
import { ByteBuilder, writeJsonNumber, writeJsonString } from "../llm/json-writer";
import { Usage } from "../llm/provider";
import { count, FACT_RECORD, parseCostNano, putFact, RecordPayload } from "./facts";

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
    writeJsonNumber(b, this.timePerToken);
    b.bytes(J_COST);
    writeJsonNumber(b, this.cost);
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

  /** Writes the individual keys, and `ai.log` when `logStatistics`. */
  write(ctx: HttpContext, logStatistics: bool, logPayloads: bool): void {
    const u = this.usage;
    const k = this.keys;
    const responseModel = this.responseModel.length > 0 ? this.responseModel : this.requestModel;
    const prompt = max<i64>(u.promptTokens, 0);
    const completion = max<i64>(u.completionTokens, 0);
    const total = max<i64>(u.totalTokens, 0);
    const cost = numberText(this.cost);
    putString(k.providerName, this.provider);
    putString(k.requestModel, this.requestModel);
    putString(k.responseModel, responseModel);
    putString(k.requestMode, this.requestMode);
    putInt(k.promptTokens, prompt);
    putInt(k.completionTokens, completion);
    putInt(k.totalTokens, total);
    putInt(k.llmLatency, this.latencyMs);
    putNumber(k.timePerToken, this.timePerToken);
    putString(k.cost, cost);
    putInt(k.status, <i64>this.status);
    if (this.errorType.length > 0) putString(k.errorType, this.errorType);
    // The same facts for ai-metrics, valued exactly as it reads the keys above. The route
    // type and Kong's cache labels are not written by this gateway: empty.
    const facts = new RecordPayload(count(prompt), count(completion), count(total), count(this.latencyMs), parseCostNano(cost), <i64>this.status)
      .label(this.provider)
      .label(this.requestModel)
      .label(responseModel)
      .label(this.requestMode)
      .label("")
      .label("")
      .label("")
      .label("")
      .label("")
      .label(this.errorType)
      .label(this.operation);
    putFact(ctx, FACT_RECORD, k.prefix, facts.toBuffer());
    if (this.tries > 0) {
      putString(K_TARGET, this.target);
      putInt(K_TRIES, <i64>this.tries);
    }
    if (logStatistics) {
      const b = begin(k.log);
      this.writeJson(b, logPayloads);
      send(b);
    }
  }
}

// Each value is written into one reused buffer and set under its key's bytes, made once (the
// host copies both): no string per number, no encoding of the key, no buffer per value. The
// values are the bytes setPropertyString wrote (AssemblyScript's UTF-8 encoder, toString()'s
// digits).
let kv = new ByteBuilder(1024);
let kvKey: Uint8Array = new Uint8Array(0);
/** Past this a payload-sized buffer is dropped after use rather than kept for the VM's life. */
const KV_KEEP = 64 << 10;

function begin(key: Uint8Array): ByteBuilder {
  const b = kv;
  b.reset();
  kvKey = key;
  return b;
}

function send(b: ByteBuilder): void {
  const k = kvKey;
  proxy_set_property(k.dataStart, <usize>k.length, b.buf.dataStart, <usize>b.len);
  if (b.buf.length > KV_KEEP) kv = new ByteBuilder(1024);
}

function putString(key: Uint8Array, v: string): void {
  const b = begin(key);
  b.utf8(v);
  send(b);
}

function putInt(key: Uint8Array, v: i64): void {
  const b = begin(key);
  b.int(v);
  send(b);
}

/** numberText's bytes. */
function putNumber(key: Uint8Array, v: f64): void {
  if (isFinite(v) && v == Math.floor(v) && Math.abs(v) < 9007199254740992.0) putInt(key, <i64>v);
  else putString(key, numberText(v));
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

function numberText(v: f64): string {
  if (v == 0) return "0"; // what the integral branch gives 0 and -0, without a string per call
  if (!isFinite(v)) return "0";
  if (v == Math.floor(v) && Math.abs(v) < 9007199254740992.0) return (<i64>v).toString();
  return v.toString();
}
