// The per-request AI analytics record, in Kong's field names (reference §12), written as
// filter state with set_property. Envoy runs access loggers before the filters' on_log,
// so the filter writes this when the response completes, not in on_log.
//
// Keys (filter state `wasm.<key>`):
//   ai.log                 one JSON record {"proxy":{"meta":{…},"usage":{…},"payload":{…}}}
//                          (only with logging.log_statistics; payload only with log_payloads)
//   ai.provider_name, ai.request_model, ai.response_model, ai.request_mode,
//   ai.prompt_tokens, ai.completion_tokens, ai.total_tokens, ai.llm_latency (ms),
//   ai.time_per_token (ms), ai.cost, ai.status      always, as plain text, for other filters
//   ai.error_type          when a 2xx answer failed on the way (upstream_stream_error,
//                          upstream_stream_incomplete, upstream_bad_response)

import { HttpContext } from "../runtime";
import { JsonWriter } from "../llm/json-writer";
import { Usage } from "../llm/provider";

// The keys as property paths, made once (an array literal in write() would be allocated per request).
const K_PROVIDER_NAME: string[] = ["ai.provider_name"];
const K_REQUEST_MODEL: string[] = ["ai.request_model"];
const K_RESPONSE_MODEL: string[] = ["ai.response_model"];
const K_REQUEST_MODE: string[] = ["ai.request_mode"];
const K_PROMPT_TOKENS: string[] = ["ai.prompt_tokens"];
const K_COMPLETION_TOKENS: string[] = ["ai.completion_tokens"];
const K_TOTAL_TOKENS: string[] = ["ai.total_tokens"];
const K_LLM_LATENCY: string[] = ["ai.llm_latency"];
const K_TIME_PER_TOKEN: string[] = ["ai.time_per_token"];
const K_COST: string[] = ["ai.cost"];
const K_STATUS: string[] = ["ai.status"];
const K_ERROR_TYPE: string[] = ["ai.error_type"];
const K_LOG: string[] = ["ai.log"];

export class Analytics {
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
    w.beginObject().key("proxy").beginObject();
    w.key("meta").beginObject();
    w.fieldString("plugin_id", this.pluginId);
    w.fieldString("provider_name", this.provider.length > 0 ? this.provider : "UNSPECIFIED");
    w.fieldString("request_model", this.requestModel);
    w.fieldString("response_model", this.responseModel.length > 0 ? this.responseModel : this.requestModel);
    w.fieldInt("llm_latency", this.latencyMs);
    w.fieldString("request_mode", this.requestMode);
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
    ctx.setPropertyString(K_PROVIDER_NAME, this.provider);
    ctx.setPropertyString(K_REQUEST_MODEL, this.requestModel);
    ctx.setPropertyString(K_RESPONSE_MODEL, this.responseModel.length > 0 ? this.responseModel : this.requestModel);
    ctx.setPropertyString(K_REQUEST_MODE, this.requestMode);
    ctx.setPropertyString(K_PROMPT_TOKENS, max<i64>(u.promptTokens, 0).toString());
    ctx.setPropertyString(K_COMPLETION_TOKENS, max<i64>(u.completionTokens, 0).toString());
    ctx.setPropertyString(K_TOTAL_TOKENS, max<i64>(u.totalTokens, 0).toString());
    ctx.setPropertyString(K_LLM_LATENCY, this.latencyMs.toString());
    ctx.setPropertyString(K_TIME_PER_TOKEN, numberText(this.timePerToken));
    ctx.setPropertyString(K_COST, numberText(this.cost));
    ctx.setPropertyString(K_STATUS, this.status.toString());
    if (this.errorType.length > 0) ctx.setPropertyString(K_ERROR_TYPE, this.errorType);
    if (logStatistics) {
      const j = this.toJson(logPayloads);
      ctx.setProperty(K_LOG, j.buffer.slice(j.byteOffset, j.byteOffset + j.byteLength));
    }
  }
}

function numberText(v: f64): string {
  if (!isFinite(v)) return "0";
  if (v == Math.floor(v) && Math.abs(v) < 9007199254740992.0) return (<i64>v).toString();
  return v.toString();
}
