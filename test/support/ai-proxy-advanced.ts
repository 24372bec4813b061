// A local gateway laid out like examples/ai-proxy-advanced/envoy.yaml: the listener's
// ai-proxy-advanced filter, a loop-back cluster whose upstream filter is the same module
// (root_id "upstream", same configuration through a YAML anchor), and an internal listener that
// routes each try by :authority to the cluster of the simulator at that authority.
import { filter, startGateway, type RunningGateway } from "./gateway.ts";
import { listenerYaml } from "./envoy-yaml.ts";

export interface Host {
  authority: string; // "127.0.0.1:PORT" as the target's upstream_url names it
  port: number;
}

export interface AdvancedOptions {
  env?: Record<string, string>;
  routeTimeout?: string;
  accessLog?: { path: string; json: Record<string, string> };
  concurrency?: number;
  /** More http_filters entries (YAML), after ai-proxy-advanced and before the router. */
  filtersAfter?: string;
}

export function advancedYaml(config: unknown, hosts: Host[], o: AdvancedOptions = {}): string {
  const value = JSON.stringify(JSON.stringify(config));
  const env = o.env ? `\n                  environment_variables: { key_values: ${JSON.stringify(o.env)} }` : "";
  const vhosts = hosts
    .map(
      (h, i) => `
            - name: h${i}
              domains: [${JSON.stringify(h.authority)}]
              routes: [{ match: { prefix: "/" }, route: { cluster: h${i}, timeout: 60s } }]`,
    )
    .join("");
  const clusters = hosts
    .map(
      (h, i) => `
  - name: h${i}
    connect_timeout: 1s
    load_assignment:
      cluster_name: h${i}
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${h.port} } } } }] }]`,
    )
    .join("");
  const accessLog = o.accessLog
    ? `
          access_log:
          - name: envoy.access_loggers.file
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
              path: ${JSON.stringify(o.accessLog.path)}
              log_format: { json_format: ${JSON.stringify(o.accessLog.json)} }`
    : "";
  return `
bootstrap_extensions:
- name: envoy.bootstrap.internal_listener
  typed_config: { "@type": type.googleapis.com/envoy.extensions.bootstrap.internal_listener.v3.InternalListener }
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:${listenerYaml({
    name: "main",
    statPrefix: "main",
    accessLog,
    virtualHosts: `
            - name: api
              domains: ["*"]
              routes: [{ match: { prefix: "/" }, route: { cluster: aipa, timeout: ${o.routeTimeout ?? "30s"}, retry_policy: { retry_back_off: { base_interval: 0.002s, max_interval: 0.02s } } } }]`,
    filters: `
          - name: ai-proxy-advanced
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: ai-proxy-advanced
                root_id: ""
                configuration: &targets
                  "@type": type.googleapis.com/google.protobuf.StringValue
                  value: ${value}
                vm_config: &vm
                  vm_id: aipa
                  runtime: envoy.wasm.runtime.v8${env}
                  code: { local: { filename: ${JSON.stringify(filter("ai-proxy-advanced"))} } }${o.filtersAfter ?? ""}`,
  })}
  - name: providers
    internal_listener: {}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: providers
          route_config:
            virtual_hosts:${vhosts}
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
  clusters:
  - name: aipa
    load_assignment:
      cluster_name: aipa
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { envoy_internal_address: { server_listener_name: providers } } } }] }]
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: { http_protocol_options: {} }
        http_filters:
        - name: ai-proxy-advanced-upstream
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
            config:
              name: ai-proxy-advanced
              root_id: upstream
              configuration: *targets
              vm_config: *vm
        - name: envoy.filters.http.upstream_codec
          typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec }${clusters}
`;
}

export async function startAdvanced(config: unknown, hosts: Host[], o: AdvancedOptions = {}): Promise<RunningGateway> {
  return startGateway(advancedYaml(config, hosts, o), { concurrency: o.concurrency ?? 1 });
}

/** A simulator's authority and port, as a Host. */
export function hostOf(url: string): Host {
  const u = new URL(url);
  return { authority: u.host, port: Number(u.port) };
}

export const KEYS = { OPENAI_API_KEY: "sk-test-openai", ANTHROPIC_API_KEY: "sk-ant-test" };
export const ALL_CRITERIA = ["error", "timeout", "http_429", "http_500", "http_502", "http_503", "http_504", "non_idempotent"];

/** An OpenAI target at `url` (a simulator's base URL), keyed from OPENAI_API_KEY. */
export function openaiTarget(url: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    route_type: "llm/v1/chat",
    auth: { header_name: "Authorization", header_value: "Bearer {vault://env/OPENAI_API_KEY}" },
    model: { provider: "openai", name: "gpt-4o-mini", options: { upstream_url: `${url}/v1/chat/completions` } },
    logging: { log_statistics: true },
    ...extra,
  };
}

/** An Anthropic target at `url`, keyed from ANTHROPIC_API_KEY. */
export function anthropicTarget(url: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    route_type: "llm/v1/chat",
    auth: { header_name: "x-api-key", header_value: "{vault://env/ANTHROPIC_API_KEY}" },
    model: { provider: "anthropic", name: "claude-3-5-haiku-latest", options: { upstream_url: `${url}/v1/messages`, anthropic_version: "2023-06-01", max_tokens: 256 } },
    logging: { log_statistics: true },
    ...extra,
  };
}
