// A gateway laid out like the shipped envoy/envoy.yaml, in front of one provider simulator:
// routes by OpenAI path enable the ai-proxy instance for that route type; after ai-proxy
// rewrites :authority and :path (ABI 0.2.1 clears the route cache), the provider's virtual host
// (its public API host) sends the request to the simulator's cluster.
import { filter, startGateway, type RunningGateway } from "./gateway.ts";

export type RouteKind = "chat" | "completions" | "embeddings";

const PATHS: Record<RouteKind, string> = { chat: "/v1/chat/completions", completions: "/v1/completions", embeddings: "/v1/embeddings" };
const ROUTE_TYPES: Record<RouteKind, string> = { chat: "llm/v1/chat", completions: "llm/v1/completions", embeddings: "llm/v1/embeddings" };

export interface AiGatewaySpec {
  simulatorPort: number;
  /** The provider's public API host(s) that ai-proxy targets by default. */
  providerHosts: string[];
  /** ai-proxy configuration without route_type; one instance per kind is made. */
  config: Record<string, unknown> | ((kind: RouteKind) => Record<string, unknown>);
  kinds?: RouteKind[];
  env?: Record<string, string>;
  extraFilters?: string; // YAML of http_filters entries placed before ai-proxy
  extra?: string;
}

export async function startAiGateway(spec: AiGatewaySpec): Promise<RunningGateway> {
  const kinds = spec.kinds ?? ["chat", "completions", "embeddings"];
  const routes = kinds
    .map(
      (k) => `
              - match: { path: "${PATHS[k]}" }
                route: { cluster: sim }
                typed_per_filter_config:
                  ai-proxy-${k}:
                    "@type": type.googleapis.com/envoy.config.route.v3.FilterConfig
                    disabled: false`,
    )
    .join("");
  const filters = kinds
    .map(
      (k) => `
          - name: ai-proxy-${k}
            disabled: true
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: ai-proxy-${k}
                root_id: ai-proxy
                configuration:
                  "@type": type.googleapis.com/google.protobuf.StringValue
                  value: ${JSON.stringify(JSON.stringify({ route_type: ROUTE_TYPES[k], ...(typeof spec.config === "function" ? spec.config(k) : spec.config) }))}
                vm_config:
                  vm_id: ai-proxy
                  runtime: envoy.wasm.runtime.v8${
                    spec.env
                      ? `
                  environment_variables:
                    key_values: ${JSON.stringify(spec.env)}`
                      : ""
                  }
                  code: { local: { filename: ${JSON.stringify(filter("ai-proxy"))} } }`,
    )
    .join("");
  const yaml = `
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:
  - name: main
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ai
          route_config:
            virtual_hosts:
            - name: clients
              domains: ["*"]
              routes:${routes}
              - match: { prefix: "/" }
                route: { cluster: sim }${
                  spec.providerHosts.length > 0
                    ? `
            - name: provider
              domains: ${JSON.stringify(spec.providerHosts.flatMap((h) => [h, `${h}:443`]))}
              routes:
              - match: { prefix: "/" }
                route: { cluster: sim }`
                    : ""
                }
          http_filters:${spec.extraFilters ?? ""}${filters}
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
  clusters:
  - name: sim
    connect_timeout: 1s
    load_assignment:
      cluster_name: sim
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${spec.simulatorPort} } } }
${spec.extra ?? ""}`;
  return startGateway(yaml);
}
