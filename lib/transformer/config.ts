// The configuration both transformers share (Kong's ai-request-transformer and
// ai-response-transformer fields, reference §7–8), plus this gateway's two fields:
//   llm_cluster                       the Envoy cluster for the LLM call (default: the URL's authority)
//   allow_on_headers_stop_iteration   says that Envoy runs this filter with the PluginConfig
//                                     field of the same name set to true (the filter cannot read it)
// Parsed once per worker in on_configure (lib/transformer/root.ts); the first problem is reported naming the field.

import { JSON } from "json-as";
import { isNull, parseObject } from "../json";
import { compile, Regex } from "../regex";
import { RouteType, UNSET, UpstreamTarget, Provider } from "../llm/provider";
import { providerFor } from "../llm/providers/index";
import { AiProxyConfig, boolField, checkKeys, ConfigErrors, int, obj, readLlmRecord, str } from "../llm/route/config";
import { ServiceEndpoint, serviceEndpoint } from "../runtime/service-call";

/** Kong 3.12+ default; 0 means no limit of the filter's own (Envoy's buffer limit still applies). */
export const DEFAULT_MAX_REQUEST_BODY_SIZE: i64 = 1048576;
export const DEFAULT_HTTP_TIMEOUT_MS: i64 = 60000;
/** Why parse_llm_response_json_instructions cannot work without held response headers (a 500 and a load-time warning). */
export const NEEDS_STOP_ITERATION =
  "parse_llm_response_json_instructions needs the upstream response headers held while its body is read: run this filter with allow_on_headers_stop_iteration: true in Envoy (1.35 or later) and set allow_on_headers_stop_iteration: true in its configuration";
/** Kong's transformation_extract_pattern is a string of at most 500 characters. */
export const MAX_PATTERN_CHARS: i32 = 500;

export class TransformerConfig {
  prompt: string = "";
  /** Compiled case-insensitive (Kong matches with the `i` option); null when unset. */
  pattern: Regex | null = null;
  httpTimeoutMs: u32 = <u32>DEFAULT_HTTP_TIMEOUT_MS;
  httpsVerify: bool = true;
  maxRequestBodySize: i64 = DEFAULT_MAX_REQUEST_BODY_SIZE;
  parseJsonInstructions: bool = false;
  allowOnHeadersStopIteration: bool = false;
  /** The `llm` record, parsed as ai-proxy parses its own. */
  llm: AiProxyConfig = new AiProxyConfig();
  provider: Provider | null = null;
  target: UpstreamTarget | null = null;
  endpoint: ServiceEndpoint | null = null;
  /** Lines on_configure logs at WARN (settings accepted that the gateway does differently). */
  warnings: string[] = [];
}

export class TransformerConfigResult {
  constructor(
    public config: TransformerConfig | null,
    public error: string | null,
  ) {}
}

const COMMON_KEYS = ["prompt", "transformation_extract_pattern", "http_timeout", "https_verify", "max_request_body_size", "llm", "llm_cluster", "allow_on_headers_stop_iteration"];
const RESPONSE_KEYS = ["parse_llm_response_json_instructions"];
const PROXY_KEYS = ["http_proxy_host", "http_proxy_port", "https_proxy_host", "https_proxy_port"];
const LLM_KEYS = ["route_type", "model", "auth", "logging"];

/** Unicode code points in `s` (Kong counts a string's length in characters). */
function codePoints(s: string): i32 {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff) n++;
  }
  return n;
}

/**
 * Parses a transformer's configuration. `response` accepts parse_llm_response_json_instructions
 * (ai-response-transformer). `env` resolves `{vault://env/NAME}` credentials.
 */
export function parseTransformerConfig(bytes: Uint8Array, env: Map<string, string>, response: bool): TransformerConfigResult {
  if (bytes.length == 0) return new TransformerConfigResult(null, "field 'prompt' is required (the configuration is empty)");
  const p = parseObject(bytes);
  if (p.value == null) return new TransformerConfigResult(null, "configuration is not a valid JSON object: " + p.error!);
  const root = p.value!;
  const e = new ConfigErrors();
  const c = new TransformerConfig();

  const known = COMMON_KEYS.concat(PROXY_KEYS);
  checkKeys(root, "", response ? known.concat(RESPONSE_KEYS) : known, [], e);
  // Kong's forward-proxy fields are accepted by name and refused when set: in Envoy the LLM
  // is reached through a cluster, which is where a forward proxy belongs.
  for (let i = 0; i < PROXY_KEYS.length; i++) {
    const k = unchecked(PROXY_KEYS[i]);
    const v = root.get(k);
    if (v != null && !isNull(v)) {
      e.set("field '" + k + "' is not supported: Envoy reaches the LLM through a cluster (llm_cluster, or the LLM URL's authority); configure a forward proxy on that cluster instead");
    }
  }

  c.prompt = str(root, "prompt", "prompt", e);
  if (c.prompt.length == 0) e.set("field 'prompt' is required");

  const pat = str(root, "transformation_extract_pattern", "transformation_extract_pattern", e);
  if (pat.length > 0) {
    const n = codePoints(pat);
    if (n > MAX_PATTERN_CHARS) e.set("field 'transformation_extract_pattern' must be at most " + MAX_PATTERN_CHARS.toString() + " characters long (it has " + n.toString() + ")");
    // Kong matches case-insensitively; a pattern's own (?-i) still turns that off.
    const r = compile("(?i)" + pat);
    if (r.error != null) e.set("field 'transformation_extract_pattern' cannot be used: " + r.error!);
    else c.pattern = r.regex;
  }

  const t = int(root, "http_timeout", "http_timeout", 1, 0x7fffffff, e);
  if (t != UNSET) c.httpTimeoutMs = <u32>t;
  c.httpsVerify = boolField(root, "https_verify", "https_verify", true, e);
  if (!c.httpsVerify) c.warnings.push("field 'https_verify' is false, but TLS verification of the LLM is set on its Envoy cluster's transport_socket, not here; the cluster's setting applies");
  const mb = int(root, "max_request_body_size", "max_request_body_size", 0, 1 << 30, e);
  if (mb != UNSET) c.maxRequestBodySize = mb;
  c.allowOnHeadersStopIteration = boolField(root, "allow_on_headers_stop_iteration", "allow_on_headers_stop_iteration", false, e);
  if (response) c.parseJsonInstructions = boolField(root, "parse_llm_response_json_instructions", "parse_llm_response_json_instructions", false, e);
  if (c.parseJsonInstructions && !c.allowOnHeadersStopIteration) c.warnings.push(NEEDS_STOP_ITERATION + "; until then every response it would transform is answered 500");
  const cluster = str(root, "llm_cluster", "llm_cluster", e);

  const llm = obj(root, "llm", "llm", e);
  if (llm == null) e.set("field 'llm' is required");
  else readLlm(llm, env, c, e);
  if (e.msg != null) return new TransformerConfigResult(null, e.msg);

  const m = c.llm.model;
  const prov = providerFor(m);
  if (prov == null) return new TransformerConfigResult(null, "field 'llm.model.provider' is unknown: " + m.provider);
  const v = prov.validate(RouteType.Chat);
  if (v != null) return new TransformerConfigResult(null, "llm." + v);
  const target = prov.target(RouteType.Chat);
  if (target == null) return new TransformerConfigResult(null, "field 'llm.model.options.upstream_url' is not a valid http(s) URL");
  c.provider = prov;
  c.target = target;
  c.endpoint = serviceEndpoint(target.scheme, target.authority, target.path, cluster);
  return new TransformerConfigResult(c, null);
}

function readLlm(llm: JSON.Obj, env: Map<string, string>, c: TransformerConfig, e: ConfigErrors): void {
  checkKeys(llm, "llm.", LLM_KEYS, [], e);
  readLlmRecord(llm, "llm.", env, c.llm, e);
  if (e.msg != null) return;
  if (c.llm.route != RouteType.Chat) e.set("field 'llm.route_type' must be llm/v1/chat for this plugin");
  // There is no client LLM request to take the model from: the record names it.
  if (c.llm.model.name.length == 0) e.set("field 'llm.model.name' is required for this plugin");
  if (c.llm.templates != null) e.set("field 'llm.model' cannot use $(headers.…)/$(query_params.…) templates in this plugin");
}
