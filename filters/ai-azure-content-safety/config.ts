// ai-azure-content-safety configuration: Kong's fields, names and defaults (reference §10),
// plus this gateway's `content_safety_cluster`, `http_timeout` and `hold_response_headers`.
// Parsed once per worker in on_configure; the first problem is refused naming the field.

import { JSON } from "json-as";
import { arrAt, isNull, parseObject, valueArr, valueObj, valueString } from "../../lib/json";
import { boolField, checkKeys, ConfigErrors, int, num, resolveReference, str } from "../../lib/llm/route/config";
import { parseUrl, UNSET } from "../../lib/llm/provider";
import { joinPath, percentEncode, setParam } from "../../lib/llm/route/url";
import { ServiceEndpoint, serviceEndpoint } from "../../lib/runtime/service-call";
import { HeaderPair } from "../../lib/abi/pairs";
import { IdentityConfig, identityConfig } from "./identity";

export const enum TextSource {
  AllContent = 0,
  UserContent = 1,
  LastMessage = 2,
}

/** The categories Azure's text:analyze knows. */
export const AZURE_CATEGORIES: string[] = ["Hate", "SelfHarm", "Sexual", "Violence"];

export class Category {
  constructor(
    public name: string,
    public rejectionLevel: i32,
  ) {}
}

export class SafetyConfig {
  /** The configured URL as written (for the audit record; it holds no secret). */
  url: string = "";
  endpoint: ServiceEndpoint = new ServiceEndpoint("", "https", "", "/");
  apiVersion: string = "2023-10-01";
  /** The resolved key (never logged). */
  key: string = "";
  categories: Category[] = [];
  eightLevels: bool = false;
  blocklists: string[] = [];
  haltOnBlocklistHit: bool = true;
  revealFailureReason: bool = true;
  textSource: TextSource = TextSource.AllContent;
  guardInput: bool = true;
  guardOutput: bool = false;
  /** Bytes of generated text per output check. */
  responseBufferSize: i32 = 100;
  stopOnError: bool = true;
  logBlockedContent: bool = false;
  /** Side-call timeout (ms): Kong's AI plugins' http_timeout. */
  httpTimeout: u32 = 60000;
  /** Hold non-streamed response headers until the answer is checked (needs Envoy's allow_on_headers_stop_iteration). */
  holdResponseHeaders: bool = false;
  /** azure_use_managed_identity: the token request (null: the key is used). */
  identity: IdentityConfig | null = null;
  /** content-type and Ocp-Apim-Subscription-Key for every call, made once (content-type only with an identity). */
  callHeaders: HeaderPair[] = [];
  /** The text:analyze body after the text, made once (azure.ts). */
  analyzeSuffix: Uint8Array = new Uint8Array(0);

  get modeName(): string {
    return this.guardInput ? (this.guardOutput ? "BOTH" : "INPUT") : "OUTPUT";
  }
}

export class ConfigResult {
  constructor(
    public config: SafetyConfig | null,
    public error: string | null,
  ) {}
}

const KNOWN = [
  "content_safety_url", "azure_api_version", "content_safety_key", "categories", "output_type", "blocklist_names",
  "halt_on_blocklist_hit", "reveal_failure_reason", "text_source", "guarding_mode", "response_buffer_size", "stop_on_error",
  "log_blocked_content", "ssl_verify", "azure_use_managed_identity", "azure_client_id", "azure_client_secret", "azure_tenant_id",
  "content_safety_cluster", "http_timeout", "hold_response_headers", "azure_identity_cluster",
];

function fail(m: string): ConfigResult {
  return new ConfigResult(null, m);
}

/** A list of strings at `key` (null/absent: empty). */
function stringList(o: JSON.Obj, key: string, e: ConfigErrors): string[] {
  const out = new Array<string>();
  const v = o.get(key);
  if (v == null || isNull(v)) return out;
  const a = valueArr(v);
  if (a == null) {
    e.set("field '" + key + "' must be an array of strings");
    return out;
  }
  for (let i = 0; i < a.length; i++) {
    const s = valueString(arrAt(a, i));
    if (s == null || s.length == 0) {
      e.set("field '" + key + "[" + i.toString() + "]' must be a non-empty string");
      return out;
    }
    out.push(s);
  }
  return out;
}

function readCategories(o: JSON.Obj, c: SafetyConfig, e: ConfigErrors): void {
  const v = o.get("categories");
  if (v == null || isNull(v)) return;
  const a = valueArr(v);
  if (a == null) {
    e.set("field 'categories' must be an array of {name, rejection_level}");
    return;
  }
  for (let i = 0; i < a.length; i++) {
    const p = "categories[" + i.toString() + "]";
    const item = valueObj(arrAt(a, i));
    if (item == null) {
      e.set("field '" + p + "' must be an object {name, rejection_level}");
      return;
    }
    checkKeys(item, p + ".", ["name", "rejection_level"], [], e);
    const name = str(item, "name", p + ".name", e);
    if (!AZURE_CATEGORIES.includes(name)) {
      e.set("field '" + p + ".name' must be one of " + AZURE_CATEGORIES.join(", ") + " (Azure's text categories)");
      return;
    }
    const level = int(item, "rejection_level", p + ".rejection_level", 0, 7, e);
    if (level == UNSET) {
      e.set("field '" + p + ".rejection_level' is required (an integer from 0 to 7)");
      return;
    }
    for (let k = 0; k < c.categories.length; k++) {
      if (c.categories[k].name == name) {
        e.set("field '" + p + ".name': category " + name + " is listed twice");
        return;
      }
    }
    c.categories.push(new Category(name, <i32>level));
  }
}

/** A string field that may hold `{vault://env/NAME}`; a missing variable is an error naming the field. */
function referenced(o: JSON.Obj, key: string, env: Map<string, string>, e: ConfigErrors): string {
  const raw = str(o, key, key, e);
  const missing = new Array<string>();
  const v = resolveReference(raw, env, missing);
  if (v == null) {
    e.set("field '" + key + "': environment variable " + missing[0] + " is not set");
    return "";
  }
  return v;
}

/** Parses the configuration; `env` resolves `{vault://env/NAME}` in content_safety_key and content_safety_url. */
export function parseConfig(bytes: Uint8Array, env: Map<string, string>): ConfigResult {
  if (bytes.length == 0) return fail("field 'content_safety_url' is required (the configuration is empty)");
  const p = parseObject(bytes);
  if (p.value == null) return fail("configuration is not a valid JSON object: " + p.error!);
  const o = p.value!;
  const e = new ConfigErrors();
  const c = new SafetyConfig();
  checkKeys(o, "", KNOWN, [], e);
  if (e.msg != null) return fail(e.msg!);

  const useIdentity = boolField(o, "azure_use_managed_identity", "azure_use_managed_identity", false, e);
  const identityCluster = str(o, "azure_identity_cluster", "azure_identity_cluster", e);
  if (!useIdentity) {
    // Unused without the identity: only their types are checked.
    str(o, "azure_client_id", "azure_client_id", e);
    str(o, "azure_client_secret", "azure_client_secret", e);
    str(o, "azure_tenant_id", "azure_tenant_id", e);
  } else {
    const clientId = referenced(o, "azure_client_id", env, e);
    const secret = referenced(o, "azure_client_secret", env, e);
    const tenant = referenced(o, "azure_tenant_id", env, e);
    if (e.msg != null) return fail(e.msg!);
    if (secret.length > 0 && (tenant.length == 0 || clientId.length == 0)) {
      return fail("field 'azure_tenant_id' and 'azure_client_id' are required with azure_client_secret (the client-credentials grant)");
    }
    c.identity = identityConfig(clientId, secret, tenant, identityCluster);
  }

  const rawUrl = str(o, "content_safety_url", "content_safety_url", e);
  if (e.msg != null) return fail(e.msg!);
  if (rawUrl.length == 0) return fail("field 'content_safety_url' is required");
  const missingUrl = new Array<string>();
  const url = resolveReference(rawUrl, env, missingUrl);
  if (url == null) return fail("field 'content_safety_url': environment variable " + missingUrl[0] + " is not set");
  const target = parseUrl(url);
  if (target == null) return fail("field 'content_safety_url' must be an http(s) URL with a host, e.g. https://<resource>.cognitiveservices.azure.com/contentsafety/text:analyze");
  c.url = rawUrl;

  const version = str(o, "azure_api_version", "azure_api_version", e);
  if (o.has("azure_api_version") && !isNull(o.get("azure_api_version")) && version.length == 0) return fail("field 'azure_api_version' must not be empty");
  if (version.length > 0) c.apiVersion = version;
  const cluster = str(o, "content_safety_cluster", "content_safety_cluster", e);
  c.endpoint = serviceEndpoint(target!.scheme, target!.authority, joinPath(target!.path, setParam(target!.query, "api-version", percentEncode(c.apiVersion))), cluster);

  const rawKey = str(o, "content_safety_key", "content_safety_key", e);
  if (e.msg != null) return fail(e.msg!);
  if (c.identity != null) {
    c.callHeaders = [new HeaderPair("content-type", "application/json")];
  } else {
    if (rawKey.length == 0) return fail("field 'content_safety_key' is required (sent as Ocp-Apim-Subscription-Key) unless azure_use_managed_identity");
    const missingKey = new Array<string>();
    const key = resolveReference(rawKey, env, missingKey);
    if (key == null) return fail("field 'content_safety_key': environment variable " + missingKey[0] + " is not set");
    for (let i = 0; i < key.length; i++) {
      const ch = key.charCodeAt(i);
      if (ch < 0x20 || ch == 0x7f) return fail("field 'content_safety_key' must not contain control characters");
    }
    c.key = key;
    c.callHeaders = [new HeaderPair("content-type", "application/json"), new HeaderPair("ocp-apim-subscription-key", key)];
  }

  readCategories(o, c, e);
  const ot = str(o, "output_type", "output_type", e);
  if (ot == "EightSeverityLevels") c.eightLevels = true;
  else if (ot.length > 0 && ot != "FourSeverityLevels") e.set("field 'output_type' must be FourSeverityLevels or EightSeverityLevels");
  c.blocklists = stringList(o, "blocklist_names", e);
  c.haltOnBlocklistHit = boolField(o, "halt_on_blocklist_hit", "halt_on_blocklist_hit", true, e);
  c.revealFailureReason = boolField(o, "reveal_failure_reason", "reveal_failure_reason", true, e);

  const ts = str(o, "text_source", "text_source", e);
  if (ts == "concatenate_user_content") c.textSource = TextSource.UserContent;
  else if (ts == "last_message") c.textSource = TextSource.LastMessage;
  else if (ts.length > 0 && ts != "concatenate_all_content") e.set("field 'text_source' must be one of concatenate_all_content, concatenate_user_content, last_message");

  const gm = str(o, "guarding_mode", "guarding_mode", e);
  if (gm == "OUTPUT") {
    c.guardInput = false;
    c.guardOutput = true;
  } else if (gm == "BOTH") c.guardOutput = true;
  else if (gm.length > 0 && gm != "INPUT") e.set("field 'guarding_mode' must be one of INPUT, OUTPUT, BOTH");

  // Kong types it as a number; a fraction of a byte means nothing, so it is rounded down.
  const rb = num(o, "response_buffer_size", "response_buffer_size", 1, 1048576, e);
  if (!isNaN(rb)) c.responseBufferSize = <i32>Math.floor(rb);
  c.stopOnError = boolField(o, "stop_on_error", "stop_on_error", true, e);
  c.logBlockedContent = boolField(o, "log_blocked_content", "log_blocked_content", false, e);
  // TLS to Azure is the cluster's transport socket in Envoy: verification is configured there.
  boolField(o, "ssl_verify", "ssl_verify", true, e);
  const t = int(o, "http_timeout", "http_timeout", 1, 3600000, e);
  if (t != UNSET) c.httpTimeout = <u32>t;
  c.holdResponseHeaders = boolField(o, "hold_response_headers", "hold_response_headers", false, e);

  if (e.msg != null) return fail(e.msg!);
  return new ConfigResult(c, null);
}
