// A gateway for the transformer filters: one transformer in front of a plain (non-AI) JSON
// upstream, with the LLM reached on clusters named as the filter names them (the LLM URL's
// authority, or llm_cluster), each pointing at a provider simulator.
import { filter, startGateway, type BootstrapSpec, type RunningGateway, type WasmFilterSpec } from "./gateway.ts";
import { ANTHROPIC_DEFAULT_KEY, OPENAI_DEFAULT_KEY } from "../simulators/index.ts";

export type TransformerName = "ai-request-transformer" | "ai-response-transformer";

export interface TransformerGatewaySpec {
  name: TransformerName;
  config: Record<string, unknown>;
  upstreamPort: number;
  /** Cluster name → port (the LLM simulators). */
  llmClusters: Record<string, number>;
  /** Envoy's PluginConfig allow_on_headers_stop_iteration on the transformer. */
  allowOnHeadersStopIteration?: boolean;
  env?: Record<string, string>;
  /** Filters after the transformer (ai-metrics). */
  after?: WasmFilterSpec[];
  accessLog?: BootstrapSpec["accessLog"];
  routeTimeout?: string;
}

export const KEYS: Record<string, string> = { OPENAI_API_KEY: OPENAI_DEFAULT_KEY, ANTHROPIC_API_KEY: ANTHROPIC_DEFAULT_KEY };

export function transformerBootstrap(s: TransformerGatewaySpec): BootstrapSpec {
  const clusters: NonNullable<BootstrapSpec["clusters"]> = { upstream: { port: s.upstreamPort } };
  for (const [n, port] of Object.entries(s.llmClusters)) clusters[n] = { port };
  return {
    filters: [
      { name: s.name, code: filter(s.name), config: s.config, env: s.env ?? KEYS, allowOnHeadersStopIteration: s.allowOnHeadersStopIteration },
      ...(s.after ?? []),
    ],
    routes: [{ prefix: "/", cluster: "upstream", timeout: s.routeTimeout }],
    clusters,
    accessLog: s.accessLog,
  };
}

export function startTransformerGateway(s: TransformerGatewaySpec): Promise<RunningGateway> {
  return startGateway(transformerBootstrap(s));
}

/** The `llm` record for OpenAI at the simulator's URL (cluster: its authority, 127.0.0.1:PORT). */
export function openaiLlm(port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    route_type: "llm/v1/chat",
    auth: { header_name: "Authorization", header_value: "Bearer {vault://env/OPENAI_API_KEY}" },
    model: { provider: "openai", name: "gpt-4o-mini", options: { upstream_url: `http://127.0.0.1:${port}/v1/chat/completions`, input_cost: 10, output_cost: 10 } },
    logging: { log_statistics: true },
    ...extra,
  };
}

/** The `llm` record for Anthropic at its default URL (cluster: api.anthropic.com:443). */
export function anthropicLlm(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    route_type: "llm/v1/chat",
    auth: { header_name: "x-api-key", header_value: "{vault://env/ANTHROPIC_API_KEY}" },
    model: { provider: "anthropic", name: "claude-3-5-haiku-latest", options: { anthropic_version: "2023-06-01", max_tokens: 512 } },
    logging: { log_statistics: true },
    ...extra,
  };
}
