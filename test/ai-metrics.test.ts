// ai-metrics on its own: the probe filter writes ai-proxy's `ai.*` filter-state keys, ai-metrics
// turns them into stats, and the gateway prints /stats/prometheus with the stats_config shipped
// in envoy/envoy.yaml (so the tags and buckets under test are the ones users get).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { filter, startGateway, testFilter, type RunningGateway } from "./support/gateway.ts";
import { send } from "./support/client.ts";

const ROOT = resolve(import.meta.dirname, "..");

beforeAll(() => {
  execFileSync(process.execPath, [resolve(ROOT, "scripts/build.mjs"), "ai-metrics", "probe"], { cwd: ROOT, stdio: "pipe" });
}, 180_000);

/** The stats_config section of the shipped envoy/envoy.yaml, as YAML for a test bootstrap. */
function shippedStatsConfig(): string {
  const doc = parse(readFileSync(resolve(ROOT, "envoy/envoy.yaml"), "utf8")) as { stats_config?: unknown };
  expect(doc.stats_config, "envoy/envoy.yaml has a stats_config section").toBeDefined();
  return stringify({ stats_config: doc.stats_config });
}

/** ai-proxy's individual keys for one answered request (lib/analytics/record.ts). */
const RECORD: Record<string, string> = {
  "ai.provider_name": "openai",
  "ai.request_model": "gpt-4.1",
  "ai.response_model": "gpt-4.1-2025-04-14",
  "ai.request_mode": "oneshot",
  "ai.prompt_tokens": "25",
  "ai.completion_tokens": "12",
  "ai.total_tokens": "37",
  "ai.llm_latency": "120",
  "ai.time_per_token": "10",
  "ai.cost": "0.00037",
  "ai.status": "200",
};

interface Scenario {
  /** Keys the probe writes (in on_request_headers, or on_log with `inLog`); none = no probe. */
  keys?: Record<string, string> | null;
  inLog?: boolean;
  /** The route's direct-response status. */
  status?: number;
  config?: unknown;
  path?: string;
  requests?: number;
}

let gw: RunningGateway | null = null;
afterEach(async () => {
  await gw?.close();
  gw = null;
});

const probeOps = (keys: Record<string, string>) => Object.entries(keys).map(([k, v]) => ["set_property", [k], v]);

async function run(s: Scenario): Promise<string[]> {
  const keys = s.keys === undefined ? RECORD : s.keys;
  const filters = [];
  if (keys) filters.push({ name: "probe", code: testFilter("probe"), config: { [s.inLog ? "on_log" : "on_request_headers"]: probeOps(keys) } });
  filters.push({ name: "ai-metrics", code: filter("ai-metrics"), config: s.config ?? "" });
  gw = await startGateway({ filters, routes: [{ prefix: "/", direct: { status: s.status ?? 200, body: "{}" } }], extra: shippedStatsConfig() });
  for (let i = 0; i < (s.requests ?? 1); i++) {
    const r = await send(gw.url, { path: s.path ?? "/v1/chat/completions", body: "{}" });
    expect(r.status).toBe(s.status ?? 200);
  }
  return prometheus(gw);
}

async function prometheus(g: RunningGateway): Promise<string[]> {
  // on_log runs in the same turn as the response's last write, before the client sees it end.
  const res = await fetch(`${g.admin}/stats/prometheus`);
  return (await res.text()).split("\n").filter((l) => l.length > 0);
}

const ai = (lines: string[]) => lines.filter((l) => /^(# TYPE )?(ai_llm|gen_ai)/.test(l));

// Kong's empty cache labels and this gateway's workspace, in the shipped stats_tags order.
const KONG_MID = 'cache_status="",vector_db="",embeddings_provider="",embeddings_model=""';

describe("Kong's series", () => {
  it("counts requests, tokens by type and nano-dollar cost exactly, with Kong's labels and buckets", async () => {
    const lines = await run({ requests: 3 });
    const base = `ai_provider="openai",ai_model="gpt-4.1",${KONG_MID}`;
    expect(lines).toContain("# TYPE ai_llm_requests_total counter");
    expect(lines).toContain(`ai_llm_requests_total{${base},workspace="",request_mode="oneshot",status_class="2xx"} 3`);
    expect(lines).toContain(`ai_llm_tokens_total{${base},token_type="prompt_tokens",workspace=""} 75`);
    expect(lines).toContain(`ai_llm_tokens_total{${base},token_type="completion_tokens",workspace=""} 36`);
    expect(lines).toContain(`ai_llm_tokens_total{${base},token_type="total_tokens",workspace=""} 111`);
    // 3 × $0.00037 = $0.00111 = 1,110,000 nano-dollars.
    expect(lines).toContain(`ai_llm_cost_nanodollars_total{${base},workspace="",request_mode="oneshot"} 1110000`);
    const lat = `${base},workspace="",request_mode="oneshot",status_class="2xx"`;
    expect(lines).toContain("# TYPE ai_llm_provider_latency_ms histogram");
    const buckets = lines.filter((l) => l.startsWith(`ai_llm_provider_latency_ms_bucket{${lat},le=`));
    expect(buckets.map((l) => /le="([^"]+)"/.exec(l)![1])).toEqual(["250", "500", "1000", "1500", "2000", "2500", "3000", "3500", "4000", "4500", "5000", "10000", "30000", "60000", "+Inf"]);
    expect(buckets.every((l) => l.endsWith(" 3"))).toBe(true); // 120 ms is under every bound
    expect(lines).toContain(`ai_llm_provider_latency_ms_count{${lat}} 3`);
    // No stat name kept a delimiter: every pair had its stats_tags entry.
    expect(lines.filter((l) => l.includes(";.;") || l.includes("=.="))).toEqual([]);
  });

  it("keeps model names with '-', '.', ':' and '/' exactly and neutralises ';' and newlines", async () => {
    const lines = await run({ keys: { ...RECORD, "ai.request_model": "meta-llama/Llama-3.3-70B:free", "ai.response_model": "a;.;ai_provider=.=evil\nx" } });
    expect(lines).toContain(`ai_llm_requests_total{ai_provider="openai",ai_model="meta-llama/Llama-3.3-70B:free",${KONG_MID},workspace="",request_mode="oneshot",status_class="2xx"} 1`);
    const tokens = lines.filter((l) => l.startsWith("gen_ai_client_token_usage_count"));
    expect(tokens).toContain(
      'gen_ai_client_token_usage_count{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="meta-llama/Llama-3.3-70B:free",gen_ai_response_model="a_._ai_provider=.=evil_x",gen_ai_token_type="input"} 1',
    );
    expect(lines.filter((l) => l.includes("evil") && !l.includes('gen_ai_response_model="a_._ai_provider=.=evil_x"'))).toEqual([]);
  });

  it("cuts a label value at 256 characters", async () => {
    const lines = await run({ keys: { ...RECORD, "ai.request_model": "m".repeat(300) } });
    expect(lines).toContain(`ai_llm_requests_total{ai_provider="openai",ai_model="${"m".repeat(256)}",${KONG_MID},workspace="",request_mode="oneshot",status_class="2xx"} 1`);
  });

  it("counts a failed request with its status class, and no tokens or cost it did not have", async () => {
    const failed = { ...RECORD, "ai.prompt_tokens": "0", "ai.completion_tokens": "0", "ai.total_tokens": "0", "ai.cost": "0", "ai.status": "503", "ai.llm_latency": "7" };
    const lines = await run({ keys: failed, status: 503, requests: 2 });
    expect(lines).toContain(`ai_llm_requests_total{ai_provider="openai",ai_model="gpt-4.1",${KONG_MID},workspace="",request_mode="oneshot",status_class="5xx"} 2`);
    expect(lines.filter((l) => l.startsWith("ai_llm_tokens_total") || l.startsWith("ai_llm_cost") || l.startsWith("gen_ai_client_token_usage"))).toEqual([]);
    expect(lines).toContain(`ai_llm_provider_latency_ms_count{ai_provider="openai",ai_model="gpt-4.1",${KONG_MID},workspace="",request_mode="oneshot",status_class="5xx"} 2`);
    expect(lines).toContain(
      'gen_ai_client_operation_duration_milliseconds_count{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4.1",gen_ai_response_model="gpt-4.1-2025-04-14",error_type="503"} 2',
    );
  });

  it("takes the status the client got (response.code) over ai-proxy's", async () => {
    const lines = await run({ keys: { ...RECORD, "ai.status": "200" }, status: 429 });
    expect(lines.some((l) => l.startsWith("ai_llm_requests_total{") && l.includes('status_class="4xx"') && l.endsWith(" 1"))).toBe(true);
    expect(lines.some((l) => l.includes('status_class="2xx"'))).toBe(false);
  });

  it("reads a record written in an earlier filter's on_log (ai-proxy's path for a stream cut short)", async () => {
    const lines = await run({ inLog: true, requests: 2 });
    expect(lines).toContain(`ai_llm_requests_total{ai_provider="openai",ai_model="gpt-4.1",${KONG_MID},workspace="",request_mode="oneshot",status_class="2xx"} 2`);
  });

  it("emits nothing for a stream without an AI record", async () => {
    const lines = await run({ keys: null, requests: 2 });
    expect(ai(lines)).toEqual([]);
  });

  it.each([
    ["3.7e-7", 370],
    ["1.5", 1_500_000_000],
    ["0.000000000", null],
    ["12abc", null],
    ["-0.5", null],
    ["", null],
  ])("carries cost %j as %j nano-dollars", async (cost, nano) => {
    const lines = await run({ keys: { ...RECORD, "ai.cost": cost } });
    const costLines = lines.filter((l) => l.startsWith("ai_llm_cost_nanodollars_total{"));
    if (nano === null) expect(costLines).toEqual([]);
    else expect(costLines.map((l) => l.split(" ")[1])).toEqual([String(nano)]);
  });

  it("ignores counts that are not plain non-negative integers", async () => {
    const lines = await run({ keys: { ...RECORD, "ai.prompt_tokens": "25.5", "ai.completion_tokens": "-3", "ai.total_tokens": "0x10", "ai.llm_latency": "" } });
    expect(lines.filter((l) => l.startsWith("ai_llm_tokens_total") || l.startsWith("ai_llm_provider_latency") || l.startsWith("gen_ai_"))).toEqual([]);
    expect(lines.some((l) => l.startsWith("ai_llm_requests_total{") && l.endsWith(" 1"))).toBe(true);
  });
});

describe("OpenTelemetry GenAI series", () => {
  it("records token usage by input/output and the operation duration with the semantic-convention buckets", async () => {
    const lines = await run({ requests: 2 });
    const attrs = 'gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4.1",gen_ai_response_model="gpt-4.1-2025-04-14"';
    expect(lines).toContain("# TYPE gen_ai_client_token_usage histogram");
    const input = lines.filter((l) => l.startsWith(`gen_ai_client_token_usage_bucket{${attrs},gen_ai_token_type="input",le=`));
    expect(input.map((l) => l.replace(/.*le="([^"]+)"\} (\d+)$/, "$1:$2"))).toEqual([
      "1:0", "4:0", "16:0", "64:2", "256:2", "1024:2", "4096:2", "16384:2", "65536:2", "262144:2", "1048576:2", "4194304:2", "16777216:2", "67108864:2", "+Inf:2",
    ]);
    expect(lines).toContain(`gen_ai_client_token_usage_count{${attrs},gen_ai_token_type="output"} 2`);
    expect(lines.some((l) => l.includes('gen_ai_token_type="total')) ).toBe(false);
    const dur = lines.filter((l) => l.startsWith(`gen_ai_client_operation_duration_milliseconds_bucket{${attrs},le=`));
    expect(dur.map((l) => /le="([^"]+)"/.exec(l)![1])).toEqual(["10", "20", "40", "80", "160", "320", "640", "1280", "2560", "5120", "10240", "20480", "40960", "81920", "+Inf"]);
    expect(lines).toContain(`gen_ai_client_operation_duration_milliseconds_count{${attrs}} 2`);
  });

  it.each([
    ["/v1/chat/completions", "chat"],
    ["/v1/completions", "text_completion"],
    ["/v1/embeddings", "embeddings"],
    ["/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21", "chat"],
    ["/v1/messages", "chat"],
    ["/api/generate", "text_completion"],
    ["/v2/embed", "embeddings"],
  ])("names the operation of %s %s", async (path, op) => {
    const lines = await run({ path });
    expect(lines.some((l) => l.startsWith("gen_ai_client_operation_duration_milliseconds_count{") && l.includes(`gen_ai_operation_name="${op}"`))).toBe(true);
  });

  // The series of a label set are cached by the facts that decide the labels (series-cache.ts):
  // without a route type the path is one of them, so alternating paths must not share a series.
  it("keeps label sets that differ only by the path apart when they alternate", async () => {
    await run({ requests: 0 });
    for (const path of ["/v1/embeddings", "/v1/chat/completions", "/v1/embeddings", "/v1/embeddings", "/v1/chat/completions"]) {
      expect((await send(gw!.url, { path, body: "{}" })).status).toBe(200);
    }
    const lines = await prometheus(gw!);
    const count = (op: string) => lines.find((l) => l.startsWith("gen_ai_client_operation_duration_milliseconds_count{") && l.includes(`gen_ai_operation_name="${op}"`));
    expect(count("embeddings")).toMatch(/ 3$/);
    expect(count("chat")).toMatch(/ 2$/);
    // Kong's series have no operation label: one series, all five requests.
    expect(lines.filter((l) => l.startsWith("ai_llm_requests_total{"))).toEqual([expect.stringMatching(/ 5$/)]);
  });

  it("prefers ai-proxy's route type to the path", async () => {
    const lines = await run({ keys: { ...RECORD, "ai.route_type": "llm/v1/embeddings" }, path: "/v1/chat/completions" });
    expect(lines.some((l) => l.startsWith("gen_ai_client_operation_duration_milliseconds_count{") && l.includes('gen_ai_operation_name="embeddings"'))).toBe(true);
  });

  it.each([
    ["azure", "azure.ai.openai"],
    ["mistral", "mistral_ai"],
    ["anthropic", "anthropic"],
    ["gemini", "gcp.gemini"],
    ["bedrock", "aws.bedrock"],
    ["ollama", "ollama"],
  ])("maps provider %s to gen_ai.provider.name %s", async (kong, otel) => {
    const lines = await run({ keys: { ...RECORD, "ai.provider_name": kong } });
    expect(lines.some((l) => l.startsWith("gen_ai_client_token_usage_count{") && l.includes(`gen_ai_provider_name="${otel}"`))).toBe(true);
    expect(lines.some((l) => l.startsWith("ai_llm_requests_total{") && l.includes(`ai_provider="${kong}"`))).toBe(true);
  });
});

describe("configuration", () => {
  it("sets Kong's workspace label", async () => {
    const lines = await run({ config: { workspace: "team-a" } });
    expect(lines).toContain(`ai_llm_requests_total{ai_provider="openai",ai_model="gpt-4.1",${KONG_MID},workspace="team-a",request_mode="oneshot",status_class="2xx"} 1`);
  });

  it("turns each family off on its own", async () => {
    const kongOnly = await run({ config: { genai_metrics: false } });
    expect(kongOnly.some((l) => l.startsWith("ai_llm_requests_total{"))).toBe(true);
    expect(kongOnly.filter((l) => l.startsWith("gen_ai_"))).toEqual([]);
    await gw?.close();
    const genaiOnly = await run({ config: { ai_metrics: false } });
    expect(genaiOnly.some((l) => l.startsWith("gen_ai_client_token_usage_count{"))).toBe(true);
    expect(genaiOnly.filter((l) => l.startsWith("ai_llm_"))).toEqual([]);
  });

  it.each([
    [{ ai_metric: true }, "configuration field 'ai_metric' is unknown"],
    [{ ai_metrics: "yes" }, "configuration field 'ai_metrics' must be a boolean"],
    [{ workspace: 1 }, "configuration field 'workspace' must be a string"],
    [{ workspace: "a;b" }, "configuration field 'workspace' must not contain ';'"],
    ["[1]", "configuration is not a valid JSON object"],
  ])("refuses %j at load, naming the field", async (config, message) => {
    await expect(run({ config })).rejects.toThrow(message);
  });
});

describe("metric definitions", () => {
  it("are made once per series and VM, not per request", async () => {
    await run({ requests: 5 });
    const vm = gw!.gw.plugin("ai-metrics").vm(0);
    // requests, cost, 3 token types, latency; 2 token-usage types, duration.
    expect(vm.metrics.filter((m) => m !== undefined).length).toBe(9);
    for (let i = 0; i < 3; i++) await send(gw!.url, { path: "/v1/chat/completions", body: "{}" });
    expect(vm.metrics.filter((m) => m !== undefined).length).toBe(9);
  });
});
