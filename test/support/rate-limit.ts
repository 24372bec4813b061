// A gateway for the rate limiter's tests and bench: ai-rate-limiting-advanced → ai-proxy (chat,
// OpenAI) → ai-metrics, in Kong's priority order, in front of the OpenAI simulator.
import { bootstrapYamlText, wasmFilterYaml } from "./envoy-yaml.ts";
import { filter, startGateway, type RunningGateway } from "./gateway.ts";
import { send, type Reply } from "./client.ts";
import { OPENAI_DEFAULT_KEY, type Simulator } from "../simulators/index.ts";

export const CHAT = "/v1/chat/completions";

/** Where ai-proxy sends the chat: a simulator, or any server on loopback. */
export type Upstream = Pick<Simulator, "url" | "port">;

export interface LimiterGatewayOptions {
  concurrency?: number;
  /** Extra ai-proxy configuration (model.options are merged). */
  proxyOptions?: Record<string, unknown>;
  /** Extra clusters (name → port), and YAML after static_resources. */
  clusters?: Record<string, number>;
  extra?: string;
  /** Filters (YAML list entries) between ai-proxy and ai-metrics. */
  afterProxy?: string;
}

export function limiterYaml(sim: Upstream, limiter: unknown, o: LimiterGatewayOptions = {}): string {
  const proxy = {
    route_type: "llm/v1/chat",
    logging: { log_statistics: true },
    auth: { header_name: "Authorization", header_value: `Bearer ${OPENAI_DEFAULT_KEY}` },
    model: { provider: "openai", options: { upstream_url: `${sim.url}/v1/chat/completions`, ...(o.proxyOptions ?? {}) } },
  };
  return bootstrapYamlText({
    statPrefix: "ai",
    virtualHosts: `
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: sim }`,
    filters:
      wasmFilterYaml("ai-rate-limiting-advanced", filter("ai-rate-limiting-advanced"), limiter, { vmId: "ai-rate-limiting-advanced" }) +
      wasmFilterYaml("ai-proxy", filter("ai-proxy"), proxy) +
      (o.afterProxy ?? "") +
      wasmFilterYaml("ai-metrics", filter("ai-metrics"), {}),
    clusters: { sim: sim.port, ...(o.clusters ?? {}) },
    extra: o.extra,
  });
}

export function startLimiterGateway(sim: Upstream, limiter: unknown, o: LimiterGatewayOptions = {}): Promise<RunningGateway> {
  return startGateway(limiterYaml(sim, limiter, o), { concurrency: o.concurrency ?? 1 });
}

/** A chat request of `words` words ("w0 w1 …"): the simulator counts them as prompt tokens and echoes them. */
export function chatBody(words: number, extra: Record<string, unknown> = {}): string {
  const content = Array.from({ length: words }, (_, i) => `w${i}`).join(" ");
  return JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content }], ...extra });
}

export function chat(base: string, body: string, headers: Record<string, string> = {}): Promise<Reply> {
  return send(base, { path: CHAT, headers: { "content-type": "application/json", ...headers }, body });
}

/** The identifier hash the filter uses (64-bit FNV-1a over UTF-16 code units, 16 hex digits). */
export function identifierHash(s: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < s.length; i++) {
    h ^= BigInt(s.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, "0");
}

/** The counter a window slot holds in shared data: [start, count], or null. */
export function slotValue(gw: RunningGateway, key: string): { start: number; count: number } | null {
  const v = gw.gw.runtime.sharedData.get("ai-rate-limiting-advanced", key);
  if (!v || v.value.length !== 16) return null;
  const dv = new DataView(v.value.buffer, v.value.byteOffset, 16);
  return { start: Number(dv.getBigInt64(0, true)), count: dv.getFloat64(8, true) };
}

export function setSlot(gw: RunningGateway, key: string, start: number, count: number): void {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setBigInt64(0, BigInt(start), true);
  dv.setFloat64(8, count, true);
  gw.gw.runtime.sharedData.set("ai-rate-limiting-advanced", key, b, 0);
}

/** The counter key base of a provider window for an identifier value (before ":<slot>"). */
export function counterBase(namespace: string, provider: string, size: number, identifier: string): string {
  return `airl:${namespace}:${provider}:${size}:${identifierHash(identifier)}`;
}

export function slotKey(base: string, start: number, size: number): string {
  return `${base}:${Math.floor(start / size) & 1}`;
}
