// ai-rate-limiting-advanced configuration, with Kong's field names and defaults (reference
// kong-ai-plugins.md §9.1), plus this gateway's `reservation` and `rate_limit_service` blocks.
// A bad field refuses the configuration with a message that names it.

import { JSON } from "json-as";
import { arrAt, isNull, parseObject, valueArr, valueBool, valueNumber, valueObj, valueString } from "../../lib/json/read";
import { windowName } from "../../lib/ratelimit/window";

export enum CountStrategy {
  TotalTokens = 0,
  PromptTokens = 1,
  CompletionTokens = 2,
  Cost = 3,
}

export enum Identifier {
  Ip = 0,
  Header = 1,
  Path = 2,
  Consumer = 3,
  Credential = 4,
  Service = 5,
}

export enum Strategy {
  Local = 0,
  Cluster = 1,
}

/** Kong's provider names (3.15), `requestPrompt` included. */
export const PROVIDER_NAMES: string[] = ["openai", "azure", "anthropic", "cohere", "mistral", "llama2", "bedrock", "gemini", "huggingface", "requestPrompt"];
export const REQUEST_PROMPT = "requestPrompt";

/** Window sizes Envoy's rate limit service can count (its units, one each). */
export const RLS_UNITS: i64[] = [1, 60, 3600, 86400, 2592000, 31536000];
export const RLS_UNIT_NAMES: string[] = ["SECOND", "MINUTE", "HOUR", "DAY", "MONTH", "YEAR"];

/** Kong's X-AI-RateLimit-* header names of one window ("…-minute-openai"), made once. */
export class WindowHeaders {
  limit: string;
  remaining: string;
  queryCost: string;
  reset: string;
  retryAfter: string;
  /** The names every admitted response carries, encoded. */
  limitKey: ArrayBuffer;
  remainingKey: ArrayBuffer;
  queryCostKey: ArrayBuffer;

  constructor(provider: string, size: i64) {
    const sx = windowName(size) + "-" + provider;
    const limit = "X-AI-RateLimit-Limit-" + sx;
    const remaining = "X-AI-RateLimit-Remaining-" + sx;
    const queryCost = "X-AI-RateLimit-Query-Cost-" + sx;
    this.limit = limit;
    this.remaining = remaining;
    this.queryCost = queryCost;
    this.reset = "X-AI-RateLimit-Reset-" + sx;
    this.retryAfter = "X-AI-RateLimit-Retry-After-" + sx;
    this.limitKey = String.UTF8.encode(limit);
    this.remainingKey = String.UTF8.encode(remaining);
    this.queryCostKey = String.UTF8.encode(queryCost);
  }
}

/** One window of one provider. */
export class Window {
  readonly headers: WindowHeaders;
  /** The counter key up to the identifier (local store), encoded, once the namespace is known: "airl:NS:PROVIDER:SIZE:". */
  keyPrefix: ArrayBuffer = new ArrayBuffer(0);

  constructor(
    public provider: string,
    public limit: f64,
    public size: i64,
  ) {
    this.headers = new WindowHeaders(provider, size);
  }
}

export class RateLimitConfig {
  /** Every provider × window, in configuration order. */
  windows: Window[] = [];
  strategy: CountStrategy = CountStrategy.TotalTokens;
  identifier: Identifier = Identifier.Consumer;
  headerName: string = "";
  path: string = "";
  sliding: bool = true;
  store: Strategy = Strategy.Local;
  syncRate: f64 = NaN;
  namespace: string = "";
  hideClientHeaders: bool = false;
  retryAfterJitterMax: i64 = 0;
  errorCode: u32 = 429;
  errorMessage: string = "AI token rate limit exceeded for provider(s): ";
  errorHideProviders: bool = false;
  disablePenalty: bool = false;
  // reservation (this gateway's)
  reserve: bool = true;
  completionTokens: i64 = 4096;
  inputCost: f64 = NaN;
  outputCost: f64 = NaN;
  // rate_limit_service (strategy cluster)
  rlsCluster: string = "";
  rlsDomain: string = "ai-gateway";
  rlsTimeoutMs: u32 = 1000;
  rlsFailureModeDeny: bool = false;
}

export class ConfigResult {
  constructor(
    public config: RateLimitConfig | null,
    public error: string | null,
  ) {}
}

const KNOWN: string[] = [
  "llm_providers", "policies", "tokens_count_strategy", "identifier", "header_name", "path", "window_type", "strategy",
  "sync_rate", "dictionary_name", "namespace", "hide_client_headers", "retry_after_jitter_max", "error_code",
  "error_message", "error_hide_providers", "disable_penalty", "request_prompt_count_function", "custom_cost_count_function",
  "decrease_by_fractions_in_redis", "llm_format", "redis", "reservation", "rate_limit_service",
];

/** The largest completion bound a request can reserve (ai-proxy's own max for max_tokens). */
export const MAX_COMPLETION_BOUND: i64 = 1 << 30;
/** The largest limit accepted: counts stay exact in f64 well past it. */
const MAX_LIMIT: f64 = 1e15;
const MAX_WINDOW: f64 = 31536000.0 * 10.0;

function present(o: JSON.Obj, k: string): JSON.Value | null {
  const v = o.get(k);
  return v == null || isNull(v) ? null : v;
}

function str(o: JSON.Obj, k: string, name: string, err: string[]): string | null {
  const v = present(o, k);
  if (v == null) return null;
  const s = valueString(v);
  if (s == null) err.push("field '" + name + "' must be a string");
  return s;
}

function boolean(o: JSON.Obj, k: string, name: string, fallback: bool, err: string[]): bool {
  const v = present(o, k);
  if (v == null) return fallback;
  const b = valueBool(v);
  if (b < 0) err.push("field '" + name + "' must be a boolean");
  return b == 1;
}

function num(o: JSON.Obj, k: string, name: string, lo: f64, hi: f64, integer: bool, err: string[]): f64 {
  const v = present(o, k);
  if (v == null) return NaN;
  const n = valueNumber(v);
  if (isNaN(n) || n < lo || n > hi || (integer && n != Math.floor(n))) {
    err.push("field '" + name + "' must be " + (integer ? "an integer" : "a number") + " from " + lo.toString() + " to " + hi.toString());
    return NaN;
  }
  return n;
}

/** A number or an array of numbers (Kong 3.9 / 3.15); the error names `name`. */
function numbers(v: JSON.Value | null, name: string, lo: f64, integer: bool, hi: f64, err: string[]): f64[] {
  const out = new Array<f64>();
  if (v == null || isNull(v)) {
    err.push("field '" + name + "' is required");
    return out;
  }
  const arr = valueArr(v);
  if (arr == null) {
    const n = valueNumber(v);
    if (isNaN(n) || n < lo || n > hi || (integer && n != Math.floor(n))) err.push("field '" + name + "' must be " + (integer ? "an integer" : "a number") + " from " + lo.toString() + " to " + hi.toString() + ", or an array of them");
    else out.push(n);
    return out;
  }
  if (arr.length == 0) err.push("field '" + name + "' must not be empty");
  for (let i = 0; i < arr.length; i++) {
    const n = valueNumber(arrAt(arr, i));
    if (isNaN(n) || n < lo || n > hi || (integer && n != Math.floor(n))) {
      err.push("field '" + name + "[" + i.toString() + "]' must be " + (integer ? "an integer" : "a number") + " from " + lo.toString() + " to " + hi.toString());
      return out;
    }
    out.push(n);
  }
  return out;
}

function parseProviders(v: JSON.Value, c: RateLimitConfig, err: string[]): void {
  const arr = valueArr(v);
  if (arr == null || arr.length == 0) {
    err.push("field 'llm_providers' must be a non-empty array of {name, limit, window_size}");
    return;
  }
  const seen = new Array<string>();
  for (let i = 0; i < arr.length; i++) {
    const at = "llm_providers[" + i.toString() + "]";
    const o = valueObj(arrAt(arr, i));
    if (o == null) {
      err.push("field '" + at + "' must be an object {name, limit, window_size}");
      return;
    }
    const keys = o.keys();
    for (let k = 0; k < keys.length; k++) {
      const key = unchecked(keys[k]);
      if (key != "name" && key != "limit" && key != "window_size") {
        err.push("field '" + at + "." + key + "' is not allowed");
        return;
      }
    }
    const name = str(o, "name", at + ".name", err);
    if (err.length > 0) return;
    if (name == null || !PROVIDER_NAMES.includes(name)) {
      err.push("field '" + at + ".name' must be one of " + PROVIDER_NAMES.join(", "));
      return;
    }
    if (seen.includes(name)) {
      err.push("field '" + at + ".name': provider " + name + " is listed twice");
      return;
    }
    seen.push(name);
    const limits = numbers(o.get("limit"), at + ".limit", 0, false, MAX_LIMIT, err);
    const sizes = numbers(o.get("window_size"), at + ".window_size", 1, true, MAX_WINDOW, err);
    if (err.length > 0) return;
    if (limits.length != sizes.length) {
      err.push("fields '" + at + ".limit' and '" + at + ".window_size' must have the same length");
      return;
    }
    for (let w = 0; w < sizes.length; w++) {
      const size = <i64>unchecked(sizes[w]);
      for (let x = 0; x < w; x++) {
        if (<i64>unchecked(sizes[x]) == size) {
          err.push("field '" + at + ".window_size[" + w.toString() + "]': window " + size.toString() + " is listed twice");
          return;
        }
      }
      c.windows.push(new Window(name, unchecked(limits[w]), size));
    }
  }
}

function parseReservation(v: JSON.Value, c: RateLimitConfig, err: string[]): void {
  const o = valueObj(v);
  if (o == null) {
    err.push("field 'reservation' must be an object");
    return;
  }
  const keys = o.keys();
  for (let k = 0; k < keys.length; k++) {
    const key = unchecked(keys[k]);
    if (key != "enabled" && key != "completion_tokens" && key != "input_cost" && key != "output_cost") {
      err.push("field 'reservation." + key + "' is not allowed");
      return;
    }
  }
  c.reserve = boolean(o, "enabled", "reservation.enabled", true, err);
  const ct = num(o, "completion_tokens", "reservation.completion_tokens", 0, <f64>MAX_COMPLETION_BOUND, true, err);
  if (!isNaN(ct)) c.completionTokens = <i64>ct;
  c.inputCost = num(o, "input_cost", "reservation.input_cost", 0, 1e9, false, err);
  c.outputCost = num(o, "output_cost", "reservation.output_cost", 0, 1e9, false, err);
}

function parseRls(v: JSON.Value, c: RateLimitConfig, err: string[]): void {
  const o = valueObj(v);
  if (o == null) {
    err.push("field 'rate_limit_service' must be an object");
    return;
  }
  const keys = o.keys();
  for (let k = 0; k < keys.length; k++) {
    const key = unchecked(keys[k]);
    if (key != "cluster" && key != "domain" && key != "timeout_ms" && key != "failure_mode_deny") {
      err.push("field 'rate_limit_service." + key + "' is not allowed");
      return;
    }
  }
  const cl = str(o, "cluster", "rate_limit_service.cluster", err);
  if (cl != null) c.rlsCluster = cl;
  const d = str(o, "domain", "rate_limit_service.domain", err);
  if (d != null) {
    if (d.length == 0) err.push("field 'rate_limit_service.domain' must not be empty");
    c.rlsDomain = d;
  }
  const t = num(o, "timeout_ms", "rate_limit_service.timeout_ms", 1, 60000, true, err);
  if (!isNaN(t)) c.rlsTimeoutMs = <u32>t;
  c.rlsFailureModeDeny = boolean(o, "failure_mode_deny", "rate_limit_service.failure_mode_deny", false, err);
}

export function parseConfig(bytes: Uint8Array, pluginName: string): ConfigResult {
  if (bytes.length == 0) return new ConfigResult(null, "field 'llm_providers' is required");
  const parsed = parseObject(bytes);
  if (parsed.error != null) return new ConfigResult(null, "configuration is not valid JSON: " + parsed.error!);
  const root = parsed.value!;
  const keys = root.keys();
  for (let i = 0; i < keys.length; i++) {
    if (!KNOWN.includes(unchecked(keys[i]))) return new ConfigResult(null, "field '" + unchecked(keys[i]) + "' is not allowed");
  }
  const err = new Array<string>();
  const c = new RateLimitConfig();

  if (present(root, "policies") != null) err.push("field 'policies' is not supported yet: use 'llm_providers'");
  if (present(root, "request_prompt_count_function") != null) err.push("field 'request_prompt_count_function' is not supported: a Wasm filter cannot run Lua; requestPrompt counts the prompt token estimate");
  if (present(root, "custom_cost_count_function") != null) err.push("field 'custom_cost_count_function' is not supported: a Wasm filter cannot run Lua");
  if (present(root, "redis") != null) err.push("field 'redis' is not supported: use strategy 'cluster' (Envoy's rate limit service, which keeps its counters in Redis)");
  if (err.length > 0) return new ConfigResult(null, err[0]);

  const p = present(root, "llm_providers");
  if (p == null) return new ConfigResult(null, "field 'llm_providers' is required");
  parseProviders(p, c, err);
  if (err.length > 0) return new ConfigResult(null, err[0]);

  const tcs = str(root, "tokens_count_strategy", "tokens_count_strategy", err);
  if (tcs != null) {
    if (tcs == "total_tokens") c.strategy = CountStrategy.TotalTokens;
    else if (tcs == "prompt_tokens") c.strategy = CountStrategy.PromptTokens;
    else if (tcs == "completion_tokens") c.strategy = CountStrategy.CompletionTokens;
    else if (tcs == "cost") c.strategy = CountStrategy.Cost;
    else err.push("field 'tokens_count_strategy' must be one of total_tokens, prompt_tokens, completion_tokens, cost");
  }
  const id = str(root, "identifier", "identifier", err);
  if (id != null) {
    if (id == "ip") c.identifier = Identifier.Ip;
    else if (id == "header") c.identifier = Identifier.Header;
    else if (id == "path") c.identifier = Identifier.Path;
    else if (id == "consumer") c.identifier = Identifier.Consumer;
    else if (id == "credential") c.identifier = Identifier.Credential;
    else if (id == "service") c.identifier = Identifier.Service;
    else if (id == "consumer-group") err.push("field 'identifier': 'consumer-group' has no Envoy counterpart (use 'header' with the header your authentication filter sets)");
    else err.push("field 'identifier' must be one of ip, credential, consumer, service, header, path");
  }
  const hn = str(root, "header_name", "header_name", err);
  if (hn != null) c.headerName = hn.toLowerCase();
  const path = str(root, "path", "path", err);
  if (path != null) c.path = path;
  if (err.length > 0) return new ConfigResult(null, err[0]);
  if (c.identifier == Identifier.Header && c.headerName.length == 0) return new ConfigResult(null, "field 'header_name' is required when identifier is 'header'");
  if (c.identifier == Identifier.Path && c.path.length == 0) return new ConfigResult(null, "field 'path' is required when identifier is 'path'");

  const wt = str(root, "window_type", "window_type", err);
  if (wt != null) {
    if (wt == "sliding") c.sliding = true;
    else if (wt == "fixed") c.sliding = false;
    else err.push("field 'window_type' must be 'sliding' or 'fixed'");
  }
  const st = str(root, "strategy", "strategy", err);
  if (st != null) {
    if (st == "local") c.store = Strategy.Local;
    else if (st == "cluster") c.store = Strategy.Cluster;
    else if (st == "redis") err.push("field 'strategy': 'redis' is not supported: use 'cluster' (Envoy's global rate limit service over gRPC, backed by Redis)");
    else err.push("field 'strategy' must be 'local' or 'cluster'");
  }
  c.syncRate = num(root, "sync_rate", "sync_rate", -1, 86400, false, err);
  str(root, "dictionary_name", "dictionary_name", err);
  const ns = str(root, "namespace", "namespace", err);
  c.namespace = ns != null && ns.length > 0 ? ns : pluginName;
  for (let i = 0; i < c.windows.length; i++) {
    const w = unchecked(c.windows[i]);
    w.keyPrefix = String.UTF8.encode("airl:" + c.namespace + ":" + w.provider + ":" + w.size.toString() + ":");
  }
  c.hideClientHeaders = boolean(root, "hide_client_headers", "hide_client_headers", false, err);
  const j = num(root, "retry_after_jitter_max", "retry_after_jitter_max", 0, 86400, true, err);
  if (!isNaN(j)) c.retryAfterJitterMax = <i64>j;
  const ec = num(root, "error_code", "error_code", 100, 599, true, err);
  if (!isNaN(ec)) c.errorCode = <u32>ec;
  const em = str(root, "error_message", "error_message", err);
  if (em != null) c.errorMessage = em;
  c.errorHideProviders = boolean(root, "error_hide_providers", "error_hide_providers", false, err);
  c.disablePenalty = boolean(root, "disable_penalty", "disable_penalty", false, err);
  boolean(root, "decrease_by_fractions_in_redis", "decrease_by_fractions_in_redis", false, err);
  const fmt = str(root, "llm_format", "llm_format", err);
  if (fmt != null && fmt != "openai") err.push("field 'llm_format' must be \"openai\" (the only format this filter reads)");
  const rv = present(root, "reservation");
  if (rv != null) parseReservation(rv, c, err);
  const rls = present(root, "rate_limit_service");
  if (rls != null) parseRls(rls, c, err);
  if (err.length > 0) return new ConfigResult(null, err[0]);

  if (c.store == Strategy.Cluster) {
    const e = checkCluster(c);
    if (e != null) return new ConfigResult(null, e);
  }
  return new ConfigResult(c, null);
}

/** What the rate limit service can count: fixed windows of one unit, whole hits. */
function checkCluster(c: RateLimitConfig): string | null {
  if (c.rlsCluster.length == 0) return "field 'rate_limit_service.cluster' is required with strategy 'cluster' (the Envoy cluster of the rate limit service)";
  if (c.sliding) return "field 'window_type': 'sliding' is not available with strategy 'cluster': Envoy's rate limit service counts fixed windows; set window_type to 'fixed'";
  for (let i = 0; i < c.windows.length; i++) {
    const w = unchecked(c.windows[i]);
    if (!RLS_UNITS.includes(w.size)) return "field 'llm_providers' (" + w.provider + "): window_size " + w.size.toString() + " is not a unit of Envoy's rate limit service (1, 60, 3600, 86400, 2592000, 31536000)";
    if (w.provider == REQUEST_PROMPT) return "field 'llm_providers': requestPrompt is not available with strategy 'cluster'";
    if (w.limit > 4294967295.0 || w.limit != Math.floor(w.limit)) return "field 'llm_providers' (" + w.provider + "): with strategy 'cluster' a limit must be a whole number up to 4294967295 (the service's requests_per_unit)";
  }
  if (c.strategy == CountStrategy.Cost) return "field 'tokens_count_strategy': 'cost' is not available with strategy 'cluster': the rate limit service counts whole hits";
  return null;
}

/** The RLS unit name of a window size (checked at load). */
export function rlsUnit(size: i64): string {
  for (let i = 0; i < RLS_UNITS.length; i++) if (unchecked(RLS_UNITS[i]) == size) return unchecked(RLS_UNIT_NAMES[i]);
  return "";
}
