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
import { ByteBuilder, writeJsonNumber, writeJsonString } from "../llm/json-writer";
import { Usage } from "../llm/provider";
import { count, FACT_RECORD, parseCostNano, putFact, RecordPayload } from "./facts";

/**
 * The filter-state keys one writer uses, as property paths made once (an array literal in
 * write() would be allocated per request). ai-proxy writes under "ai." with the log record
 * named "proxy"; the transformers under "ai.<plugin>." (Kong's `ai.ai-request-transformer`).
 */
// ai-proxy-advanced's: the target that served and the tries it took.
const K_TARGET: string[] = ["ai.target"];
const K_TRIES: string[] = ["ai.tries"];

export class AnalyticsKeys {
  providerName: string[];
  requestModel: string[];
  responseModel: string[];
  requestMode: string[];
  promptTokens: string[];
  completionTokens: string[];
  totalTokens: string[];
  llmLatency: string[];
  timePerToken: string[];
  cost: string[];
  status: string[];
  errorType: string[];
  log: string[];

  /** `prefix` ends with "."; `logName` is the record's top-level member in the `log` JSON. */
  constructor(
    public readonly prefix: string,
    public readonly logName: string,
  ) {
    this.providerName = [prefix + "provider_name"];
    this.requestModel = [prefix + "request_model"];
    this.responseModel = [prefix + "response_model"];
    this.requestMode = [prefix + "request_mode"];
    this.promptTokens = [prefix + "prompt_tokens"];
    this.completionTokens = [prefix + "completion_tokens"];
    this.totalTokens = [prefix + "total_tokens"];
    this.llmLatency = [prefix + "llm_latency"];
    this.timePerToken = [prefix + "time_per_token"];
    this.cost = [prefix + "cost"];
    this.status = [prefix + "status"];
    this.errorType = [prefix + "error_type"];
    this.log = [prefix + "log"];
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
    b.str(this.latencyMs.toString());
    b.bytes(J_MODE);
    writeJsonString(b, this.requestMode);
    if (this.tries > 0) {
      b.bytes(J_TARGET);
      writeJsonString(b, this.target);
      b.bytes(J_TRIES);
      b.str(this.tries.toString());
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
    b.str(max<i64>(u.promptTokens, 0).toString());
    b.bytes(J_COMPLETION);
    b.str(max<i64>(u.completionTokens, 0).toString());
    b.bytes(J_TOTAL);
    b.str(max<i64>(u.totalTokens, 0).toString());
    b.bytes(J_TIME_PER_TOKEN);
    writeJsonNumber(b, this.timePerToken);
    b.bytes(J_COST);
    writeJsonNumber(b, this.cost);
    if (this.timeToFirstTokenMs >= 0) {
      b.bytes(J_TTFT);
      b.str(this.timeToFirstTokenMs.toString());
    }
    if (withPayload) {
      b.bytes(J_PAYLOAD);
      jsonStringOrNull(b, this.requestPayload);
      b.bytes(J_RESPONSE);
      jsonStringOrNull(b, this.responsePayload);
    }
    b.bytes(J_END);
    return b.buf.buffer.slice(0, b.len);
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
    ctx.setPropertyString(k.providerName, this.provider);
    ctx.setPropertyString(k.requestModel, this.requestModel);
    ctx.setPropertyString(k.responseModel, responseModel);
    ctx.setPropertyString(k.requestMode, this.requestMode);
    ctx.setPropertyString(k.promptTokens, prompt.toString());
    ctx.setPropertyString(k.completionTokens, completion.toString());
    ctx.setPropertyString(k.totalTokens, total.toString());
    ctx.setPropertyString(k.llmLatency, this.latencyMs.toString());
    ctx.setPropertyString(k.timePerToken, numberText(this.timePerToken));
    ctx.setPropertyString(k.cost, cost);
    ctx.setPropertyString(k.status, this.status.toString());
    if (this.errorType.length > 0) ctx.setPropertyString(k.errorType, this.errorType);
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
      ctx.setPropertyString(K_TARGET, this.target);
      ctx.setPropertyString(K_TRIES, this.tries.toString());
    }
    if (logStatistics) ctx.setProperty(k.log, this.toJson(logPayloads));
  }
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
  if (!isFinite(v)) return "0";
  if (v == Math.floor(v) && Math.abs(v) < 9007199254740992.0) return (<i64>v).toString();
  return v.toString();
}
