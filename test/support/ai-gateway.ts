// A gateway laid out like the shipped envoy/envoy.yaml, in front of one provider simulator:
// routes by OpenAI path enable the ai-proxy instance for that route type; after ai-proxy
// rewrites :authority and :path (ABI 0.2.1 clears the route cache), the provider's virtual host
// (its public API host) sends the request to the simulator's cluster.
import { filter, startGateway, type RunningGateway } from "./gateway.ts";
import { bootstrapYamlText, wasmFilterYaml } from "./envoy-yaml.ts";

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
                    config: {}`,
    )
    .join("");
  const filters = kinds
    .map((k) =>
      wasmFilterYaml(`ai-proxy-${k}`, filter("ai-proxy"), { route_type: ROUTE_TYPES[k], ...(typeof spec.config === "function" ? spec.config(k) : spec.config) }, { rootId: "ai-proxy", vmId: "ai-proxy", disabled: true, env: spec.env }),
    )
    .join("");
  const providerVhost =
    spec.providerHosts.length > 0
      ? `
            - name: provider
              domains: ${JSON.stringify(spec.providerHosts.flatMap((h) => [h, `${h}:443`]))}
              routes:
              - match: { prefix: "/" }
                route: { cluster: sim }`
      : "";
  const yaml = bootstrapYamlText({
    statPrefix: "ai",
    virtualHosts: `
            - name: clients
              domains: ["*"]
              routes:${routes}
              - match: { prefix: "/" }
                route: { cluster: sim }${providerVhost}`,
    filters: (spec.extraFilters ?? "") + filters,
    clusters: { sim: spec.simulatorPort },
    extra: spec.extra,
  });
  return startGateway(yaml);
}
