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
import { JsonWriter } from "../llm/json-writer";
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

  /** The `ai` record as JSON (Kong's `ai` log table). */
  toJson(withPayload: bool): Uint8Array {
    const w = new JsonWriter();
    w.beginObject().key(this.keys.logName).beginObject();
    w.key("meta").beginObject();
    w.fieldString("plugin_id", this.pluginId);
    w.fieldString("provider_name", this.provider.length > 0 ? this.provider : "UNSPECIFIED");
    w.fieldString("request_model", this.requestModel);
    w.fieldString("response_model", this.responseModel.length > 0 ? this.responseModel : this.requestModel);
    w.fieldInt("llm_latency", this.latencyMs);
    w.fieldString("request_mode", this.requestMode);
    if (this.tries > 0) {
      w.fieldString("target", this.target);
      w.fieldInt("tries", this.tries);
    }
    if (this.azureInstance.length > 0) {
      w.fieldString("azure_instance_id", this.azureInstance);
      w.fieldString("azure_deployment_id", this.azureDeployment);
      w.fieldString("azure_api_version", this.azureApiVersion);
    }
    w.endObject();
    const u = this.usage;
    w.key("usage").beginObject();
    w.fieldInt("prompt_tokens", max<i64>(u.promptTokens, 0));
    w.fieldInt("completion_tokens", max<i64>(u.completionTokens, 0));
    w.fieldInt("total_tokens", max<i64>(u.totalTokens, 0));
    w.fieldNumber("time_per_token", this.timePerToken);
    w.fieldNumber("cost", this.cost);
    if (this.timeToFirstTokenMs >= 0) w.fieldInt("time_to_first_token", this.timeToFirstTokenMs);
    w.endObject();
    if (withPayload) {
      w.key("payload").beginObject();
      w.fieldStringOrNull("request", this.requestPayload);
      w.fieldStringOrNull("response", this.responsePayload);
      w.endObject();
    }
    w.endObject().endObject();
    return w.toBytes();
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
      .label(this.errorType);
    putFact(ctx, FACT_RECORD, k.prefix, facts.toBuffer());
    if (this.tries > 0) {
      ctx.setPropertyString(K_TARGET, this.target);
      ctx.setPropertyString(K_TRIES, this.tries.toString());
    }
    if (logStatistics) {
      const j = this.toJson(logPayloads);
      ctx.setProperty(k.log, j.buffer.slice(j.byteOffset, j.byteOffset + j.byteLength));
    }
  }
}

function numberText(v: f64): string {
  if (!isFinite(v)) return "0";
  if (v == Math.floor(v) && Math.abs(v) < 9007199254740992.0) return (<i64>v).toString();
  return v.toString();
}
