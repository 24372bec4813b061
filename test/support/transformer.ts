// A gateway for the transformer filters: one transformer in front of a plain (non-AI) JSON
// upstream, with the LLM reached on clusters named as the filter names them (the LLM URL's
// authority, or llm_cluster), each pointing at a provider simulator.
import { afterAll, afterEach, beforeAll } from "vitest";
import { filter, startGateway, type BootstrapSpec, type RunningGateway, type WasmFilterSpec } from "./gateway.ts";
import { startUpstream, type Handler, type TestUpstream } from "./upstream.ts";
import { ANTHROPIC_DEFAULT_KEY, OPENAI_DEFAULT_KEY, startAnthropic, startOpenAI, type Simulator } from "../simulators/index.ts";

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

/**
 * What a transformer test file runs against: the plain upstream (answering with `handler`) and
 * the OpenAI and Anthropic simulators, started once for the file, with the gateway of each
 * test closed and the recorded requests cleared after it (vitest hooks registered here).
 */
export class TransformerRig {
  up!: TestUpstream;
  openai!: Simulator;
  anthropic!: Simulator;
  gw: RunningGateway | null = null;

  constructor(
    private readonly name: TransformerName,
    handler?: Handler,
  ) {
    beforeAll(async () => {
      this.up = await startUpstream(handler);
      this.openai = await startOpenAI();
      this.anthropic = await startAnthropic();
    });
    afterAll(async () => {
      await Promise.all([this.up.close(), this.openai.close(), this.anthropic.close()]);
    });
    afterEach(async () => {
      await this.gw?.close();
      this.gw = null;
      this.up.received.length = 0;
      this.openai.requests.length = 0;
      this.anthropic.requests.length = 0;
    });
  }

  /** The LLM clusters as the filter names them: OpenAI at its simulator URL's authority, Anthropic at its default URL's. */
  llmClusters(): Record<string, number> {
    return { [`127.0.0.1:${this.openai.port}`]: this.openai.port, "api.anthropic.com:443": this.anthropic.port };
  }

  /** A gateway with the transformer configured as `config`. */
  async start(config: Record<string, unknown>, o: Partial<TransformerGatewaySpec> = {}): Promise<RunningGateway> {
    this.gw = await startTransformerGateway({ name: this.name, config, upstreamPort: this.up.port, llmClusters: this.llmClusters(), ...o });
    return this.gw;
  }
}
