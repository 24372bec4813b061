// Envoy's default tag extractors, applied when stats_config.use_all_default_tags is true
// (the default). Source: envoyproxy/envoy source/common/config/well_known_names.cc
// (TagNameValues::TagNameValues, the version with TAG_VALUE_REGEX, addRe2 and addTokenized)
// and well_known_names.h for the tag names. Two kinds:
//  - RE2 regexes (partial match; group 1 is cut from the name, group 2 is the value), with an
//    optional substring prefilter and a value that must not match ("admin" for listeners);
//  - token patterns over the dot-separated name: `$` is the value token, `*` one token,
//    `**` one or more tokens.
// Newer Envoy versions add a few more (scoped_rds, connection_limit, rbac, proxy_protocol);
// their exact patterns were not available, and none of them can match a gateway stat.

const TAG_VALUE = String.raw`[^\.]+`;
const EXPANSIONS: Record<string, string> = {
  "<ADDRESS>": String.raw`(?:(?:\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[[a-fA-F_\d]+\])_\d+)`,
  "<CIPHER>": String.raw`[\w-]+`,
  "<TLS_VERSION>": String.raw`TLSv\d\.\d`,
  "<TAG_VALUE>": TAG_VALUE,
  "<ROUTE_CONFIG_NAME>": String.raw`[\w-\.]+`,
  "<LISTENER_OR_CLUSTER_WITH_NAME>": String.raw`(?:listener|cluster)\..*?`,
};

function expand(re: string): string {
  return re.replace(/<[A-Z_]+>/g, (m) => EXPANSIONS[m] ?? m);
}

export interface RegexDescriptor {
  name: string;
  regex: string;
  substr: string;
  negativeMatch: string;
}

export interface TokenDescriptor {
  name: string;
  pattern: string;
}

const re2 = (name: string, regex: string, substr = "", negativeMatch = ""): RegexDescriptor => ({
  name,
  regex: expand(regex),
  substr,
  negativeMatch,
});

/** In Envoy's order; all regex descriptors are added before all token descriptors. */
export const DEFAULT_REGEX_DESCRIPTORS: readonly RegexDescriptor[] = [
  re2("envoy.response_code", String.raw`_rq(_(\d{3}))$`, "_rq_"),
  re2("envoy.response_code_class", String.raw`_rq_((\d))xx$`, "_rq_"),
  re2(
    "envoy.dynamo_partition_id",
    String.raw`^http\.<TAG_VALUE>\.dynamodb\.table\.<TAG_VALUE>\.capacity\.<TAG_VALUE>(\.__partition_id=(\w{7}))$`,
    ".dynamodb.table.",
  ),
  re2(
    "envoy.dynamo_operation",
    String.raw`^http\.<TAG_VALUE>\.dynamodb.(?:operation|table\.<TAG_VALUE>\.capacity)(\.(<TAG_VALUE>))(?:\.|$)`,
    ".dynamodb.",
  ),
  re2("envoy.dynamo_table", String.raw`^http\.<TAG_VALUE>\.dynamodb.(?:table|error)\.((<TAG_VALUE>)\.)`, ".dynamodb."),
  re2("envoy.ssl_cipher", String.raw`^listener\..*?\.ssl\.ciphers(\.(<CIPHER>))$`, ".ssl.ciphers."),
  re2("envoy.ssl_curve", String.raw`^<LISTENER_OR_CLUSTER_WITH_NAME>\.ssl\.curves(\.(<CIPHER>))$`, ".ssl.curves."),
  re2("envoy.ssl_sigalg", String.raw`^<LISTENER_OR_CLUSTER_WITH_NAME>\.ssl\.sigalgs(\.(<CIPHER>))$`, ".ssl.sigalgs."),
  re2("envoy.ssl_version", String.raw`^<LISTENER_OR_CLUSTER_WITH_NAME>\.ssl\.versions(\.(<TLS_VERSION>))$`, ".ssl.versions."),
  re2("cipher_suite", String.raw`^cluster\.<TAG_VALUE>\.ssl\.ciphers(\.(<CIPHER>))$`, ".ssl.ciphers."),
  re2("envoy.http_conn_manager_prefix", String.raw`^listener\..*?\.http\.((<TAG_VALUE>)\.)`, ".http."),
  re2(
    "envoy.worker_id",
    String.raw`^(?:listener\.(?:<ADDRESS>|<TAG_VALUE>)\.|server\.|listener_manager\.)worker_((\d+)\.)`,
  ),
  re2("envoy.listener_address", String.raw`^listener\.((<ADDRESS>|<TAG_VALUE>)\.)`, "", "admin"),
  re2("envoy.rds_route_config", String.raw`^http\.<TAG_VALUE>\.rds\.((<ROUTE_CONFIG_NAME>)\.)\w+?$`, ".rds."),
];

export const DEFAULT_TOKEN_DESCRIPTORS: readonly TokenDescriptor[] = [
  { name: "envoy.mongo_callsite", pattern: "mongo.*.collection.*.callsite.$.query.**" },
  { name: "envoy.mongo_collection", pattern: "mongo.*.collection.$.**.query.*" },
  { name: "envoy.mongo_cmd", pattern: "mongo.*.cmd.$.**" },
  { name: "envoy.grpc_bridge_method", pattern: "cluster.*.grpc.*.$.**" },
  { name: "envoy.http_user_agent", pattern: "http.*.user_agent.$.**" },
  { name: "envoy.virtual_cluster", pattern: "vhost.*.vcluster.$.**" },
  { name: "envoy.fault_downstream_cluster", pattern: "http.*.fault.$.**" },
  { name: "envoy.grpc_bridge_service", pattern: "cluster.*.grpc.$.**" },
  { name: "envoy.tcp_prefix", pattern: "tcp.$.**" },
  { name: "envoy.udp_prefix", pattern: "udp.$.**" },
  { name: "envoy.clientssl_prefix", pattern: "auth.clientssl.$.**" },
  { name: "envoy.ratelimit_prefix", pattern: "ratelimit.$.**" },
  { name: "envoy.cluster_name", pattern: "cluster.$.**" },
  { name: "envoy.ext_authz_prefix", pattern: "cluster.*.ext_authz.$.**" },
  { name: "envoy.ext_authz_prefix", pattern: "http.*.ext_authz.$.**" },
  { name: "envoy.http_conn_manager_prefix", pattern: "http.$.**" },
  { name: "envoy.virtual_host", pattern: "vhost.$.**" },
  { name: "envoy.mongo_prefix", pattern: "mongo.$.**" },
  { name: "envoy.route", pattern: "vhost.*.route.$.**" },
  { name: "envoy.thrift_prefix", pattern: "thrift.$.**" },
  { name: "envoy.redis_prefix", pattern: "redis.$.**" },
  { name: "envoy.local_http_ratelimit_prefix", pattern: "$.http_local_rate_limit.**" },
  { name: "envoy.local_network_ratelimit_prefix", pattern: "local_rate_limit.$.**" },
  { name: "envoy.local_listener_ratelimit_prefix", pattern: "listener_local_ratelimit.$.**" },
  { name: "envoy.dns_filter_prefix", pattern: "dns_filter.$.**" },
];
