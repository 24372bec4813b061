// ai-proxy (OpenAI and Mistral) → provider simulators, with ai-metrics after it and the shipped
// stats_config and access-log format: after N plain and N streamed requests per provider and
// model, /stats/prometheus shows exact request, token and cost figures; failed requests are
// counted with their status class; the access log carries the AI record.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { filter, startGateway, type RunningGateway } from "./support/gateway.ts";
import { send, type Reply } from "./support/client.ts";
import { MISTRAL_DEFAULT_KEY, OPENAI_DEFAULT_KEY, startMistral, startOpenAI, type Simulator } from "./simulators/index.ts";
import { shippedLogFormat } from "./support/shipped-config.ts";

const ROOT = resolve(import.meta.dirname, "..");
const N = 3;
const PRICES = { openai: { input_cost: 0.15, output_cost: 0.6 }, mistral: { input_cost: 2, output_cost: 6 } };

type Obj = Record<string, unknown>;
interface Shipped {
  stats_config: unknown;
}

const shipped = (): Shipped => parse(readFileSync(resolve(ROOT, "envoy/envoy.yaml"), "utf8")) as Shipped;

function aiProxy(name: string, cfg: Obj): string {
  return `
          - name: ${name}
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: ${name}
                configuration:
                  "@type": type.googleapis.com/google.protobuf.StringValue
                  value: ${JSON.stringify(JSON.stringify(cfg))}
                vm_config:
                  vm_id: ${name}
                  runtime: envoy.wasm.runtime.v8
                  code: { local: { filename: ${JSON.stringify(filter("ai-proxy"))} } }`;
}

const disable = (name: string) => `
                  typed_per_filter_config:
                    ${name}:
                      "@type": type.googleapis.com/envoy.config.route.v3.FilterConfig
                      disabled: true`;

const cluster = (name: string, port: number) => `
  - name: ${name}
    connect_timeout: 1s
    type: STATIC
    load_assignment:
      cluster_name: ${name}
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${port} } } }`;

/**
 * Two ai-proxy filters (one per provider, each disabled on the other's route) and ai-metrics.
 * ai-proxy rewrites :authority to the provider's host, which re-selects the route: each
 * simulator's host:port has its own virtual host.
 */
function bootstrap(openai: Simulator, mistral: Simulator, logPath: string): string {
  const common = { logging: { log_statistics: true } };
  const oa = {
    ...common,
    route_type: "llm/v1/chat",
    auth: { header_name: "Authorization", header_value: `Bearer ${OPENAI_DEFAULT_KEY}` },
    model: { provider: "openai", options: { upstream_url: `${openai.url}/v1/chat/completions`, ...PRICES.openai } },
  };
  const mi = {
    ...common,
    route_type: "llm/v1/chat",
    auth: { header_name: "Authorization", header_value: `Bearer ${MISTRAL_DEFAULT_KEY}` },
    model: { provider: "mistral", name: "mistral-small-latest", options: { mistral_format: "openai", upstream_url: `${mistral.url}/v1/chat/completions`, ...PRICES.mistral } },
  };
  const s = shipped();
  return `
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
${stringify({ stats_config: s.stats_config })}
static_resources:
  listeners:
  - name: main
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress_http
          access_log:
          - name: envoy.access_loggers.file
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
              path: ${JSON.stringify(logPath)}
              log_format: ${JSON.stringify(shippedLogFormat())}
          route_config:
            name: local
            virtual_hosts:
            - name: openai-sim
              domains: ["127.0.0.1:${openai.port}"]
              routes: [{ match: { prefix: "/" }, route: { cluster: openai } }]
            - name: mistral-sim
              domains: ["127.0.0.1:${mistral.port}"]
              routes: [{ match: { prefix: "/" }, route: { cluster: mistral } }]
            - name: gateway
              domains: ["*"]
              routes:
                - match: { prefix: "/openai/" }
                  route: { cluster: openai }${disable("ai-proxy-mistral")}
                - match: { prefix: "/mistral/" }
                  route: { cluster: mistral }${disable("ai-proxy-openai")}
          http_filters:${aiProxy("ai-proxy-openai", oa)}${aiProxy("ai-proxy-mistral", mi)}
          - name: ai-metrics
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: ai-metrics
                configuration:
                  "@type": type.googleapis.com/google.protobuf.StringValue
                  value: ""
                vm_config:
                  vm_id: ai-metrics
                  runtime: envoy.wasm.runtime.v8
                  code: { local: { filename: ${JSON.stringify(filter("ai-metrics"))} } }
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:${cluster("openai", openai.port)}${cluster("mistral", mistral.port)}
`;
}

let openai: Simulator;
let mistral: Simulator;
let gw: RunningGateway;
let logPath: string;

beforeAll(async () => {
  execFileSync(process.execPath, [resolve(ROOT, "scripts/build.mjs"), "ai-proxy", "ai-metrics"], { cwd: ROOT, stdio: "pipe" });
  openai = await startOpenAI();
  mistral = await startMistral();
  logPath = join(mkdtempSync(join(tmpdir(), "ai-metrics-")), "access.log");
  gw = await startGateway(bootstrap(openai, mistral, logPath));
}, 180_000);
afterAll(async () => {
  await gw?.close();
  await openai?.close();
  await mistral?.close();
});

const url = () => `http://127.0.0.1:${gw.gw.ports.get("main")}`;

function chat(provider: "openai" | "mistral", body: Obj): Promise<Reply> {
  return send(url(), { method: "POST", path: `/${provider}/v1/chat/completions`, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** The usage the client was told: the JSON answer's, or the stream chunk that carries it. */
function usageOf(r: Reply): Usage {
  if (String(r.headers["content-type"]).startsWith("text/event-stream")) {
    const chunks = r.body
      .split("\n\n")
      .map((e) => e.replace(/^data: /, ""))
      .filter((d) => d.startsWith("{"))
      .map((d) => JSON.parse(d) as { usage?: Usage | null });
    const u = chunks.map((c) => c.usage).filter((x): x is Usage => !!x);
    expect(u, "one usage in the stream").toHaveLength(1);
    return u[0]!;
  }
  return (JSON.parse(r.body) as { usage: Usage }).usage;
}

async function prometheus(): Promise<string[]> {
  const res = await fetch(`${gw.admin}/stats/prometheus`);
  return (await res.text()).split("\n").filter((l) => l.length > 0);
}

/** The value of the series whose name and labels contain every fragment, or undefined. */
function value(lines: string[], name: string, ...labels: string[]): number | undefined {
  const hits = lines.filter((l) => l.startsWith(`${name}{`) && labels.every((f) => l.includes(f)));
  if (hits.length === 0) return undefined;
  expect(hits, `one series for ${name} ${labels.join(",")}`).toHaveLength(1);
  return Number(hits[0]!.slice(hits[0]!.lastIndexOf(" ") + 1));
}

const accessLog = (): Obj[] =>
  readFileSync(logPath, "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Obj);

// Per provider/model: what the clients were told, summed.
interface Sum {
  prompt: number;
  completion: number;
  total: number;
  nano: number;
}
const sums = new Map<string, Sum>();

function add(provider: "openai" | "mistral", model: string, u: Usage): void {
  const k = `${provider}/${model}`;
  const s = sums.get(k) ?? { prompt: 0, completion: 0, total: 0, nano: 0 };
  s.prompt += u.prompt_tokens;
  s.completion += u.completion_tokens;
  s.total += u.total_tokens;
  // (p × in + c × out) / 1e6 dollars = (p × in + c × out) × 1000 nano-dollars.
  s.nano += Math.round((u.prompt_tokens * PRICES[provider].input_cost + u.completion_tokens * PRICES[provider].output_cost) * 1000);
  sums.set(k, s);
}

const CASES: ["openai" | "mistral", string][] = [
  ["openai", "gpt-4o-mini"],
  ["openai", "gpt-4.1"],
  ["mistral", "mistral-small-latest"],
];

describe("after N plain and N streamed requests", () => {
  beforeAll(async () => {
    for (const [provider, model] of CASES) {
      for (let i = 0; i < N; i++) {
        const messages = [{ role: "user", content: `question number ${i} about ${model} ${"word ".repeat(i)}` }];
        const plain = await chat(provider, { model, messages });
        expect(plain.status, plain.body).toBe(200);
        add(provider, model, usageOf(plain));
        const streamed = await chat(provider, { model, messages, stream: true, ...(provider === "openai" ? { stream_options: { include_usage: true } } : {}) });
        expect(streamed.status, streamed.body).toBe(200);
        add(provider, model, usageOf(streamed));
      }
    }
  }, 60_000);

  it.each(CASES)("%s %s: exact requests per mode, tokens by type and nano-dollar cost", async (provider, model) => {
    const lines = await prometheus();
    const who = [`ai_provider="${provider}"`, `ai_model="${model}"`];
    const s = sums.get(`${provider}/${model}`)!;
    expect(s.prompt).toBeGreaterThan(0);
    expect(value(lines, "ai_llm_requests_total", ...who, 'request_mode="oneshot"', 'status_class="2xx"')).toBe(N);
    expect(value(lines, "ai_llm_requests_total", ...who, 'request_mode="stream"', 'status_class="2xx"')).toBe(N);
    expect(value(lines, "ai_llm_tokens_total", ...who, 'token_type="prompt_tokens"')).toBe(s.prompt);
    expect(value(lines, "ai_llm_tokens_total", ...who, 'token_type="completion_tokens"')).toBe(s.completion);
    expect(value(lines, "ai_llm_tokens_total", ...who, 'token_type="total_tokens"')).toBe(s.total);
    const cost = (value(lines, "ai_llm_cost_nanodollars_total", ...who, 'request_mode="oneshot"') ?? 0) + (value(lines, "ai_llm_cost_nanodollars_total", ...who, 'request_mode="stream"') ?? 0);
    expect(cost).toBe(s.nano);
    const lat = (mode: string) => value(lines, "ai_llm_provider_latency_ms_count", ...who, `request_mode="${mode}"`, 'status_class="2xx"');
    expect([lat("oneshot"), lat("stream")]).toEqual([N, N]);
  });

  it.each(CASES)("%s %s: OpenTelemetry token usage and duration counts", async (provider, model) => {
    const lines = await prometheus();
    const otelProvider = provider === "mistral" ? "mistral_ai" : provider;
    const attrs = ['gen_ai_operation_name="chat"', `gen_ai_provider_name="${otelProvider}"`, `gen_ai_request_model="${model}"`];
    const count = (name: string, ...more: string[]) =>
      lines.filter((l) => l.startsWith(`${name}_count{`) && [...attrs, ...more].every((f) => l.includes(f))).reduce((n, l) => n + Number(l.split(" ").pop()), 0);
    expect(count("gen_ai_client_token_usage", 'gen_ai_token_type="input"')).toBe(2 * N);
    expect(count("gen_ai_client_token_usage", 'gen_ai_token_type="output"')).toBe(2 * N);
    expect(count("gen_ai_client_operation_duration_milliseconds")).toBe(2 * N);
    expect(lines.some((l) => l.startsWith("gen_ai_client_operation_duration_milliseconds_count{") && l.includes(`gen_ai_request_model="${model}"`) && l.includes("error_type"))).toBe(false);
  });

  it("the access log carries each request's AI record", async () => {
    const records = accessLog()
      .filter((l) => l.status === 200 && typeof l.ai === "string")
      .map((l) => JSON.parse(l.ai as string) as { proxy: { meta: Obj; usage: Obj } });
    expect(records.length).toBeGreaterThanOrEqual(2 * N * CASES.length);
    const modes = records.filter((r) => r.proxy.meta.request_model === "gpt-4.1").map((r) => r.proxy.meta.request_mode);
    expect(modes.filter((m) => m === "stream")).toHaveLength(N);
    expect(modes.filter((m) => m === "oneshot")).toHaveLength(N);
    const tokens = records.filter((r) => r.proxy.meta.provider_name === "mistral").reduce((n, r) => n + (r.proxy.usage.total_tokens as number), 0);
    expect(tokens).toBe(sums.get("mistral/mistral-small-latest")!.total);
  });
});

describe("failed requests", () => {
  /** Waits for the access-log line of the request just answered (it is written after the response). */
  /**
   * The first access-log line after index `before` with this status: an earlier test's line can
   * still be on its way when `before` is read (the log is written when a stream ends).
   */
  async function nextLogLine(before: number, status: number, model?: string): Promise<Obj | undefined> {
    const find = () => accessLog().slice(before).find((l) => l.status === status && (model === undefined || String(l.ai).includes(`"${model}"`)));
    for (let i = 0; i < 200 && find() === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    return find();
  }

  it("are counted with their status class, from the provider or from the gateway", async () => {
    const model = "gpt-4o-failing";
    const who = ['ai_provider="openai"', `ai_model="${model}"`];
    // ai-proxy refuses a body it cannot read before it knows the model: counted under ai_model="".
    const refused = ['ai_provider="openai"', 'ai_model=""', 'request_mode="oneshot"', 'status_class="4xx"'];
    const refusedBefore = value(await prometheus(), "ai_llm_requests_total", ...refused) ?? 0;
    openai.failNext(429);
    expect((await chat("openai", { model, messages: [{ role: "user", content: "hi" }] })).status).toBe(429);
    openai.failNext(500);
    expect((await chat("openai", { model, messages: [{ role: "user", content: "hi" }], stream: true })).status).toBe(500);
    openai.failNext(503);
    expect((await chat("openai", { model, messages: [{ role: "user", content: "hi" }] })).status).toBe(503);
    expect((await chat("openai", { model, messages: "not a list" })).status).toBe(400);
    const lines = await prometheus();
    expect(value(lines, "ai_llm_requests_total", ...who, 'request_mode="oneshot"', 'status_class="4xx"')).toBe(1);
    expect(value(lines, "ai_llm_requests_total", ...who, 'request_mode="stream"', 'status_class="5xx"')).toBe(1);
    expect(value(lines, "ai_llm_requests_total", ...who, 'request_mode="oneshot"', 'status_class="5xx"')).toBe(1);
    expect(value(lines, "ai_llm_requests_total", ...who, 'status_class="2xx"')).toBeUndefined();
    expect(value(lines, "ai_llm_requests_total", ...refused)).toBe(refusedBefore + 1);
    expect(lines.filter((l) => l.startsWith("ai_llm_tokens_total{") && l.includes(model))).toEqual([]);
    expect(lines.filter((l) => l.startsWith("ai_llm_cost_nanodollars_total{") && l.includes(model))).toEqual([]);
    const errs = (t: string) => value(lines, "gen_ai_client_operation_duration_milliseconds_count", `gen_ai_request_model="${model}"`, `error_type="${t}"`);
    expect([errs("429"), errs("500"), errs("503")]).toEqual([1, 1, 1]);
    expect(value(lines, "gen_ai_client_operation_duration_milliseconds_count", 'gen_ai_provider_name="openai"', 'gen_ai_request_model=""', 'error_type="400"')).toBeGreaterThanOrEqual(1);
  });

  it("still log what is known", async () => {
    let n = accessLog().length;
    openai.failNext(500);
    expect((await chat("openai", { model: "gpt-4o-logged", messages: [{ role: "user", content: "hi" }] })).status).toBe(500);
    const upstreamFailure = (await nextLogLine(n, 500, "gpt-4o-logged"))!;
    n = accessLog().length;
    expect((await chat("openai", { model: "gpt-4o-logged", messages: 5 })).status).toBe(400);
    const refusal = (await nextLogLine(n, 400))!;
    expect(upstreamFailure).toMatchObject({ status: 500 });
    expect(refusal).toMatchObject({ status: 400 });
    const meta = (l: Obj) => (JSON.parse(l.ai as string) as { proxy: { meta: Obj } }).proxy.meta;
    expect(meta(upstreamFailure)).toMatchObject({ provider_name: "openai", request_model: "gpt-4o-logged", request_mode: "oneshot" });
    expect(meta(refusal)).toMatchObject({ provider_name: "openai" });
  });
});
