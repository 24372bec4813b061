// The subset of Envoy's v3 bootstrap that the local gateway runs, after loading and
// validation. Field comments name the Envoy YAML field each one comes from.

export interface SocketAddress {
  address: string; // socket_address.address
  port: number; // socket_address.port_value
}

export interface Bootstrap {
  /** Absolute path of the YAML file; relative wasm filenames resolve against the CWD as in Envoy. */
  source: string;
  admin: { address: SocketAddress } | null; // admin.address
  listeners: Listener[]; // static_resources.listeners
  clusters: Map<string, Cluster>; // static_resources.clusters, by name
  stats: StatsConfig; // stats_config
  /** What Envoy accepts but logs a warning for (e.g. a typed_per_filter_config key naming no filter). */
  warnings: string[];
}

export interface StatsConfig {
  tagSpecifiers: TagSpecifier[]; // stats_config.stats_tags
  useAllDefaultTags: boolean; // stats_config.use_all_default_tags (default true)
  /** stats_config.histogram_bucket_settings[0].buckets when given; otherwise Envoy's defaults. */
  histogramBuckets: number[] | null;
  /** stats_config.histogram_bucket_settings, in order: the first whose match accepts the full stat name wins. */
  histogramBucketSettings: HistogramBucketSetting[];
}

export interface HistogramBucketSetting {
  match: StringMatcher; // match
  buckets: number[]; // buckets, sorted ascending as Envoy does
}

/** envoy.type.matcher.v3.StringMatcher (safe_regex is RE2 full-match; run as a JS RegExp). */
export interface StringMatcher {
  exact?: string;
  prefix?: string;
  suffix?: string;
  contains?: string;
  safeRegex?: string; // safe_regex.regex
  ignoreCase: boolean; // ignore_case (not for safe_regex)
}

export interface TagSpecifier {
  tagName: string; // tag_name
  regex?: string; // regex
  fixedValue?: string; // fixed_value
}

export interface Listener {
  name: string;
  /** For an internal_listener, a loopback address on an ephemeral port (see upstream-config.ts). */
  address: SocketAddress;
  /** internal_listener: reached only by clusters whose endpoint is its envoy_internal_address. */
  internal?: boolean;
  hcm: HttpConnectionManager; // filter_chains[0].filters[0] (envoy.filters.network.http_connection_manager)
}

export interface HttpConnectionManager {
  statPrefix: string; // stat_prefix
  routeConfig: RouteConfiguration; // route_config
  httpFilters: HttpFilterConfig[]; // http_filters, in order; the router is last
  accessLogs: AccessLogConfig[]; // access_log
  /** Envoy's per_connection_buffer_limit_bytes on the listener (default 1 MiB). */
  bufferLimitBytes: number;
  streamIdleTimeoutMs: number; // stream_idle_timeout, default 300 s
  requestTimeoutMs: number; // request_timeout, default 0 (disabled)
  /** generate_request_id (default true): add an x-request-id (UUID v4) when the request has none. */
  generateRequestId: boolean;
}

export type HttpFilterConfig = WasmFilterConfig | RouterFilterConfig;

export interface WasmFilterConfig {
  kind: "wasm";
  name: string; // http_filters[].name (the name per-route typed_per_filter_config keys on)
  disabled: boolean; // http_filters[].disabled
  plugin: WasmPluginConfig; // typed_config.config
  /** config_discovery from a file: where later updates come from (the file is watched). */
  discovery?: DiscoverySource;
}

/** config_discovery.config_source.path_config_source.path (absolute) and type_urls. */
export interface DiscoverySource {
  file: string;
  typeUrls: string[];
}

export interface RouterFilterConfig {
  kind: "router";
  name: string;
}

export interface WasmPluginConfig {
  name: string; // config.name (the plugin_name property)
  rootId: string; // config.root_id
  vmId: string; // config.vm_config.vm_id
  runtime: string; // config.vm_config.runtime
  /**
   * config.configuration as Envoy's MessageUtil::anyToBytes gives it: StringValue/BytesValue
   * unwrapped, any other type (Struct included) as the Any's serialized protobuf bytes.
   */
  configuration: Uint8Array;
  /** config.vm_config.configuration, the same way. */
  vmConfiguration: Uint8Array;
  /** Where the code comes from, for messages: the absolute filename, "<inline>", or the remote URI. */
  codeFile: string;
  /** config.vm_config.code; absent means the local file `codeFile`. */
  code?: CodeSource;
  /** config.vm_config.environment_variables: key_values plus host_env_keys read from the process. */
  environment: Record<string, string>;
  failOpen: boolean; // config.fail_open (or failure_policy: FAIL_OPEN)
  /** config.failure_policy, with fail_open: true read as FAIL_OPEN and unset as FAIL_CLOSED. */
  failurePolicy?: FailurePolicy;
  /** config.reload_config.backoff.base_interval (default 1 s), for FAIL_RELOAD. */
  reloadBaseIntervalMs?: number;
  allowOnHeadersStopIteration: boolean; // config.allow_on_headers_stop_iteration (Envoy >= 1.35)
}

export type FailurePolicy = "FAIL_CLOSED" | "FAIL_OPEN" | "FAIL_RELOAD";

/** vm_config.code: local.filename / inline_bytes / inline_string, or remote (fetched through a cluster). */
export type CodeSource =
  | { kind: "file"; path: string }
  | { kind: "inline"; bytes: Uint8Array }
  | { kind: "remote"; uri: string; cluster: string; timeoutMs: number; sha256: string; retries: number; retryBaseMs: number; retryMaxMs: number };

export interface AccessLogConfig {
  path: string; // typed_config.path ("/dev/stdout" for the stdout logger)
  /** json_format keys and their command-operator templates, e.g. {"status": "%RESPONSE_CODE%"}; null for the text default. */
  jsonFormat: Record<string, string> | null;
  textFormat: string | null;
  /** Command operators added by log_format.formatters extensions (e.g. REQ_WITHOUT_QUERY). */
  commands?: string[];
}

export interface RouteConfiguration {
  name: string;
  virtualHosts: VirtualHost[];
  /** ignore_port_in_host_matching (default false: "host:port" must match a domain as written). */
  ignorePortInHostMatching: boolean;
}

export interface VirtualHost {
  name: string;
  domains: string[]; // "*", "example.com", "*.example.com", "example.*"
  routes: Route[];
}

export interface Route {
  name: string; // routes[].name (xds.route_name); "" when absent
  match: RouteMatch;
  action: RouteAction | DirectResponseAction;
  /**
   * typed_per_filter_config keyed by HTTP filter name (FilterConfig: `disabled: true`, or a
   * `config`, which enables the filter), inherited from the virtual host and route_config.
   */
  perFilterConfig: Map<string, { disabled: boolean }>;
}

export interface RouteMatch {
  prefix?: string;
  path?: string;
  caseSensitive: boolean; // case_sensitive, default true
  headers: HeaderMatcher[];
}

export interface HeaderMatcher {
  name: string;
  exact?: string; // string_match.exact or exact_match
  prefix?: string; // string_match.prefix or prefix_match
  suffix?: string;
  contains?: string;
  present?: boolean; // present_match (also set when no match is given, and for exact_match: "")
  ignoreCase?: boolean; // string_match.ignore_case
  invert: boolean; // invert_match
}

export interface RouteAction {
  kind: "route";
  cluster: string;
  prefixRewrite?: string; // prefix_rewrite
  hostRewriteLiteral?: string; // host_rewrite_literal
  timeoutMs: number; // timeout, default 15 s; 0 disables
  idleTimeoutMs: number; // idle_timeout, default 0 (none)
  /** retry_policy; null when the route has none (x-envoy-retry-on can still ask for retries). */
  retryPolicy?: RetryPolicyConfig | null;
}

/** envoy.config.route.v3.RetryPolicy, the subset the local gateway runs (host/envoy/upstream-config.ts). */
export interface RetryPolicyConfig {
  retryOn: string[]; // retry_on, split on ","
  numRetries: number; // num_retries, default 1
  perTryTimeoutMs: number; // per_try_timeout, default 0 (none)
  retriableStatusCodes: number[]; // retriable_status_codes
  /** retriable_headers: names (and optional exact values) that make a response retriable. */
  retriableHeaders: HeaderMatcher[];
  /** retry_host_predicate: only envoy.retry_host_predicates.previous_hosts is run. */
  previousHostsPredicate: boolean;
  hostSelectionRetryMaxAttempts: number; // host_selection_retry_max_attempts, default 1
  baseIntervalMs: number | null; // retry_back_off.base_interval
  maxIntervalMs: number | null; // retry_back_off.max_interval
}

export interface DirectResponseAction {
  kind: "direct";
  status: number; // direct_response.status
  body: string | null; // direct_response.body.inline_string
}

export interface Cluster {
  name: string;
  connectTimeoutMs: number; // connect_timeout, default 5 s
  endpoints: SocketAddress[]; // load_assignment.endpoints[].lb_endpoints[].endpoint.address
  /** transport_socket envoy.transport_sockets.tls with UpstreamTlsContext */
  tls: { sni: string | null; caFile?: string | null } | null; // caFile: common_tls_context.validation_context.trusted_ca.filename
  /** typed_extension_protocol_options / http2_protocol_options: the local gateway speaks HTTP/1.1 upstream either way. */
  http2: boolean;
  /**
   * HttpProtocolOptions.upstream_http_protocol_options.auto_sni: with TLS and no `sni`, the SNI is
   * the request's :authority host. Without either, Envoy sends no SNI. Default false.
   */
  autoSni?: boolean;
  /**
   * HttpProtocolOptions.http_filters: the upstream HTTP filter chain, run once per try, without
   * its terminal envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec. Empty: codec only.
   */
  upstreamFilters?: WasmFilterConfig[];
  /** An endpoint given as envoy_internal_address: the internal listener it connects to. */
  internalListener?: string;
}
