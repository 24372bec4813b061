// ai-proxy configuration: Kong's ai-proxy fields, names and defaults (see README.md).
// Parsed once per worker in on_configure; any problem is reported naming the field.
// Kong exports every field, unset ones as null, so null always means "unset" here.

import { JSON } from "json-as";
import { isNull, isNumberType, parseObject, valueBool, valueNumber, valueObj, valueString } from "../../json";
import { ModelConfig, parseRouteType, RouteType, UNSET } from "../provider";
import { PROVIDER_NAMES } from "../providers/index";
import { ModelTemplates, parseTemplate, Template } from "./template";
import { Secrets } from "../redact";
import { percentEncode } from "./url";

export const STREAMING_ALLOW: i32 = 0;
export const STREAMING_DENY: i32 = 1;
export const STREAMING_ALWAYS: i32 = 2;

export class AuthConfig {
  headerName: string = "";
  headerValue: string = "";
  paramName: string = "";
  paramValue: string = "";
  /** "query" or "body" ("" when no param auth). */
  paramLocation: string = "";
  allowOverride: bool = false;
  /** The environment variable a `{vault://env/...}` credential named but the VM lacks ("" = none). */
  missingEnv: string = "";
  /** What never goes back to the client or into a log: the credential values and each vault value resolved for them. */
  secrets: Secrets = new Secrets();
}

export class AiProxyConfig {
  route: RouteType = RouteType.Chat;
  model: ModelConfig = new ModelConfig();
  auth: AuthConfig = new AuthConfig();
  logStatistics: bool = false;
  logPayloads: bool = false;
  responseStreaming: i32 = STREAMING_ALLOW;
  modelNameHeader: bool = true;
  /** 0 = no limit (Kong 3.12+ default 1 MiB). */
  maxRequestBodySize: i64 = 1048576;
  /** `$(headers.X)` / `$(query_params.X)` fields of `model`; null when none (the fast path). */
  templates: ModelTemplates | null = null;
  /** ai-proxy-advanced: the balancer picks the model, so the client's `model` is replaced, not refused. */
  targetModelWins: bool = false;
}

/** `c` with another model (a request's resolved templates); everything else shared (keep in step with the fields above). */
export function withModel(c: AiProxyConfig, model: ModelConfig): AiProxyConfig {
  const r = new AiProxyConfig();
  r.route = c.route;
  r.model = model;
  r.auth = c.auth;
  r.logStatistics = c.logStatistics;
  r.logPayloads = c.logPayloads;
  r.responseStreaming = c.responseStreaming;
  r.modelNameHeader = c.modelNameHeader;
  r.maxRequestBodySize = c.maxRequestBodySize;
  r.templates = c.templates;
  r.targetModelWins = c.targetModelWins;
  return r;
}

export class ConfigResult {
  constructor(
    public config: AiProxyConfig | null,
    public error: string | null,
  ) {}
}

/** Thrown-free error carrier for the nested parse helpers: keeps the first error. */
export class ConfigErrors {
  msg: string | null = null;
  set(m: string): void {
    if (this.msg == null) this.msg = m;
  }
}

// ---- field readers: each returns the value, or records an error naming the field ----

export function str(o: JSON.Obj, key: string, field: string, e: ConfigErrors): string {
  const v = o.get(key);
  if (v == null || isNull(v)) return "";
  const s = valueString(v);
  if (s == null) {
    e.set("field '" + field + "' must be a string");
    return "";
  }
  return s;
}

export function boolField(o: JSON.Obj, key: string, field: string, fallback: bool, e: ConfigErrors): bool {
  const v = o.get(key);
  if (v == null || isNull(v)) return fallback;
  const b = valueBool(v);
  if (b < 0) {
    e.set("field '" + field + "' must be a boolean");
    return fallback;
  }
  return b == 1;
}

/** A number in [lo, hi], NaN when unset. */
export function num(o: JSON.Obj, key: string, field: string, lo: f64, hi: f64, e: ConfigErrors): f64 {
  const v = o.get(key);
  if (v == null || isNull(v)) return NaN;
  if (!isNumberType(v.type)) {
    e.set("field '" + field + "' must be a number");
    return NaN;
  }
  const n = valueNumber(v);
  if (!(n >= lo && n <= hi)) e.set("field '" + field + "' must be between " + fmt(lo) + " and " + fmt(hi));
  return n;
}

/** A bound as people write it: 5, not 5.0. */
function fmt(v: f64): string {
  return v == Math.floor(v) && Math.abs(v) < 1e15 ? (<i64>v).toString() : v.toString();
}

/** An integer in [lo, hi], UNSET when unset. */
export function int(o: JSON.Obj, key: string, field: string, lo: i64, hi: i64, e: ConfigErrors): i64 {
  const n = num(o, key, field, <f64>lo, <f64>hi, e);
  if (isNaN(n)) return UNSET;
  if (n != Math.floor(n)) {
    e.set("field '" + field + "' must be an integer");
    return UNSET;
  }
  return <i64>n;
}

export function obj(o: JSON.Obj, key: string, field: string, e: ConfigErrors): JSON.Obj | null {
  const v = o.get(key);
  if (v == null || isNull(v)) return null;
  const x = valueObj(v);
  if (x == null) e.set("field '" + field + "' must be an object");
  return x;
}

/** Refuses members outside `known`; members in `unsupported` are accepted only when null or false. */
export function checkKeys(o: JSON.Obj, prefix: string, known: string[], unsupported: string[], e: ConfigErrors): void {
  const keys = o.keys();
  for (let i = 0; i < keys.length; i++) {
    const k = unchecked(keys[i]);
    if (known.includes(k)) continue;
    if (unsupported.includes(k)) {
      const v = o.get(k);
      if (v == null || isNull(v) || valueBool(v) == 0) continue;
      e.set("field '" + prefix + k + "' is not supported by this gateway");
      continue;
    }
    e.set("field '" + prefix + k + "' is unknown");
  }
}

/** Parses a templatable field's value; records a malformed template as the error. */
function tmpl(value: string, field: string, e: ConfigErrors): Template | null {
  const p = parseTemplate(field, value);
  if (p.error != null) e.set(p.error!);
  return p.template;
}

/** Enum fields cannot hold a template (Kong's schema refuses them too). */
function noTemplate(value: string, field: string, e: ConfigErrors): void {
  if (value.indexOf("$(") >= 0) e.set("field '" + field + "' cannot be a template: it is one of a fixed set of values");
}

function validHeaderName(name: string): bool {
  if (name.length == 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const l = c | 0x20;
    const ok = (c >= 0x30 && c <= 0x39) || (l >= 0x61 && l <= 0x7a) || c == 0x2d || c == 0x5f || c == 0x2e || c == 0x21 || c == 0x23 || c == 0x24 || c == 0x25 || c == 0x26 || c == 0x27 || c == 0x2a || c == 0x2b || c == 0x5e || c == 0x60 || c == 0x7c || c == 0x7e;
    if (!ok) return false;
  }
  return true;
}

function validHeaderValue(v: string): bool {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c == 0x0d || c == 0x0a || c == 0) return false;
  }
  return true;
}

const VAULT_PREFIX = "{vault://env/";

/**
 * Replaces each `{vault://env/NAME}` reference in `value` with the variable from the VM
 * environment (so "Bearer {vault://env/OPENAI_API_KEY}" works). Kong's env vault
 * upper-cases the name and turns `-` into `_`. Returns null when a variable is unset (its
 * name goes to `missing`).
 */
export function resolveReference(value: string, env: Map<string, string>, missing: string[], resolved: string[] = []): string | null {
  let out = "";
  let from = 0;
  let ok = true;
  while (true) {
    const at = value.indexOf(VAULT_PREFIX, from);
    if (at < 0) break;
    const end = value.indexOf("}", at + VAULT_PREFIX.length);
    if (end < 0) break;
    const name = value.substring(at + VAULT_PREFIX.length, end).toUpperCase().replaceAll("-", "_");
    out += value.substring(from, at);
    if (name.length > 0 && env.has(name)) {
      const v = env.get(name);
      out += v;
      resolved.push(v);
    } else {
      missing.push(name);
      ok = false;
    }
    from = end + 1;
  }
  if (!ok) return null;
  return from == 0 ? value : out + value.substring(from);
}

/**
 * The credential as inserted, its token without an auth scheme (`Bearer sk-…` → `sk-…`: an
 * upstream echoes the key, not the header), and every vault value resolved into either.
 */
function collectSecrets(ac: AuthConfig, resolved: string[]): void {
  const s = ac.secrets;
  const hv = ac.headerValue;
  if (hv.length > 0) {
    s.add(hv);
    const sp = hv.indexOf(" ");
    if (sp > 0) s.add(hv.substring(sp + 1).trim());
  }
  if (ac.paramValue.length > 0) {
    s.add(ac.paramValue);
    s.add(percentEncode(ac.paramValue)); // as the query credential is written
  }
  for (let i = 0; i < resolved.length; i++) s.add(unchecked(resolved[i]));
}

const TOP_KEYS = ["route_type", "model", "auth", "logging", "response_streaming", "model_name_header", "max_request_body_size", "llm_format", "genai_category"];
const TOP_UNSUPPORTED: string[] = [];
const MODEL_KEYS = ["provider", "name", "options"];
const MODEL_UNSUPPORTED = ["model_alias"];
const OPTION_KEYS = [
  "max_tokens", "temperature", "top_p", "top_k", "input_cost", "output_cost", "upstream_url", "upstream_path",
  "anthropic_version", "azure_instance", "azure_deployment_id", "azure_api_version", "mistral_format", "llama2_format",
];
const OPTION_UNSUPPORTED = ["gemini", "bedrock", "huggingface", "cohere", "embeddings_dimensions", "dashscope", "databricks"];
const AUTH_KEYS = ["header_name", "header_value", "param_name", "param_value", "param_location", "allow_override"];
const AUTH_UNSUPPORTED = [
  "gcp_use_service_account", "gcp_service_account_json", "aws_access_key_id", "aws_secret_access_key",
  "azure_use_managed_identity", "azure_client_id", "azure_client_secret", "azure_tenant_id",
];
const LOGGING_KEYS = ["log_statistics", "log_payloads"];

/** Parses and checks the plugin configuration. `env` resolves `{vault://env/NAME}` credentials. */
export function parseConfig(bytes: Uint8Array, env: Map<string, string>): ConfigResult {
  if (bytes.length == 0) return new ConfigResult(null, "field 'route_type' is required (the configuration is empty)");
  const p = parseObject(bytes);
  if (p.value == null) return new ConfigResult(null, "configuration is not a valid JSON object: " + p.error!);
  const root = p.value!;
  const e = new ConfigErrors();
  const c = new AiProxyConfig();
  checkKeys(root, "", TOP_KEYS, TOP_UNSUPPORTED, e);

  readCommonFields(root, c, e);

  readLlmRecord(root, "", env, c, e);

  if (e.msg != null) return new ConfigResult(null, e.msg);
  return new ConfigResult(c, null);
}

/**
 * The top-level fields ai-proxy and ai-proxy-advanced share (llm_format, genai_category,
 * response_streaming, model_name_header, max_request_body_size) into `c`.
 */
export function readCommonFields(root: JSON.Obj, c: AiProxyConfig, e: ConfigErrors): void {
  const lf = str(root, "llm_format", "llm_format", e);
  if (lf.length > 0 && lf != "openai") e.set("field 'llm_format' must be 'openai' (native formats are not supported)");
  const gc = str(root, "genai_category", "genai_category", e);
  if (gc.length > 0 && gc != "text/generation" && gc != "text/embeddings") e.set("field 'genai_category' must be text/generation or text/embeddings");

  const rs = str(root, "response_streaming", "response_streaming", e);
  if (rs == "deny") c.responseStreaming = STREAMING_DENY;
  else if (rs == "always") c.responseStreaming = STREAMING_ALWAYS;
  else if (rs.length > 0 && rs != "allow") e.set("field 'response_streaming' must be one of allow, deny, always");
  c.modelNameHeader = boolField(root, "model_name_header", "model_name_header", true, e);
  const mb = int(root, "max_request_body_size", "max_request_body_size", 0, 1 << 30, e);
  if (mb != UNSET) c.maxRequestBodySize = mb;
}

/**
 * The LLM record (Kong's route_type, model, auth, logging) of object `o` into `c`. Field
 * names in errors carry `p`: "" for ai-proxy, "llm." for the transformers' `llm`, and
 * "targets[N]." for ai-proxy-advanced. The caller checks `o`'s other keys.
 */
export function readLlmRecord(o: JSON.Obj, p: string, env: Map<string, string>, c: AiProxyConfig, e: ConfigErrors): void {
  const rt = str(o, "route_type", p + "route_type", e);
  if (rt.length == 0) e.set("field '" + p + "route_type' is required");
  else {
    const r = parseRouteType(rt);
    if (r < 0) e.set("field '" + p + "route_type' must be one of llm/v1/chat, llm/v1/completions, llm/v1/embeddings, preserve (got '" + rt + "')");
    else c.route = <RouteType>r;
  }

  // model
  const m = obj(o, "model", p + "model", e);
  if (m == null) e.set("field '" + p + "model' is required");
  else {
    checkKeys(m, p + "model.", MODEL_KEYS, MODEL_UNSUPPORTED, e);
    const mc = c.model;
    mc.provider = str(m, "provider", p + "model.provider", e);
    if (mc.provider.length == 0) e.set("field '" + p + "model.provider' is required");
    else if (!PROVIDER_NAMES.includes(mc.provider)) e.set("field '" + p + "model.provider' must be one of " + PROVIDER_NAMES.join(", ") + " (got '" + mc.provider + "')");
    mc.name = str(m, "name", p + "model.name", e);
    const tp = new ModelTemplates();
    tp.name = tmpl(mc.name, p + "model.name", e);
    const opts = obj(m, "options", p + "model.options", e);
    if (opts != null) {
      checkKeys(opts, p + "model.options.", OPTION_KEYS, OPTION_UNSUPPORTED, e);
      const op = mc.options;
      op.maxTokens = int(opts, "max_tokens", p + "model.options.max_tokens", 1, 1 << 30, e);
      op.temperature = num(opts, "temperature", p + "model.options.temperature", 0, 5, e);
      op.topP = num(opts, "top_p", p + "model.options.top_p", 0, 1, e);
      op.topK = int(opts, "top_k", p + "model.options.top_k", 0, 500, e);
      op.inputCost = num(opts, "input_cost", p + "model.options.input_cost", 0, 1e12, e);
      op.outputCost = num(opts, "output_cost", p + "model.options.output_cost", 0, 1e12, e);
      op.upstreamUrl = str(opts, "upstream_url", p + "model.options.upstream_url", e);
      tp.upstreamUrl = tmpl(op.upstreamUrl, p + "model.options.upstream_url", e);
      op.upstreamPath = str(opts, "upstream_path", p + "model.options.upstream_path", e);
      tp.upstreamPath = tmpl(op.upstreamPath, p + "model.options.upstream_path", e);
      if (tp.upstreamPath == null && op.upstreamPath.length > 0 && !op.upstreamPath.startsWith("/")) e.set("field '" + p + "model.options.upstream_path' must start with /");
      op.anthropicVersion = str(opts, "anthropic_version", p + "model.options.anthropic_version", e);
      tp.anthropicVersion = tmpl(op.anthropicVersion, p + "model.options.anthropic_version", e);
      op.azureInstance = str(opts, "azure_instance", p + "model.options.azure_instance", e);
      tp.azureInstance = tmpl(op.azureInstance, p + "model.options.azure_instance", e);
      op.azureDeploymentId = str(opts, "azure_deployment_id", p + "model.options.azure_deployment_id", e);
      tp.azureDeploymentId = tmpl(op.azureDeploymentId, p + "model.options.azure_deployment_id", e);
      const av = str(opts, "azure_api_version", p + "model.options.azure_api_version", e);
      if (av.length > 0) op.azureApiVersion = av;
      tp.azureApiVersion = tmpl(av, p + "model.options.azure_api_version", e);
      op.mistralFormat = str(opts, "mistral_format", p + "model.options.mistral_format", e);
      noTemplate(op.mistralFormat, p + "model.options.mistral_format", e);
      op.llama2Format = str(opts, "llama2_format", p + "model.options.llama2_format", e);
      noTemplate(op.llama2Format, p + "model.options.llama2_format", e);
      if (!validHeaderValue(op.anthropicVersion)) e.set("field '" + p + "model.options.anthropic_version' must not contain CR, LF or NUL");
    }
    if (tp.any) c.templates = tp;
  }

  // auth
  const a = obj(o, "auth", p + "auth", e);
  if (a != null) {
    checkKeys(a, p + "auth.", AUTH_KEYS, AUTH_UNSUPPORTED, e);
    const ac = c.auth;
    const missing = new Array<string>();
    ac.headerName = str(a, "header_name", p + "auth.header_name", e).toLowerCase();
    const resolved = new Array<string>();
    const hv = resolveReference(str(a, "header_value", p + "auth.header_value", e), env, missing, resolved);
    ac.headerValue = hv != null ? hv : "";
    ac.paramName = str(a, "param_name", p + "auth.param_name", e);
    const pv = resolveReference(str(a, "param_value", p + "auth.param_value", e), env, missing, resolved);
    ac.paramValue = pv != null ? pv : "";
    ac.paramLocation = str(a, "param_location", p + "auth.param_location", e);
    ac.allowOverride = boolField(a, "allow_override", p + "auth.allow_override", false, e);
    if (missing.length > 0) ac.missingEnv = unchecked(missing[0]);
    collectSecrets(ac, resolved);
    const hasHeaderValue = hv == null || ac.headerValue.length > 0;
    if ((ac.headerName.length > 0) != hasHeaderValue) e.set("fields '" + p + "auth.header_name' and '" + p + "auth.header_value' must be set together");
    if (ac.headerName.length > 0 && !validHeaderName(ac.headerName)) e.set("field '" + p + "auth.header_name' is not a valid header name");
    if (!validHeaderValue(ac.headerValue)) e.set("field '" + p + "auth.header_value' must not contain CR, LF or NUL");
    const hasParamValue = pv == null || ac.paramValue.length > 0;
    const pset = (ac.paramName.length > 0 ? 1 : 0) + (hasParamValue ? 1 : 0) + (ac.paramLocation.length > 0 ? 1 : 0);
    if (pset != 0 && pset != 3) e.set("fields '" + p + "auth.param_name', '" + p + "auth.param_value' and '" + p + "auth.param_location' must be set together");
    if (ac.paramLocation.length > 0 && ac.paramLocation != "query" && ac.paramLocation != "body") e.set("field '" + p + "auth.param_location' must be query or body");
  }

  // logging
  const lg = obj(o, "logging", p + "logging", e);
  if (lg != null) {
    checkKeys(lg, p + "logging.", LOGGING_KEYS, [], e);
    c.logStatistics = boolField(lg, "log_statistics", p + "logging.log_statistics", false, e);
    c.logPayloads = boolField(lg, "log_payloads", p + "logging.log_payloads", false, e);
  }
  if (c.logStatistics && c.model.provider == "anthropic" && c.route == RouteType.Completions) {
    e.set("field '" + p + "logging.log_statistics' cannot be enabled for provider anthropic with route_type llm/v1/completions");
  }
}
