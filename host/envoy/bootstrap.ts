// Loads a real Envoy v3 bootstrap YAML and keeps the subset the local gateway runs
// (DESIGN.md). Everything else is refused with an EnvoyConfigError naming the field path;
// unknown fields (typos) are refused too, as Envoy itself does for a static bootstrap.
//
// Accepted although they change nothing in the local gateway:
//   field                                              why it is harmless here
//   node                                               identity for xDS, which we do not use
//   layered_runtime (admin_layer, empty static_layer)  no runtime overrides, so no behaviour change
//   stats_flush_interval                               no stats sinks
//   admin.access_log_path / access_log / profile_path  admin request logging, profiler output
//   listener ... http_connection_manager:
//     codec_type AUTO | HTTP1                          the local gateway speaks HTTP/1.1
//     use_remote_address                               XFF bookkeeping only
//   route_config.validate_clusters                     honoured: false skips the cluster check
//   access_log ... log_format.content_type             not used by access logs
//   clusters[]: type STATIC | STRICT_DNS | LOGICAL_DNS, lb_policy ROUND_ROBIN,
//     dns_lookup_family, dns_refresh_rate, respect_dns_ttl, per_connection_buffer_limit_bytes
//     (the filter buffer limit comes from the listener), http2 options and
//     typed_extension_protocol_options (HTTP/1.1 upstream either way; recorded as `http2`;
//     upstream_http_protocol_options.auto_sni is honoured: SNI from :authority; http_filters
//     are run per try, see upstream-config.ts),
//     load_assignment.cluster_name
//   transport_socket tls: common_tls_context.alpn_protocols
//   vm_config.allow_precompiled, nack_on_code_cache_miss (no precompiled code cache)
//
// Enum values are read case-insensitively, as Envoy's loader does. A typed_per_filter_config
// key that names no HTTP filter is accepted with a warning (Envoy ignores it).
//
// Differences on purpose (stricter than Envoy, to catch typos):
//   - camelCase field names (accepted by Envoy's JSON parser) are refused as unknown.

import { readFileSync, statSync } from "node:fs";
import { isIP } from "node:net";
import { resolve } from "node:path";
import YAML from "yaml";
import type {
  AccessLogConfig,
  Bootstrap,
  Cluster,
  DirectResponseAction,
  HeaderMatcher,
  HistogramBucketSetting,
  HttpConnectionManager,
  HttpFilterConfig,
  Listener,
  Route,
  RouteAction,
  RouteConfiguration,
  RouteMatch,
  SocketAddress,
  StatsConfig,
  TagSpecifier,
  VirtualHost,
  WasmPluginConfig,
  CodeSource,
  DiscoverySource,
  FailurePolicy,
} from "./bootstrap-types.ts";
import { ObjReader, describe } from "./config-reader.ts";
import { EnvoyConfigError } from "./errors.ts";
import { anyToBytes, decodeBase64, typedConfig } from "./any.ts";
import { readStringMatcher } from "./string-match.ts";
import { readInternalAddress, readRetryPolicy, readUpstreamHttpFilters, UPSTREAM_TYPES, validateInternalListeners } from "./upstream-config.ts";
import { TagConfigError, TagProducer } from "../stats/tag-extractor.ts";

export { EnvoyConfigError } from "./errors.ts";

// Type URLs of the extensions the local gateway runs.
const T = {
  hcm: "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
  wasm: "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
  router: "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
  filterConfig: "type.googleapis.com/envoy.config.route.v3.FilterConfig",
  extensionConfig: "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
  stdout: "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
  stderr: "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog",
  file: "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
  tls: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
  rawBuffer: "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer",
  httpOptions: "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
  reqWithoutQuery: "type.googleapis.com/envoy.extensions.formatter.req_without_query.v3.ReqWithoutQuery",
} as const;

/** Formatter extensions (log_format.formatters) by type URL, and the command operator each adds. */
const FORMATTER_COMMANDS: Record<string, string> = { [T.reqWithoutQuery]: "REQ_WITHOUT_QUERY" };

export const DEFAULTS = {
  routeTimeoutMs: 15_000,
  connectTimeoutMs: 5_000,
  streamIdleTimeoutMs: 300_000,
  requestTimeoutMs: 0,
  bufferLimitBytes: 1_048_576,
  maxDirectResponseBodyBytes: 4096,
} as const;

// Fields of Envoy's messages that exist but are outside the subset, for clearer errors.
const KNOWN = {
  bootstrap: ["dynamic_resources", "cluster_manager", "hds_config", "flags_path", "stats_sinks", "deferred_stat_options", "stats_flush_on_admin", "watchdog", "watchdogs", "tracing", "overload_manager", "enable_dispatcher_stats", "header_prefix", "stats_server_version_override", "use_tcp_for_dns_lookups", "dns_resolution_config", "typed_dns_resolver_config", "fatal_actions", "config_sources", "default_config_source", "default_socket_interface", "certificate_provider_instances", "inline_headers", "perf_tracing_file_path", "default_regex_engine", "xds_delegate_extension", "xds_config_tracker_extension", "listener_manager", "application_log_config", "grpc_async_client_manager_config", "memory_allocator_manager"],
  listener: ["stat_prefix", "filter_chain_matcher", "use_original_dst", "default_filter_chain", "metadata", "drain_type", "listener_filters", "listener_filters_timeout", "continue_on_listener_filters_timeout", "transparent", "freebind", "socket_options", "tcp_fast_open_queue_length", "traffic_direction", "udp_listener_config", "api_listener", "connection_balance_config", "reuse_port", "enable_reuse_port", "access_log", "tcp_backlog_size", "max_connections_to_accept_per_socket_event", "bind_to_port", "internal_listener", "enable_mptcp", "ignore_global_conn_limit", "bypass_overload_manager", "additional_addresses", "fcds_config", "internal_listener"],
  hcm: ["rds", "scoped_routes", "add_user_agent", "tracing", "common_http_protocol_options", "http_protocol_options", "http2_protocol_options", "http3_protocol_options", "server_name", "server_header_transformation", "scheme_header_transformation", "max_request_headers_kb", "request_headers_timeout", "drain_timeout", "delayed_close_timeout", "access_log_options", "xff_num_trusted_hops", "original_ip_detection_extensions", "early_header_mutation_extensions", "internal_address_config", "skip_xff_append", "via", "preserve_external_request_id", "always_set_request_id_in_response", "forward_client_cert_details", "set_current_client_cert_details", "proxy_100_continue", "represent_ipv4_remote_address_as_ipv4_mapped_ipv6", "upgrade_configs", "normalize_path", "merge_slashes", "path_with_escaped_slashes_action", "request_id_extension", "local_reply_config", "strip_matching_host_port", "strip_any_host_port", "stream_error_on_invalid_http_message", "path_normalization_options", "strip_trailing_host_dot", "proxy_status_config", "typed_header_validation_config", "append_x_forwarded_port", "append_local_overload", "add_proxy_protocol_connection_state"],
  routeConfig: ["internal_only_headers", "response_headers_to_add", "response_headers_to_remove", "request_headers_to_add", "request_headers_to_remove", "most_specific_header_mutations_wins", "vhds", "max_direct_response_body_size_bytes", "cluster_specifier_plugins", "request_mirror_policies", "ignore_path_parameters_in_path_matching", "metadata"],
  vhost: ["matcher", "require_tls", "virtual_clusters", "rate_limits", "request_headers_to_add", "request_headers_to_remove", "response_headers_to_add", "response_headers_to_remove", "cors", "include_request_attempt_count", "include_attempt_count_in_response", "retry_policy", "retry_policy_typed_config", "hedge_policy", "include_is_timeout_retry_header", "per_request_buffer_limit_bytes", "request_mirror_policies", "metadata"],
  route: ["redirect", "filter_action", "non_forwarding_action", "metadata", "decorator", "request_headers_to_add", "request_headers_to_remove", "response_headers_to_add", "response_headers_to_remove", "tracing", "per_request_buffer_limit_bytes", "stat_prefix"],
  routeMatch: ["safe_regex", "connect_matcher", "path_separated_prefix", "path_match_policy", "runtime_fraction", "query_parameters", "grpc", "tls_context", "dynamic_metadata", "filter_state"],
  routeAction: ["cluster_header", "weighted_clusters", "cluster_specifier_plugin", "inline_cluster_specifier_plugin", "cluster_not_found_response_code", "metadata_match", "regex_rewrite", "path_rewrite_policy", "append_x_forwarded_host", "auto_host_rewrite", "host_rewrite_header", "host_rewrite_path_regex", "retry_policy", "retry_policy_typed_config", "request_mirror_policies", "priority", "rate_limits", "include_vh_rate_limits", "hash_policy", "cors", "max_grpc_timeout", "grpc_timeout_offset", "upgrade_configs", "internal_redirect_policy", "internal_redirect_action", "max_internal_redirects", "hedge_policy", "max_stream_duration"],
  headerMatcher: ["safe_regex_match", "range_match", "treat_missing_header_as_empty"],
  cluster: ["transport_socket_matches", "eds_cluster_config", "cluster_type", "lb_subset_config", "ring_hash_lb_config", "maglev_lb_config", "original_dst_lb_config", "least_request_lb_config", "round_robin_lb_config", "common_lb_config", "health_checks", "max_requests_per_connection", "circuit_breakers", "upstream_http_protocol_options", "common_http_protocol_options", "http_protocol_options", "dns_failure_refresh_rate", "dns_resolvers", "use_tcp_for_dns_lookups", "dns_resolution_config", "typed_dns_resolver_config", "wait_for_warm_on_init", "outlier_detection", "cleanup_interval", "upstream_bind_config", "lb_config", "metadata", "protocol_selection", "upstream_connection_options", "close_connections_on_host_health_failure", "ignore_health_on_host_removal", "filters", "load_balancing_policy", "lrs_server", "track_timeout_budgets", "upstream_config", "track_cluster_stats", "preconnect_policy", "connection_pool_per_downstream_connection"],
  pluginConfig: ["capability_restriction_config"],
  vmConfig: [],
  socketAddress: ["named_port", "resolver_name", "network_namespace_filepath"],
} as const;

export function loadBootstrap(file: string): Bootstrap {
  const abs = resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, "utf8");
  } catch (e) {
    throw new EnvoyConfigError("", `cannot read ${abs}: ${(e as Error).message}`);
  }
  return parseBootstrap(text, abs);
}

export function parseBootstrap(yamlText: string, source: string): Bootstrap {
  let doc: unknown;
  try {
    doc = YAML.parse(yamlText, { uniqueKeys: true, merge: true });
  } catch (e) {
    throw new EnvoyConfigError("", `${source}: invalid YAML: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) throw new EnvoyConfigError("", `${source}: the bootstrap is empty`);
  const root = ObjReader.of(doc, "");
  root.ignore("node", "stats_flush_interval");
  if (root.has("stats_flush_interval")) root.durationMs("stats_flush_interval", 5000);
  readLayeredRuntime(root.optObj("layered_runtime"));
  const hasInternalListenerExt = readBootstrapExtensions(root);

  const admin = readAdmin(root.optObj("admin"));
  const sr = root.optObj("static_resources");
  const listeners: Listener[] = [];
  const clusters = new Map<string, Cluster>();
  const validateClusters: boolean[] = [];
  const warnings: string[] = [];
  if (sr) {
    for (const { value, path } of sr.arr("clusters")) {
      const c = readCluster(value, path);
      if (clusters.has(c.name)) throw new EnvoyConfigError(`${path}.name`, `duplicate cluster ${JSON.stringify(c.name)}`);
      clusters.set(c.name, c);
    }
    for (const { value, path } of sr.arr("listeners")) {
      const { listener, validate } = readListener(value, path, warnings);
      listeners.push(listener);
      validateClusters.push(validate);
    }
    sr.done(["secrets"]);
  }
  const stats = readStatsConfig(root.optObj("stats_config"));
  root.done(KNOWN.bootstrap);

  const internalIdx = listeners.findIndex((l) => l.internal === true);
  validateInternalListeners(
    new Set(listeners.filter((l) => l.internal).map((l) => l.name)),
    hasInternalListenerExt,
    [...clusters.values()].filter((c) => c.internalListener !== undefined).map((c) => ({ listener: c.internalListener!, path: `static_resources.clusters(${c.name}).load_assignment` })),
    internalIdx < 0 ? null : `${listenerPath(internalIdx)}.internal_listener`,
  );
  const bootstrap: Bootstrap = { source, admin, listeners, clusters, stats, warnings };
  validateBootstrap(bootstrap, { skipClusterCheck: validateClusters.map((v) => !v) });
  return bootstrap;
}

const listenerPath = (i: number) => `static_resources.listeners[${i}]`;
const hcmPath = (i: number) => `${listenerPath(i)}.filter_chains[0].filters[0].typed_config`;

/**
 * Cross-reference checks: duplicate listener names and addresses (Envoy refuses both),
 * a route naming an unknown cluster (Envoy's validate_clusters, on by default for an inline
 * route_config), remote Wasm code fetched through an unknown cluster. A typed_per_filter_config
 * key that names no HTTP filter is only a warning: Envoy's PerFilterConfigs
 * (source/common/router/per_filter_config.cc) keeps configs by name and never checks the chain.
 */
export function validateBootstrap(b: Bootstrap, opts: { skipClusterCheck?: boolean[] } = {}): void {
  const names = new Map<string, number>();
  const addrs = new Map<string, string>();
  const addrKey = (a: SocketAddress) => `${a.address}:${a.port}`;
  if (b.admin && b.admin.address.port !== 0) addrs.set(addrKey(b.admin.address), "admin.address");
  b.listeners.forEach((l, i) => {
    if (l.name) {
      const prev = names.get(l.name);
      if (prev !== undefined) throw new EnvoyConfigError(`${listenerPath(i)}.name`, `duplicate listener name ${JSON.stringify(l.name)} (also static_resources.listeners[${prev}])`);
      names.set(l.name, i);
    }
    if (l.address.port !== 0) {
      const prev = addrs.get(addrKey(l.address));
      if (prev) throw new EnvoyConfigError(`${listenerPath(i)}.address`, `duplicate address ${addrKey(l.address)} (also ${prev})`);
      addrs.set(addrKey(l.address), `${listenerPath(i)}.address`);
    }
    const filterNames = new Set(l.hcm.httpFilters.map((f) => f.name));
    const unknownKeys = new Set<string>();
    l.hcm.httpFilters.forEach((f, k) => {
      const code = f.kind === "wasm" ? f.plugin.code : undefined;
      if (code?.kind === "remote" && !b.clusters.has(code.cluster)) {
        throw new EnvoyConfigError(`${hcmPath(i)}.http_filters[${k}].typed_config.config.vm_config.code.remote.http_uri.cluster`, `unknown cluster ${JSON.stringify(code.cluster)}`);
      }
    });
    l.hcm.routeConfig.virtualHosts.forEach((vh, j) => {
      vh.routes.forEach((r, k) => {
        const rp = `${hcmPath(i)}.route_config.virtual_hosts[${j}].routes[${k}]`;
        if (r.action.kind === "route" && !opts.skipClusterCheck?.[i] && !b.clusters.has(r.action.cluster)) {
          throw new EnvoyConfigError(`${rp}.route.cluster`, `unknown cluster ${JSON.stringify(r.action.cluster)}`);
        }
        for (const key of r.perFilterConfig.keys()) {
          if (!filterNames.has(key) && !unknownKeys.has(key)) {
            unknownKeys.add(key);
            b.warnings.push(`${rp}.typed_per_filter_config: ${JSON.stringify(key)} names no HTTP filter of this listener (filters: ${[...filterNames].join(", ")}); Envoy ignores it`);
          }
        }
      });
    });
  });
}

/** bootstrap_extensions: only envoy.bootstrap.internal_listener. Returns whether it is present. */
function readBootstrapExtensions(root: ObjReader): boolean {
  let found = false;
  for (const { value, path } of root.arr("bootstrap_extensions")) {
    const e = ObjReader.of(value, path);
    e.str("name", "");
    const tc = e.obj("typed_config");
    tc.typeUrl([UPSTREAM_TYPES.internalListenerExt]);
    tc.done(["buffer_size_kb"]);
    e.done();
    found = true;
  }
  return found;
}

function readLayeredRuntime(r: ObjReader | null): void {
  if (!r) return;
  for (const { value, path } of r.arr("layers")) {
    const layer = ObjReader.of(value, path);
    layer.str("name");
    const stat = layer.optObj("static_layer");
    if (stat && stat.keys().length > 0) {
      throw new EnvoyConfigError(stat.path, "runtime overrides are not supported by the local gateway");
    }
    const adminLayer = layer.optObj("admin_layer");
    adminLayer?.done();
    layer.done(["disk_layer", "rtds_layer"]);
  }
  r.done();
}

function readAdmin(r: ObjReader | null): Bootstrap["admin"] {
  if (!r) return null;
  r.ignore("access_log_path", "access_log", "profile_path");
  const addr = r.optObj("address");
  r.done(["socket_options", "ignore_global_conn_limit"]);
  return addr ? { address: readAddress(addr) } : null;
}

function readAddress(r: ObjReader): SocketAddress {
  const sa = r.obj("socket_address");
  r.done(["pipe", "envoy_internal_address"]);
  sa.enumStr("protocol", ["TCP"], "TCP", [0]);
  sa.bool("ipv4_compat", false);
  const address = sa.str("address");
  const port = sa.uint("port_value", 0, 65535);
  sa.done(KNOWN.socketAddress);
  return { address, port };
}

function readListener(value: unknown, path: string, warnings: string[]): { listener: Listener; validate: boolean } {
  const r = ObjReader.of(value, path);
  const name = r.str("name", "");
  const il = r.optObj("internal_listener");
  if (il) il.done(["buffer_size_kb"]);
  if (il && r.has("address")) throw new EnvoyConfigError(r.at("address"), "an internal listener has no address");
  if (il && !name) throw new EnvoyConfigError(r.at("name"), "an internal listener needs a name (clusters reach it by envoy_internal_address.server_listener_name)");
  // The local gateway serves an internal listener on a loopback port of its own (README, Known differences).
  const address = il ? { address: "127.0.0.1", port: 0 } : readAddress(r.obj("address"));
  const bufferLimitBytes = r.uint("per_connection_buffer_limit_bytes", DEFAULTS.bufferLimitBytes);
  const chains = r.arr("filter_chains");
  if (chains.length !== 1) throw new EnvoyConfigError(r.at("filter_chains"), `the local gateway runs exactly one filter chain per listener, got ${chains.length}`);
  const chain = ObjReader.of(chains[0]!.value, chains[0]!.path);
  const filters = chain.arr("filters");
  if (filters.length !== 1) throw new EnvoyConfigError(chain.at("filters"), `the local gateway runs exactly one network filter (the HTTP connection manager), got ${filters.length}`);
  const f = ObjReader.of(filters[0]!.value, filters[0]!.path);
  f.str("name", "");
  const tc = f.obj("typed_config");
  tc.typeUrl([T.hcm]);
  f.done(["config_discovery"]);
  chain.done(["filter_chain_match", "transport_socket", "metadata", "use_proxy_proto", "transport_socket_connect_timeout", "name", "on_demand_configuration"]);
  const { hcm, validate } = readHcm(tc, bufferLimitBytes, warnings);
  r.done(KNOWN.listener);
  const listener: Listener = { name, address, hcm };
  if (il) listener.internal = true;
  return { listener, validate };
}

function readHcm(r: ObjReader, bufferLimitBytes: number, warnings: string[]): { hcm: HttpConnectionManager; validate: boolean } {
  const statPrefix = r.str("stat_prefix");
  if (!statPrefix) throw new EnvoyConfigError(r.at("stat_prefix"), "must not be empty");
  r.enumStr("codec_type", ["AUTO", "HTTP1"], "AUTO", [0, 1]);
  r.bool("use_remote_address", false);
  const generateRequestId = r.bool("generate_request_id", true);
  const httpFilters = readHttpFilters(r, warnings);
  const { routeConfig, validate } = readRouteConfig(r.obj("route_config"), warnings);
  const accessLogs = r.arr("access_log").map(({ value, path }) => readAccessLog(value, path));
  const hcm: HttpConnectionManager = {
    statPrefix,
    routeConfig,
    httpFilters,
    accessLogs,
    bufferLimitBytes,
    streamIdleTimeoutMs: r.durationMs("stream_idle_timeout", DEFAULTS.streamIdleTimeoutMs),
    requestTimeoutMs: r.durationMs("request_timeout", DEFAULTS.requestTimeoutMs),
    generateRequestId,
  };
  r.done(KNOWN.hcm);
  return { hcm, validate };
}

function readHttpFilters(r: ObjReader, warnings: string[]): HttpFilterConfig[] {
  const list = r.arr("http_filters");
  const out: HttpFilterConfig[] = [];
  list.forEach(({ value, path }, i) => {
    const f = ObjReader.of(value, path);
    const name = f.str("name");
    if (!name) throw new EnvoyConfigError(f.at("name"), "must not be empty");
    const disabled = f.bool("disabled", false);
    const isOptional = f.bool("is_optional", false);
    if (f.has("typed_config") && f.has("config_discovery")) throw new EnvoyConfigError(path, "only one of typed_config and config_discovery may be set");
    const { type, config: tc, discovery } = f.has("config_discovery") ? readDiscoveredConfig(f.obj("config_discovery"), name) : { ...typedConfig(f.obj("typed_config")), discovery: undefined };
    if (type === T.router) {
      if (i !== list.length - 1) {
        throw new EnvoyConfigError(path, `terminal filter named ${name} of type envoy.filters.http.router must be the last filter in a http filter chain`);
      }
      if (disabled) throw new EnvoyConfigError(f.at("disabled"), "the router cannot be disabled");
      tc.done(["dynamic_stats", "start_child_span", "upstream_log", "upstream_log_options", "suppress_envoy_headers", "strict_check_headers", "respect_expected_rq_timeout", "suppress_grpc_request_failure_code_stats", "upstream_http_filters"]);
      out.push({ kind: "router", name });
    } else if (type === T.wasm) {
      const plugin = readPluginConfig(tc.obj("config"));
      tc.done();
      out.push(discovery ? { kind: "wasm", name, disabled, plugin, discovery } : { kind: "wasm", name, disabled, plugin });
    } else if (isOptional) {
      // HttpFilter.is_optional: a filter whose type this build lacks is skipped, with a warning.
      warnings.push(`${path}: skipping optional HTTP filter ${JSON.stringify(name)} of unsupported type ${JSON.stringify(type ?? null)}`);
    } else {
      throw new EnvoyConfigError(tc.at("@type"), `HTTP filter ${JSON.stringify(name)}: unsupported type ${JSON.stringify(type ?? null)}; the local gateway runs ${T.wasm} and ${T.router}`);
    }
    f.done();
  });
  if (out.length === 0 || out[out.length - 1]!.kind !== "router") {
    throw new EnvoyConfigError(r.at("http_filters"), "the router (envoy.filters.http.router) must be present and last");
  }
  return out;
}

/**
 * Extension config discovery (ECDS) from a file: config_source.path_config_source (or the
 * older config_source.path) names a DiscoveryResponse whose one resource is a
 * TypedExtensionConfig with the filter's name and a typed_config of one of `type_urls`
 * (FilterConfigSubscription::onConfigUpdate, source/common/filter/config_discovery_impl.cc).
 * default_config stands in when the file cannot be read at start; the gateway watches the
 * file for later updates (see reloadDiscoveredPlugin).
 */
function readDiscoveredConfig(cd: ObjReader, filterName: string): { type: string | undefined; config: ObjReader; discovery: DiscoverySource } {
  const cs = cd.obj("config_source");
  const pcs = cs.optObj("path_config_source");
  const legacyPath = cs.optStr("path");
  let file: string | undefined = legacyPath;
  if (pcs) {
    file = pcs.str("path");
    pcs.done(["watched_directory"]);
  }
  if (pcs && legacyPath !== undefined) throw new EnvoyConfigError(cs.path, "only one of path and path_config_source may be set");
  cs.enumStr("resource_api_version", ["V3"], "V3", [2]);
  if (cs.has("initial_fetch_timeout")) cs.durationMs("initial_fetch_timeout", 15_000);
  cs.done(["api_config_source", "ads", "self", "authorities"]);
  if (file === undefined) throw new EnvoyConfigError(cs.at("path_config_source"), "required field is missing (the local gateway reads discovered filter configs from a file)");
  const typeUrls = cd.strList("type_urls");
  if (typeUrls.length === 0) throw new EnvoyConfigError(cd.at("type_urls"), "at least one type URL is required");
  const fallback = cd.has("default_config") ? cd.raw("default_config") : undefined;
  cd.bool("apply_default_config_without_warming", false);
  cd.done();

  const discovery: DiscoverySource = { file: resolve(process.cwd(), file), typeUrls };
  let text: string | null = null;
  try {
    text = readFileSync(discovery.file, "utf8");
  } catch (e) {
    if (fallback === undefined) throw new EnvoyConfigError(cs.path, `cannot read ${discovery.file}: ${(e as Error).message} (and no default_config is set)`);
  }
  const typed = text === null ? ObjReader.of(fallback, cd.at("default_config")) : discoveredTypedConfig(text, discovery.file, filterName);
  return { ...checkedType(typed, typeUrls), discovery };
}

/** The typed_config of the one TypedExtensionConfig in a DiscoveryResponse file. */
function discoveredTypedConfig(text: string, file: string, filterName: string): ObjReader {
  let doc: unknown;
  try {
    doc = YAML.parse(text, { uniqueKeys: true, merge: true });
  } catch (e) {
    throw new EnvoyConfigError(file, `invalid YAML/JSON: ${(e as Error).message}`);
  }
  const resp = ObjReader.of(doc, file);
  resp.str("version_info", "");
  resp.str("type_url", "");
  resp.str("nonce", "");
  const resources = resp.arr("resources");
  resp.done(["canary", "control_plane", "resource_errors"]);
  if (resources.length !== 1) throw new EnvoyConfigError(resp.at("resources"), `Unexpected number of resources in ExtensionConfigDS response: ${resources.length}`);
  const res = ObjReader.of(resources[0]!.value, resources[0]!.path);
  res.typeUrl([T.extensionConfig]);
  const name = res.str("name");
  if (name !== filterName) throw new EnvoyConfigError(res.at("name"), `Unexpected resource name in ExtensionConfigDS response: ${name} (the filter is ${JSON.stringify(filterName)})`);
  const typed = res.obj("typed_config");
  res.done();
  return typed;
}

function checkedType(typed: ObjReader, typeUrls: readonly string[]): { type: string; config: ObjReader } {
  const { type, config } = typedConfig(typed);
  if (type === undefined || !typeUrls.includes(type)) {
    throw new EnvoyConfigError(`${typed.path}.@type`, `Error: filter config has type URL ${type ?? ""} but expect ${typeUrls.join(", ")}.`);
  }
  return { type, config };
}

/**
 * An update of a discovered Wasm filter: the file read again and checked as at start. Throws
 * EnvoyConfigError when Envoy would reject the update (the filter keeps its config).
 */
export function reloadDiscoveredPlugin(d: DiscoverySource, filterName: string): WasmPluginConfig {
  let text: string;
  try {
    text = readFileSync(d.file, "utf8");
  } catch (e) {
    throw new EnvoyConfigError(d.file, `cannot read: ${(e as Error).message}`);
  }
  const { type, config } = checkedType(discoveredTypedConfig(text, d.file, filterName), d.typeUrls);
  if (type !== T.wasm) throw new EnvoyConfigError(config.path, `the filter is a Wasm filter; an update cannot change its type to ${type}`);
  const plugin = readPluginConfig(config.obj("config"));
  config.done();
  return plugin;
}

// envoy.extensions.wasm.v3.FailurePolicy, in number order (0..3).
const FAILURE_POLICIES = ["UNSPECIFIED", "FAIL_RELOAD", "FAIL_CLOSED", "FAIL_OPEN"] as const;

function readPluginConfig(r: ObjReader): WasmPluginConfig {
  const name = r.str("name", "");
  const rootId = r.str("root_id", "");
  const configuration = r.has("configuration") ? anyToBytes(r.raw("configuration"), r.at("configuration")) : new Uint8Array();
  // PluginConfig's constructor (source/extensions/common/wasm/wasm.cc): fail_open is the legacy
  // spelling of FAIL_OPEN and may not be combined with failure_policy; unset is FAIL_CLOSED.
  const legacyFailOpen = r.bool("fail_open", false);
  const policy = r.enumStr("failure_policy", FAILURE_POLICIES, "UNSPECIFIED", [0, 1, 2, 3]);
  if (legacyFailOpen && policy !== "UNSPECIFIED") throw new EnvoyConfigError(r.at("failure_policy"), "only one of fail_open or failure_policy can be set");
  const failurePolicy: FailurePolicy = legacyFailOpen ? "FAIL_OPEN" : policy === "UNSPECIFIED" ? "FAIL_CLOSED" : (policy as FailurePolicy);
  let reloadBaseIntervalMs = 1000;
  const reload = r.optObj("reload_config");
  if (reload) {
    const backoff = reload.optObj("backoff");
    if (backoff) {
      reloadBaseIntervalMs = backoff.durationMs("base_interval", 1000);
      if (reloadBaseIntervalMs < 1) throw new EnvoyConfigError(backoff.at("base_interval"), "must be at least 1ms");
      if (backoff.has("max_interval")) backoff.durationMs("max_interval", 0); // not used by the Wasm reload
      backoff.done();
    }
    reload.done();
  }
  const allowOnHeadersStopIteration = r.bool("allow_on_headers_stop_iteration", false);
  const vm = r.obj("vm_config");
  const vmId = vm.str("vm_id", "");
  // Envoy picks the first available engine when runtime is unset; that is V8 in official builds.
  // runtime is a string (an extension name), not an enum: matched exactly.
  const runtime = vm.str("runtime", "envoy.wasm.runtime.v8");
  if (runtime !== "envoy.wasm.runtime.v8") throw new EnvoyConfigError(vm.at("runtime"), `unsupported value ${JSON.stringify(runtime)}`);
  const vmConfiguration = vm.has("configuration") ? anyToBytes(vm.raw("configuration"), vm.at("configuration")) : new Uint8Array();
  vm.bool("allow_precompiled", false);
  vm.bool("nack_on_code_cache_miss", false);
  const { code, label } = readCode(vm.obj("code"));
  const environment = readEnvironment(vm.optObj("environment_variables"));
  vm.done(KNOWN.vmConfig);
  r.done(KNOWN.pluginConfig);
  return {
    name,
    rootId,
    vmId,
    runtime,
    configuration,
    vmConfiguration,
    codeFile: label,
    code,
    environment,
    failOpen: failurePolicy === "FAIL_OPEN",
    failurePolicy,
    reloadBaseIntervalMs,
    allowOnHeadersStopIteration,
  };
}

/** vm_config.code: an AsyncDataSource, local (filename, inline_bytes, inline_string) or remote. */
function readCode(r: ObjReader): { code: CodeSource; label: string } {
  const local = r.optObj("local");
  const remote = r.optObj("remote");
  r.done();
  if (local && remote) throw new EnvoyConfigError(r.path, "only one of local and remote may be set");
  if (remote) return readRemoteCode(remote);
  if (!local) throw new EnvoyConfigError(r.at("local"), "required field is missing (one of local and remote)");
  const filename = local.optStr("filename");
  const inlineBytes = local.optStr("inline_bytes");
  const inlineString = local.optStr("inline_string");
  local.done(["environment_variable", "watched_directory"]);
  const set = [filename, inlineBytes, inlineString].filter((x) => x !== undefined).length;
  if (set !== 1) throw new EnvoyConfigError(local.path, "exactly one of filename, inline_bytes, inline_string is required");
  if (inlineBytes !== undefined) return { code: { kind: "inline", bytes: decodeBase64(inlineBytes, local.at("inline_bytes")) }, label: "<inline>" };
  if (inlineString !== undefined) return { code: { kind: "inline", bytes: new TextEncoder().encode(inlineString) }, label: "<inline>" };
  // Envoy resolves a relative filename against its working directory, not the YAML's folder.
  const abs = resolve(process.cwd(), filename!);
  let isFile = false;
  try {
    isFile = statSync(abs).isFile();
  } catch {
    isFile = false;
  }
  if (!isFile) throw new EnvoyConfigError(local.at("filename"), `file not found: ${abs} (relative paths resolve against the current directory, as in Envoy)`);
  return { code: { kind: "file", path: abs }, label: abs };
}

/** RemoteDataSource: http_uri (uri, cluster, timeout), sha256, retry_policy. */
function readRemoteCode(r: ObjReader): { code: CodeSource; label: string } {
  const h = r.obj("http_uri");
  const uri = h.str("uri");
  if (!uri) throw new EnvoyConfigError(h.at("uri"), "must not be empty");
  const cluster = h.str("cluster");
  if (!cluster) throw new EnvoyConfigError(h.at("cluster"), "must not be empty");
  if (!h.has("timeout")) throw new EnvoyConfigError(h.at("timeout"), "required field is missing");
  const timeoutMs = h.durationMs("timeout", 0);
  h.done();
  const sha256 = r.str("sha256");
  if (!sha256) throw new EnvoyConfigError(r.at("sha256"), "must not be empty");
  // RemoteAsyncDataProvider's defaults (remote_async_datasource.cc): 1 retry, back-off 1 s to 10 s.
  let retries = 1;
  let retryBaseMs = 1000;
  let retryMaxMs = 10_000;
  const rp = r.optObj("retry_policy");
  if (rp) {
    retries = rp.uint("num_retries", 1);
    const bo = rp.optObj("retry_back_off");
    if (bo) {
      if (!bo.has("base_interval")) throw new EnvoyConfigError(bo.at("base_interval"), "required field is missing");
      retryBaseMs = bo.durationMs("base_interval", 1000);
      retryMaxMs = bo.durationMs("max_interval", Math.max(retryMaxMs, retryBaseMs));
      bo.done();
    }
    rp.done(["retry_priority", "retry_host_predicate", "host_selection_retry_max_attempts", "retry_on"]);
  }
  r.done();
  return { code: { kind: "remote", uri, cluster, timeoutMs, sha256, retries, retryBaseMs, retryMaxMs }, label: uri };
}

function readEnvironment(r: ObjReader | null): Record<string, string> {
  const env: Record<string, string> = {};
  if (!r) return env;
  const seen = new Set<string>();
  const dup = (key: string, path: string) => {
    if (seen.has(key)) throw new EnvoyConfigError(path, `Key ${key} is duplicated in envoy.extensions.wasm.v3.VmConfig.environment_variables`);
    seen.add(key);
  };
  for (const { value, path } of r.arr("host_env_keys")) {
    if (typeof value !== "string") throw new EnvoyConfigError(path, `expected a string, got ${describe(value)}`);
    dup(value, path);
    const v = process.env[value];
    if (v !== undefined) env[value] = v; // an unset host variable is skipped, as in Envoy
  }
  const kv = r.optObj("key_values");
  if (kv) {
    for (const key of kv.keys()) {
      const v = kv.str(key);
      dup(key, kv.at(key));
      env[key] = v;
    }
    kv.done();
  }
  r.done();
  return env;
}

function readAccessLog(value: unknown, path: string): AccessLogConfig {
  const r = ObjReader.of(value, path);
  r.str("name", "");
  const tc = r.obj("typed_config");
  const type = tc.typeUrl([T.stdout, T.stderr, T.file]);
  const logPath = type === T.stdout ? "/dev/stdout" : type === T.stderr ? "/dev/stderr" : tc.str("path");
  const fmt = tc.optObj("log_format");
  let jsonFormat: Record<string, string> | null = null;
  let textFormat: string | null = null;
  const commands: string[] = [];
  if (fmt) {
    fmt.ignore("content_type");
    const json = fmt.optObj("json_format");
    if (json) {
      jsonFormat = {};
      for (const k of json.keys()) {
        const v = json.raw(k);
        if (typeof v !== "string") throw new EnvoyConfigError(json.at(k), `only string values are supported in json_format by the local gateway, got ${describe(v)}`);
        jsonFormat[k] = v;
      }
    }
    const text = fmt.optStr("text_format");
    const src = fmt.optObj("text_format_source");
    if (src) {
      textFormat = src.str("inline_string");
      src.done(["filename", "inline_bytes", "environment_variable"]);
    } else if (text !== undefined) textFormat = text;
    if ([json, text, src].filter((x) => x !== null && x !== undefined).length > 1) {
      throw new EnvoyConfigError(fmt.path, "only one of json_format, text_format, text_format_source may be set");
    }
    // Command-operator extensions (Envoy's CommandParserFactory, e.g. envoy.formatter.req_without_query):
    // an operator they add is refused unless its formatter is listed here.
    for (const { value, path: at } of fmt.arr("formatters")) {
      const f = ObjReader.of(value, at);
      f.str("name", "");
      const ftc = f.obj("typed_config");
      commands.push(FORMATTER_COMMANDS[ftc.typeUrl(Object.keys(FORMATTER_COMMANDS))]);
      ftc.done();
      f.done();
    }
    fmt.done(["omit_empty_values", "json_format_options"]);
  }
  tc.done(["format", "json_format", "typed_json_format", "access_log_options"]);
  r.done(["filter"]);
  return { path: logPath, jsonFormat, textFormat, ...(commands.length > 0 ? { commands } : {}) };
}

function readRouteConfig(r: ObjReader, warnings: string[]): { routeConfig: RouteConfiguration; validate: boolean } {
  const name = r.str("name", "");
  const ignorePortInHostMatching = r.bool("ignore_port_in_host_matching", false);
  const validate = r.bool("validate_clusters", true);
  const rcFilters = readPerFilterConfig(r, warnings);
  const domains = new Set<string>();
  const virtualHosts = r.arr("virtual_hosts").map(({ value, path }) => readVirtualHost(value, path, rcFilters, domains, name, warnings));
  r.done(KNOWN.routeConfig);
  return { routeConfig: { name, virtualHosts, ignorePortInHostMatching }, validate };
}

function readVirtualHost(value: unknown, path: string, inherited: Map<string, { disabled: boolean }>, seen: Set<string>, rcName: string, warnings: string[]): VirtualHost {
  const r = ObjReader.of(value, path);
  const name = r.str("name");
  if (!name) throw new EnvoyConfigError(r.at("name"), "must not be empty");
  const domains = r.strList("domains");
  if (domains.length === 0) throw new EnvoyConfigError(r.at("domains"), "at least one domain is required");
  domains.forEach((d, i) => {
    const key = d.toLowerCase();
    const at = `${r.at("domains")}[${i}]`;
    if (seen.has(key)) {
      throw new EnvoyConfigError(at, key === "*" ? `Only a single wildcard domain is permitted in route ${rcName}` : `Only unique values for domains are permitted. Duplicate entry of domain ${key} in route ${rcName}`);
    }
    seen.add(key);
  });
  // The most specific typed_per_filter_config wins: route over virtual host over route_config.
  const vhFilters = new Map([...inherited, ...readPerFilterConfig(r, warnings)]);
  const routes = r.arr("routes").map(({ value, path }) => readRoute(value, path, vhFilters, warnings));
  r.done(KNOWN.vhost);
  return { name, domains, routes };
}

/**
 * typed_per_filter_config, as PerFilterConfigs reads it (source/common/router/per_filter_config.cc):
 * a FilterConfig with `disabled: true` disables the filter (its config is ignored); otherwise it
 * needs a `config`, and an empty one (an Any with no type) enables the filter. A typed config
 * is a route-specific config, which the Wasm filter does not have; with is_optional it is
 * ignored and the filter counts as enabled.
 */
function readPerFilterConfig(r: ObjReader, warnings: string[]): Map<string, { disabled: boolean }> {
  const out = new Map<string, { disabled: boolean }>();
  const m = r.optObj("typed_per_filter_config");
  if (!m) return out;
  for (const key of m.keys()) {
    const fc = m.obj(key);
    const type = fc.optStr("@type");
    if (type !== T.filterConfig) {
      throw new EnvoyConfigError(fc.at("@type"), type === T.wasm ? `The filter ${key} doesn't support virtual host or route specific configurations` : `Didn't find a registered implementation for '${key}' with type URL: '${type ?? ""}'`);
    }
    const disabled = fc.bool("disabled", false);
    const isOptional = fc.bool("is_optional", false);
    const config = fc.has("config") ? ObjReader.of(fc.raw("config"), fc.at("config")) : null;
    fc.done();
    if (disabled) {
      out.set(key, { disabled: true });
      continue;
    }
    if (!config) throw new EnvoyConfigError(fc.at("config"), `Empty route/virtual host per filter configuration for ${key} filter`);
    const inner = config.optStr("@type");
    if (inner !== undefined) {
      const why = inner === T.wasm ? `The filter ${key} doesn't support virtual host or route specific configurations` : `Didn't find a registered implementation for '${key}' with type URL: '${inner}'`;
      if (!isOptional) throw new EnvoyConfigError(config.at("@type"), why);
      warnings.push(`${config.path}: ${why}; it is optional, so ignored`);
    } else if (config.keys().some((k) => config.data[k] !== null)) {
      throw new EnvoyConfigError(config.at("@type"), "required field is missing (an Any with fields needs its type)");
    }
    config.ignore(...config.keys());
    out.set(key, { disabled: false });
  }
  m.done();
  return out;
}

function readRoute(value: unknown, path: string, inherited: Map<string, { disabled: boolean }>, warnings: string[]): Route {
  const r = ObjReader.of(value, path);
  const name = r.str("name", "");
  const match = readRouteMatch(r.obj("match"));
  const ra = r.optObj("route");
  const dr = r.optObj("direct_response");
  if ((ra ? 1 : 0) + (dr ? 1 : 0) !== 1) {
    const present = ["redirect", "filter_action", "non_forwarding_action"].find((k) => r.has(k));
    if (present && !ra && !dr) throw new EnvoyConfigError(r.at(present), "field not supported by the local gateway");
    throw new EnvoyConfigError(path, "exactly one of route and direct_response is required");
  }
  const action = ra ? readRouteAction(ra) : readDirectResponse(dr!);
  const perFilterConfig = new Map([...inherited, ...readPerFilterConfig(r, warnings)]);
  r.done(KNOWN.route);
  return { name, match, action, perFilterConfig };
}

function readRouteMatch(r: ObjReader): RouteMatch {
  const prefix = r.optStr("prefix");
  const path = r.optStr("path");
  if ((prefix === undefined) === (path === undefined)) {
    const other = KNOWN.routeMatch.find((k) => r.has(k));
    if (other && prefix === undefined) throw new EnvoyConfigError(r.at(other), "field not supported by the local gateway");
    throw new EnvoyConfigError(r.path, "exactly one of prefix and path is required");
  }
  const caseSensitive = r.bool("case_sensitive", true);
  const headers = r.arr("headers").map(({ value, path }) => readHeaderMatcher(value, path));
  r.done(KNOWN.routeMatch);
  const m: RouteMatch = { caseSensitive, headers };
  if (prefix !== undefined) m.prefix = prefix;
  if (path !== undefined) m.path = path;
  return m;
}

function readHeaderMatcher(value: unknown, path: string): HeaderMatcher {
  const r = ObjReader.of(value, path);
  const name = r.str("name");
  if (!name) throw new EnvoyConfigError(r.at("name"), "must not be empty");
  const m: HeaderMatcher = { name: name.toLowerCase(), invert: r.bool("invert_match", false) };
  const set: string[] = [];
  const exact = r.optStr("exact_match");
  if (exact !== undefined) {
    set.push("exact_match");
    // The deprecated exact_match with "" matches any value: it only asks for presence.
    if (exact === "") m.present = true;
    else m.exact = exact;
  }
  for (const [key, field] of [["prefix_match", "prefix"], ["suffix_match", "suffix"], ["contains_match", "contains"]] as const) {
    const v = r.optStr(key);
    if (v === undefined) continue;
    if (v === "") throw new EnvoyConfigError(r.at(key), "value must not be empty");
    m[field] = v;
    set.push(key);
  }
  if (r.has("present_match")) {
    m.present = r.bool("present_match", true);
    set.push("present_match");
  }
  if (r.has("string_match")) {
    const sm = readStringMatcher(r.raw("string_match"), r.at("string_match"));
    if (sm.safeRegex !== undefined) throw new EnvoyConfigError(`${r.at("string_match")}.safe_regex`, "field not supported by the local gateway");
    if (sm.exact !== undefined) m.exact = sm.exact;
    if (sm.prefix !== undefined) m.prefix = sm.prefix;
    if (sm.suffix !== undefined) m.suffix = sm.suffix;
    if (sm.contains !== undefined) m.contains = sm.contains;
    if (sm.ignoreCase) m.ignoreCase = true;
    set.push("string_match");
  }
  if (set.length > 1) throw new EnvoyConfigError(path, `only one of ${set.join(", ")} may be set`);
  if (set.length === 0) m.present = true; // no specifier: Envoy matches on presence
  r.done(KNOWN.headerMatcher);
  return m;
}

function readRouteAction(r: ObjReader): RouteAction {
  const cluster = r.optStr("cluster");
  if (cluster === undefined) {
    const other = ["cluster_header", "weighted_clusters", "cluster_specifier_plugin", "inline_cluster_specifier_plugin"].find((k) => r.has(k));
    if (other) throw new EnvoyConfigError(r.at(other), "field not supported by the local gateway");
    throw r.missing("cluster");
  }
  if (!cluster) throw new EnvoyConfigError(r.at("cluster"), "must not be empty");
  const a: RouteAction = {
    kind: "route",
    cluster,
    timeoutMs: r.durationMs("timeout", DEFAULTS.routeTimeoutMs),
    idleTimeoutMs: r.durationMs("idle_timeout", 0),
  };
  const pr = r.optStr("prefix_rewrite");
  if (pr) a.prefixRewrite = pr; // Envoy treats "" as "no rewrite"
  const host = r.optStr("host_rewrite_literal");
  if (host !== undefined) a.hostRewriteLiteral = host;
  const rp = r.optObj("retry_policy");
  if (rp) a.retryPolicy = readRetryPolicy(rp, readHeaderMatcher);
  r.done(KNOWN.routeAction);
  return a;
}

function readDirectResponse(r: ObjReader): DirectResponseAction {
  const status = r.uint("status", undefined);
  if (status < 200 || status >= 600) throw new EnvoyConfigError(r.at("status"), `must be in 200..599, got ${status}`);
  let body: string | null = null;
  const b = r.optObj("body");
  if (b) {
    body = b.str("inline_string");
    b.done(["filename", "inline_bytes", "environment_variable"]);
    const size = Buffer.byteLength(body);
    if (size > DEFAULTS.maxDirectResponseBodyBytes) {
      throw new EnvoyConfigError(r.at("body"), `response body size is ${size} bytes; maximum is ${DEFAULTS.maxDirectResponseBodyBytes}`);
    }
  }
  r.done();
  return { kind: "direct", status, body };
}

function readCluster(value: unknown, path: string): Cluster {
  const r = ObjReader.of(value, path);
  const name = r.str("name");
  if (!name) throw new EnvoyConfigError(r.at("name"), "must not be empty");
  const type = r.enumStr("type", ["STATIC", "STRICT_DNS", "LOGICAL_DNS"], "STATIC", [0, 1, 2]);
  r.enumStr("lb_policy", ["ROUND_ROBIN"], "ROUND_ROBIN", [0]);
  const connectTimeoutMs = r.durationMs("connect_timeout", DEFAULTS.connectTimeoutMs);
  if (r.has("connect_timeout") && connectTimeoutMs <= 0) throw new EnvoyConfigError(r.at("connect_timeout"), "must be greater than 0s");
  r.enumStr("dns_lookup_family", ["AUTO", "V4_ONLY", "V6_ONLY", "V4_PREFERRED", "ALL"], "AUTO", [0, 1, 2, 3, 4]);
  if (r.has("dns_refresh_rate")) r.durationMs("dns_refresh_rate", 5000);
  r.bool("respect_dns_ttl", false);
  r.uint("per_connection_buffer_limit_bytes", DEFAULTS.bufferLimitBytes);

  const endpoints: SocketAddress[] = [];
  let internalListener: string | undefined;
  const la = r.optObj("load_assignment");
  if (la) {
    const cn = la.str("cluster_name");
    if (!cn) throw new EnvoyConfigError(la.at("cluster_name"), "must not be empty");
    for (const loc of la.arr("endpoints")) {
      const l = ObjReader.of(loc.value, loc.path);
      for (const lbe of l.arr("lb_endpoints")) {
        const e = ObjReader.of(lbe.value, lbe.path);
        const ep = e.obj("endpoint");
        const ar = ep.obj("address");
        const ia = ar.optObj("envoy_internal_address");
        if (ia) {
          internalListener = readInternalAddress(ia);
          ar.done();
          ep.done(["health_check_config", "hostname", "additional_addresses"]);
          e.done(["endpoint_name", "health_status", "metadata", "load_balancing_weight"]);
          continue;
        }
        const addr = readAddress(ar);
        if (type === "STATIC" && !isIP(addr.address)) {
          throw new EnvoyConfigError(`${ep.at("address")}.socket_address.address`, `malformed IP address: ${addr.address} (a STATIC cluster needs IP addresses; use STRICT_DNS or LOGICAL_DNS for names)`);
        }
        endpoints.push(addr);
        ep.done(["health_check_config", "hostname", "additional_addresses"]);
        e.done(["endpoint_name", "health_status", "metadata", "load_balancing_weight"]);
      }
      l.done(["locality", "metadata", "load_balancing_weight", "priority", "proximity", "leds_cluster_locality_config"]);
    }
    la.done(["named_endpoints", "policy"]);
  }
  if (type === "LOGICAL_DNS" && endpoints.length !== 1) {
    throw new EnvoyConfigError(r.at("load_assignment"), "LOGICAL_DNS clusters must have a single locality_lb_endpoint and a single lb_endpoint");
  }

  let tls: Cluster["tls"] = null;
  const ts = r.optObj("transport_socket");
  if (ts) {
    ts.str("name", "");
    const tc = ts.obj("typed_config");
    if (tc.typeUrl([T.tls, T.rawBuffer]) === T.tls) {
      const sni = tc.optStr("sni");
      let caFile: string | null = null;
      const ctx = tc.optObj("common_tls_context");
      if (ctx) {
        ctx.strList("alpn_protocols");
        const vc = ctx.optObj("validation_context");
        if (vc) {
          const ca = vc.obj("trusted_ca");
          caFile = ca.str("filename");
          ca.done(["inline_bytes", "inline_string", "environment_variable", "watched_directory"]);
          vc.done(["trusted_ca_certificate_provider_instance", "watched_directory", "verify_certificate_spki", "verify_certificate_hash", "match_typed_subject_alt_names", "match_subject_alt_names", "require_signed_certificate_timestamp", "crl", "allow_expired_certificate", "trust_chain_verification", "custom_validator_config", "only_verify_leaf_cert_crl", "max_verify_depth", "system_root_certs"]);
        }
        ctx.done(["tls_params", "tls_certificates", "tls_certificate_sds_secret_configs", "tls_certificate_provider_instance", "custom_tls_certificate_selector", "tls_certificate_certificate_provider", "tls_certificate_certificate_provider_instance", "validation_context_sds_secret_config", "combined_validation_context", "validation_context_certificate_provider", "validation_context_certificate_provider_instance", "custom_handshaker", "key_log"]);
      }
      tls = { sni: sni ?? null, caFile };
    } else {
      tc.done();
    }
    ts.done();
  }

  let http2 = false;
  const h2 = r.optObj("http2_protocol_options");
  if (h2) {
    http2 = true;
    h2.ignore(...h2.keys()); // tuning knobs of a protocol the local gateway does not speak upstream
  }
  let autoSni = false;
  let upstreamFilters: Cluster["upstreamFilters"] = [];
  const teo = r.optObj("typed_extension_protocol_options");
  if (teo) {
    for (const key of teo.keys()) {
      const o = teo.obj(key);
      o.typeUrl([T.httpOptions]);
      const up = o.optObj("upstream_http_protocol_options");
      if (up) {
        autoSni = up.bool("auto_sni", false);
        up.done(["auto_san_validation", "override_auto_sni_header"]);
      }
      const explicit = o.optObj("explicit_http_config");
      if (explicit) {
        const e2 = explicit.optObj("http2_protocol_options");
        if (e2) {
          http2 = true;
          e2.ignore(...e2.keys());
        }
        const e1 = explicit.optObj("http_protocol_options");
        if (e1) e1.ignore(...e1.keys());
        explicit.done(["http3_protocol_options"]);
      }
      upstreamFilters = readUpstreamHttpFilters(o, readPluginConfig);
      o.done(["common_http_protocol_options", "use_downstream_protocol_config", "auto_config", "header_validation_config"]);
    }
    teo.done();
  }
  r.done(KNOWN.cluster);
  const cluster: Cluster = { name, connectTimeoutMs, endpoints, tls, http2, autoSni };
  if (upstreamFilters.length > 0) cluster.upstreamFilters = upstreamFilters;
  if (internalListener !== undefined) {
    if (endpoints.length > 0) throw new EnvoyConfigError(r.at("load_assignment"), "the local gateway runs a cluster of either socket addresses or one envoy_internal_address");
    cluster.internalListener = internalListener;
  }
  return cluster;
}

function readStatsConfig(r: ObjReader | null): StatsConfig {
  const cfg: StatsConfig = { tagSpecifiers: [], useAllDefaultTags: true, histogramBuckets: null, histogramBucketSettings: [] };
  if (!r) return cfg;
  cfg.useAllDefaultTags = r.bool("use_all_default_tags", true);
  cfg.tagSpecifiers = r.arr("stats_tags").map(({ value, path }) => {
    const t = ObjReader.of(value, path);
    const spec: TagSpecifier = { tagName: t.str("tag_name", "") };
    const regex = t.optStr("regex");
    const fixed = t.optStr("fixed_value");
    if (regex !== undefined && fixed !== undefined) throw new EnvoyConfigError(path, "only one of regex and fixed_value may be set");
    if (regex !== undefined) spec.regex = regex;
    if (fixed !== undefined) spec.fixedValue = fixed;
    t.done();
    return spec;
  });
  try {
    new TagProducer(cfg); // Envoy refuses a bad stats_tags entry at start
  } catch (e) {
    if (e instanceof TagConfigError) throw new EnvoyConfigError(`${r.at("stats_tags")}[${e.index}].${e.field}`, e.message);
    throw e;
  }
  cfg.histogramBucketSettings = r.arr("histogram_bucket_settings").map(({ value, path }) => readBucketSetting(value, path));
  cfg.histogramBuckets = cfg.histogramBucketSettings[0]?.buckets ?? null;
  r.done(["stats_matcher"]);
  return cfg;
}

function readBucketSetting(value: unknown, path: string): HistogramBucketSetting {
  const r = ObjReader.of(value, path);
  if (!r.has("match")) throw r.missing("match");
  const match = readStringMatcher(r.raw("match"), r.at("match"));
  const list = r.arr("buckets");
  if (list.length === 0) throw new EnvoyConfigError(r.at("buckets"), "at least one bucket is required");
  const buckets = list.map(({ value, path }) => {
    if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value)) throw new EnvoyConfigError(path, `a bucket must be a number greater than 0, got ${describe(value)}`);
    return value;
  });
  if (new Set(buckets).size !== buckets.length) throw new EnvoyConfigError(r.at("buckets"), "bucket values must be unique");
  r.done(["bins"]);
  return { match, buckets: [...buckets].sort((a, b) => a - b) };
}
