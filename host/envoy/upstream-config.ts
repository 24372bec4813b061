// Config readers for the upstream side: a route's retry_policy, a cluster's upstream HTTP filter
// chain (HttpProtocolOptions.http_filters), internal listeners and envoy_internal_address
// endpoints. Kept apart from bootstrap.ts, which calls them, so each piece reads like its Envoy
// counterpart:
// - retry_policy: source/common/router/config_impl.cc (RetryPolicyImpl) and retry_state_impl.cc;
// - http_filters: source/extensions/upstreams/http/config.cc (ProtocolOptionsConfigImpl) checks
//   that the chain ends with the terminal UpstreamCodec filter; source/extensions/filters/http/
//   wasm/config.cc registers the Wasm filter as a dual (downstream and upstream) factory;
// - internal listeners: source/extensions/bootstrap/internal_listener/, which needs the
//   envoy.bootstrap.internal_listener bootstrap extension.

import type { HeaderMatcher, RetryPolicyConfig, WasmFilterConfig, WasmPluginConfig } from "./bootstrap-types.ts";
import { ObjReader } from "./config-reader.ts";
import { EnvoyConfigError } from "./errors.ts";

export const UPSTREAM_TYPES = {
  wasm: "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
  upstreamCodec: "type.googleapis.com/envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec",
  previousHosts: "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate",
  internalListenerExt: "type.googleapis.com/envoy.extensions.bootstrap.internal_listener.v3.InternalListener",
} as const;

/** retry_on values the router runs here (RetryStateImpl::parseRetryOn); the rest of Envoy's are refused. */
export const RETRY_ON_RUN = ["5xx", "gateway-error", "reset", "connect-failure", "retriable-4xx", "retriable-status-codes", "retriable-headers", "refused-stream"] as const;
const RETRY_ON_ENVOY_ONLY = ["envoy-ratelimited", "http3-post-connect-failure", "reset-before-request", "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"];

/** envoy.config.route.v3.RetryPolicy. */
export function readRetryPolicy(r: ObjReader, readHeaderMatcher: (value: unknown, path: string) => HeaderMatcher): RetryPolicyConfig {
  const retryOn = r
    .str("retry_on", "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  for (const v of retryOn) {
    if (RETRY_ON_ENVOY_ONLY.includes(v)) throw new EnvoyConfigError(r.at("retry_on"), `retry_on value ${JSON.stringify(v)} is not supported by the local gateway`);
    // Unknown values are ignored, as RetryStateImpl::parseRetryOn ignores them.
  }
  const numRetries = r.uint("num_retries", 1);
  const perTryTimeoutMs = r.durationMs("per_try_timeout", 0);
  const retriableStatusCodes = r.arr("retriable_status_codes").map(({ value, path }) => {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0) throw new EnvoyConfigError(path, "expected a status code");
    return value;
  });
  const retriableHeaders = r.arr("retriable_headers").map(({ value, path }) => readHeaderMatcher(value, path));
  let previousHostsPredicate = false;
  for (const { value, path } of r.arr("retry_host_predicate")) {
    const p = ObjReader.of(value, path);
    const name = p.str("name", "");
    const tc = p.optObj("typed_config");
    if (tc) {
      tc.typeUrl([UPSTREAM_TYPES.previousHosts]);
      tc.done();
    } else if (name !== "envoy.retry_host_predicates.previous_hosts") {
      throw new EnvoyConfigError(p.at("name"), `retry host predicate ${JSON.stringify(name)} is not supported by the local gateway (only envoy.retry_host_predicates.previous_hosts)`);
    }
    p.done();
    previousHostsPredicate = true;
  }
  const hostSelectionRetryMaxAttempts = r.uint("host_selection_retry_max_attempts", 1);
  let baseIntervalMs: number | null = null;
  let maxIntervalMs: number | null = null;
  const bo = r.optObj("retry_back_off");
  if (bo) {
    if (!bo.has("base_interval")) throw new EnvoyConfigError(bo.at("base_interval"), "required field is missing");
    baseIntervalMs = bo.durationMs("base_interval", 0);
    if (baseIntervalMs <= 0) throw new EnvoyConfigError(bo.at("base_interval"), "must be greater than 0s");
    if (bo.has("max_interval")) {
      maxIntervalMs = bo.durationMs("max_interval", 0);
      if (maxIntervalMs <= 0) throw new EnvoyConfigError(bo.at("max_interval"), "must be greater than 0s");
      // RetryPolicyImpl: "max_interval must be greater than or equal to the base_interval"
      if (maxIntervalMs < baseIntervalMs) throw new EnvoyConfigError(bo.at("max_interval"), "max_interval must be greater than or equal to the base_interval");
    }
    bo.done();
  }
  r.done(["retry_priority", "retry_options_predicates", "rate_limited_retry_back_off", "retriable_request_headers", "per_try_idle_timeout", "retry_host_predicate"]);
  return { retryOn, numRetries, perTryTimeoutMs, retriableStatusCodes, retriableHeaders, previousHostsPredicate, hostSelectionRetryMaxAttempts, baseIntervalMs, maxIntervalMs };
}

/**
 * HttpProtocolOptions.http_filters: Wasm filters, ending with the UpstreamCodec filter, which
 * Envoy requires last (ProtocolOptionsConfigImpl: "The codec filter is the only valid terminal
 * upstream HTTP filter"). The codec is implicit in the returned list.
 */
export function readUpstreamHttpFilters(o: ObjReader, readPluginConfig: (r: ObjReader) => WasmPluginConfig): WasmFilterConfig[] {
  const list = o.arr("http_filters");
  if (list.length === 0) return [];
  const out: WasmFilterConfig[] = [];
  list.forEach(({ value, path }, i) => {
    const f = ObjReader.of(value, path);
    const name = f.str("name");
    if (!name) throw new EnvoyConfigError(f.at("name"), "must not be empty");
    const disabled = f.bool("disabled", false);
    const tc = f.obj("typed_config");
    const type = tc.optStr("@type");
    const last = i === list.length - 1;
    if (type === UPSTREAM_TYPES.upstreamCodec) {
      if (!last) throw new EnvoyConfigError(path, `terminal filter named ${name} of type envoy.filters.http.upstream_codec must be the last filter in a http upstream filter chain`);
      tc.done();
    } else if (type === UPSTREAM_TYPES.wasm) {
      if (last) throw new EnvoyConfigError(path, `non-terminal filter named ${name} of type envoy.filters.http.wasm is the last filter in a http upstream filter chain`);
      const plugin = readPluginConfig(tc.obj("config"));
      tc.done();
      out.push({ kind: "wasm", name, disabled, plugin });
    } else {
      throw new EnvoyConfigError(tc.at("@type"), `upstream HTTP filter ${JSON.stringify(name)}: unsupported type ${JSON.stringify(type ?? null)}; the local gateway runs ${UPSTREAM_TYPES.wasm} and ${UPSTREAM_TYPES.upstreamCodec}`);
    }
    f.done(["config_discovery", "is_optional"]);
  });
  return out;
}

/** An endpoint address given as envoy_internal_address: the internal listener's name. */
export function readInternalAddress(r: ObjReader): string {
  const name = r.str("server_listener_name");
  if (!name) throw new EnvoyConfigError(r.at("server_listener_name"), "must not be empty");
  r.done(["endpoint_id"]);
  return name;
}

/** Cross-checks: an internal address names an internal listener, which needs the bootstrap extension. */
export function validateInternalListeners(internalNames: Set<string>, hasExtension: boolean, refs: { listener: string; path: string }[], firstInternalPath: string | null): void {
  if (firstInternalPath !== null && !hasExtension) {
    throw new EnvoyConfigError(firstInternalPath, "an internal listener needs the envoy.bootstrap.internal_listener bootstrap extension (bootstrap_extensions)");
  }
  for (const ref of refs) {
    if (!internalNames.has(ref.listener)) throw new EnvoyConfigError(ref.path, `no internal listener named ${JSON.stringify(ref.listener)}`);
  }
}
