// ai-metrics reads every fact from one packed filter-state value, `ai.facts` (lib/analytics/facts.ts),
// and falls back to the individual `ai.*` keys when it is absent or malformed. The two reads must
// give the same series: the analytics-check test filter writes records, content-safety blocks
// and rate-limit denials as the gateway's producers do, and one gateway of each pair then empties
// `ai.facts` so that its ai-metrics reads the keys. Every scenario's /stats/prometheus must match.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { filter, startGateway, testFilter, type RunningGateway } from "./support/gateway.ts";
import { send } from "./support/client.ts";

const ROOT = resolve(import.meta.dirname, "..");

type Rec = Record<string, string | number | boolean>;
interface Scenario {
  records?: Rec[];
  safety_input?: string;
  safety_output?: string;
  rate_limited?: string;
}

const base: Rec = {
  prefix: "ai.",
  log_name: "proxy",
  provider: "openai",
  request_model: "gpt-4.1",
  response_model: "gpt-4.1-2025-04-14",
  request_mode: "oneshot",
  prompt_tokens: 25,
  completion_tokens: 12,
  total_tokens: 37,
  latency_ms: 120,
  cost: 0.00037,
  status: 200,
  error_type: "",
};
const rec = (o: Rec): Rec => ({ ...base, ...o });
const transformer = (name: string, o: Rec): Rec => rec({ prefix: `ai.${name}.`, log_name: name, ...o });

/** Each scenario, with the paths its requests take (the path names the operation: no route type is written). */
const SCENARIOS: { name: string; s: Scenario; paths: string[] }[] = [
  { name: "a plain record", s: { records: [rec({})] }, paths: ["/v1/chat/completions", "/v1/chat/completions"] },
  { name: "paths that alternate", s: { records: [rec({})] }, paths: ["/v1/embeddings", "/v1/chat/completions", "/v1/embeddings", "/api/generate?x=embed"] },
  // The producer records the operation of the :path it sends (as ai-proxy does): ai-metrics
  // then reads no :path, and must count exactly what it counts from :path.
  {
    name: "an operation recorded from the path, on paths of every kind",
    s: { records: [rec({ operation_from_path: true }), transformer("ai-request-transformer", { provider: "mistral" })] },
    paths: ["/v1/embeddings", "/v1/chat/completions", "/v1/completions", "/API/Generate?x=1", "/v1/messages", "/x/EMBED/y", "/v1beta/models/g:generateContent", "/", "/v1/completions?embed=1"],
  },
  { name: "a recorded operation that is not one of the three", s: { records: [rec({ operation: "bogus" }), rec({ prefix: "ai.ai-response-transformer.", log_name: "ai-response-transformer", operation: "Chat" })] }, paths: ["/v1/completions", "/v1/embeddings"] },
  { name: "';', newlines, control characters and NUL in labels", s: { records: [rec({ request_model: "a;.;ai_provider=.=evil\nx", response_model: "r\u0000\u0001\u007f;", provider: "open;ai" })] }, paths: ["/v1/chat/completions"] },
  { name: "unicode and a lone surrogate", s: { records: [rec({ request_model: "modèle-😀-日本", response_model: "x\ud800y", provider: "prövider\udfff" })] }, paths: ["/v1/chat/completions"] },
  { name: "labels over 256 characters", s: { records: [rec({ request_model: "m".repeat(300), response_model: "é".repeat(255) + "😀" + "z".repeat(10) })] }, paths: ["/v1/chat/completions"] },
  { name: "empty provider and models", s: { records: [rec({ provider: "", request_model: "", response_model: "", request_mode: "" })] }, paths: ["/"] },
  { name: "a failed request without usage", s: { records: [rec({ status: 503, prompt_tokens: -1, completion_tokens: -1, total_tokens: -1, cost: 0, latency_ms: 7 })] }, paths: ["/v1/chat/completions"] },
  { name: "a 200 that broke on the way", s: { records: [rec({ error_type: "upstream_stream_incomplete", request_mode: "stream" })] }, paths: ["/v1/chat/completions"] },
  { name: "no status at all", s: { records: [rec({ status: 0, latency_ms: -5 })] }, paths: ["/v1/chat/completions"] },
  { name: "costs and counts at the edges", s: { records: [rec({ cost: 3.7e-7, prompt_tokens: 2147483647, completion_tokens: 0, total_tokens: 2147483647 }), transformer("ai-request-transformer", { cost: 1e-12 }), transformer("ai-response-transformer", { cost: 18000000000 })] }, paths: ["/v1/chat/completions"] },
  { name: "ai-proxy and both transformers' LLM calls", s: { records: [transformer("ai-request-transformer", { provider: "mistral", request_model: "mistral-small" }), rec({ provider: "azure" }), transformer("ai-response-transformer", { provider: "gemini", request_model: "gemini-2.0" })] }, paths: ["/v1/chat/completions"] },
  { name: "one writer's record written twice", s: { records: [rec({ request_model: "first" }), rec({ request_model: "second", log_statistics: true })] }, paths: ["/v1/chat/completions"] },
  { name: "content-safety blocks and a rate-limit denial", s: { safety_input: "Hate,Violence", safety_output: "Blocklist,,Se;x", rate_limited: "openai,,azure" }, paths: ["/v1/chat/completions"] },
  { name: "a record, a block and a denial together", s: { records: [rec({ provider: "cohere" })], safety_output: "SelfHarm", rate_limited: "cohere" }, paths: ["/v1/chat/completions"] },
  { name: "nothing written", s: {}, paths: ["/v1/chat/completions"] },
  // The ai.log JSON of each record is also checked byte for byte against a JsonWriter rendering
  // (analytics-check logs an error on a difference); these records exercise its every branch.
  {
    name: "records whose ai.log JSON escapes, with payloads, tries, Azure and time to first token",
    s: {
      records: [
        rec({ plugin_id: 'p"\\1', provider: "", request_model: "q\"\\\n\t\u0001é😀\ud800", response_model: "", latency_ms: 10, completion_tokens: 3, request_payload: '{"messages":[{"content":"a\\"b\n"}]}', response_payload: "x\u007f\udc00y", log_statistics: true, log_payloads: true }),
        // The same names again, then one name changed at a time.
        rec({ plugin_id: 'p"\\1', provider: "", request_model: "q\"\\\n\t\u0001é😀\ud800", response_model: "", latency_ms: 11, log_statistics: true }),
        rec({ plugin_id: 'p"\\1', provider: "", request_model: "q\"\\\n\t\u0001é😀\ud800", response_model: "r\ud800", log_statistics: true }),
        rec({ plugin_id: 'p"\\1', provider: "", request_model: "q\"\\\n\t\u0001é😀\udc00", response_model: "r\ud800", log_statistics: true }),
        rec({ plugin_id: 'p"\\1', provider: "openai", request_model: "q\"\\\n\t\u0001é😀\udc00", response_model: "r\ud800", log_statistics: true }),
        rec({ plugin_id: "p2", provider: "openai", request_model: "q\"\\\n\t\u0001é😀\udc00", response_model: "r\ud800", log_statistics: true }),
        rec({ plugin_id: "p2", provider: "openai", request_model: "q\"\\\n\t\u0001é😀\udc00", response_model: "r\ud800", log_statistics: true }),
        transformer("ai-request-transformer", { target: "targets[1] \"b\"", tries: 2, azure_instance: "inst", azure_deployment: "dép", azure_api_version: "2024-10-21", time_to_first_token: 0, cost: 0.1 + 0.2, log_statistics: true }),
        transformer("ai-response-transformer", { latency_ms: -1, completion_tokens: 7, cost: 1e21, time_to_first_token: 12 }),
        // Numbers at the edges of the digit writer (write() and toJson no longer call toString()).
        rec({ latency_ms: -1234567890123, prompt_tokens: 9007199254740991, completion_tokens: 1000000000000000000, total_tokens: 10, cost: 0.00037, status: 4294967295, time_to_first_token: 9, log_statistics: true }),
      ],
    },
    paths: ["/v1/chat/completions"],
  },
  // write() writes its numbers' text without toString(), and parses the cost itself when it is
  // integral: analytics-check compares every key and the facts entry with the strings' way.
  {
    name: "integral, negative and fractional costs and times per token",
    s: {
      records: [
        rec({ cost: 5, latency_ms: 10, completion_tokens: 3 }),
        transformer("ai-request-transformer", { cost: -0.5, latency_ms: 1, completion_tokens: 7, log_statistics: true }),
        transformer("ai-response-transformer", { cost: -3, latency_ms: 7, completion_tokens: 9007199254740991, log_statistics: true }),
        rec({ cost: 1.8e10, latency_ms: 2, completion_tokens: 3, operation: "chat" }),
        rec({ cost: 17999999999.999998, latency_ms: 5, completion_tokens: 10000000 }),
        // ASCII that JSON escapes, in the values ai.log copies when they need no escape.
        rec({ provider: "open\\ai", request_model: 'q"x', response_model: "tab\there", request_mode: "del\u007f", log_statistics: true }),
        // Last: a later record of the same writer without an error type would leave this one's
        // `ai.error_type` key behind, which the facts entry it replaces doesn't.
        rec({ cost: 9007199254740991, latency_ms: 123456789, completion_tokens: 1000, error_type: "upstream_bad_response", log_statistics: true }),
      ],
    },
    paths: ["/v1/chat/completions"],
  },
];

function statsConfig(): string {
  const doc = parse(readFileSync(resolve(ROOT, "envoy/envoy.yaml"), "utf8")) as { stats_config?: unknown };
  return stringify({ stats_config: doc.stats_config });
}

function gateway(keysOnly: boolean, writer = "analytics-check", config: unknown = { keys_only: keysOnly, scenarios: SCENARIOS.map((x) => x.s) }): Promise<RunningGateway> {
  return startGateway({
    filters: [
      { name: writer, code: testFilter(writer), config },
      { name: "ai-metrics", code: filter("ai-metrics"), config: "" },
    ],
    routes: [{ prefix: "/", direct: { status: 200, body: "{}" } }],
    extra: statsConfig(),
  });
}

async function metrics(g: RunningGateway): Promise<string[]> {
  const text = await (await fetch(`${g.admin}/stats/prometheus`)).text();
  return text.split("\n").filter((l) => /^(# TYPE )?(ai_|gen_ai)/.test(l));
}

let facts: RunningGateway;
let keys: RunningGateway;

beforeAll(async () => {
  execFileSync(process.execPath, [resolve(ROOT, "scripts/build.mjs"), "ai-metrics", "analytics-check", "probe"], { cwd: ROOT, stdio: "pipe" });
  facts = await gateway(false);
  keys = await gateway(true);
}, 180_000);
afterAll(async () => {
  await facts?.close();
  await keys?.close();
});

describe("ai.facts and the individual keys give the same series", () => {
  // In order, on the same two gateways: each label-set cache sees every earlier scenario too.
  it.each(SCENARIOS.map((x, i) => [x.name, i] as const))("%s", async (_name, i) => {
    for (const path of SCENARIOS[i]!.paths) {
      for (const g of [facts, keys]) expect((await send(g.url, { path, headers: { "x-scenario": String(i) }, body: "{}" })).status).toBe(200);
    }
    const fromFacts = await metrics(facts);
    expect(fromFacts).toEqual(await metrics(keys));
    expect(facts.logs.filter((l) => l.level >= 3)).toEqual([]); // no error logged, nothing trapped
  });

  it("counted what the scenarios wrote", async () => {
    const lines = await metrics(facts);
    // Spot checks that the comparison above compared something: the first scenario's requests, …
    expect(lines.some((l) => l.startsWith('ai_llm_requests_total{ai_provider="openai",ai_model="gpt-4.1",') && l.includes('status_class="2xx"'))).toBe(true);
    // … a neutralised label, a cut one, a broken 200 counted as 5xx, and the blocks and denials.
    expect(lines.some((l) => l.includes('ai_model="a_._ai_provider=.=evil_x"'))).toBe(true);
    expect(lines.some((l) => l.includes(`ai_model="${"m".repeat(256)}"`))).toBe(true);
    expect(lines.some((l) => l.startsWith("gen_ai_client_operation_duration_milliseconds_count{") && l.includes('error_type="upstream_stream_incomplete"'))).toBe(true);
    expect(lines.filter((l) => l.startsWith("ai_llm_rate_limited_total{")).map((l) => l.replace(/^.*ai_provider="([^"]*)".* (\d+)$/, "$1 $2")).sort()).toEqual(["azure 1", "cohere 1", "openai 1"]);
    expect(lines.filter((l) => l.startsWith("ai_azure_content_safety_blocks_total{")).length).toBe(5);
  });
});

describe("a malformed ai.facts", () => {
  // The probe writes the individual keys of one record and then a broken `ai.facts`: ai-metrics
  // must count the record from the keys, as if `ai.facts` were absent, and never trap.
  const KEYS = { "ai.provider_name": "openai", "ai.request_model": "gpt-4.1", "ai.prompt_tokens": "5", "ai.status": "200" };
  it.each([
    ["empty", ""],
    ["another version", "\u0002"],
    ["a truncated entry header", "\u0001\u0001\u0000\u0000"],
    ["an id longer than the value", "\u0001\u0001\u007f\u0000\u0000\u0000ai."],
    ["a payload longer than the value", "\u0001\u0004\u0000\u0000\u0000\u0000\u0010\u0000\u0000\u0000ab"],
    ["a record payload too short for its numbers", "\u0001\u0001\u0000\u0000\u0000\u0000\u0002\u0000\u0000\u0000ab"],
    ["a valid denial then garbage", "\u0001\u0004\u0000\u0000\u0000\u0000\u0001\u0000\u0000\u0000x\u0001"],
  ])("%s: counted from the keys", async (_name, value) => {
    const ops = [...Object.entries(KEYS).map(([k, v]) => ["set_property", [k], v]), ["set_property", ["ai.facts"], value]];
    const g = await gateway(false, "probe", { on_request_headers: ops });
    try {
      expect((await send(g.url, { path: "/v1/chat/completions", body: "{}" })).status).toBe(200);
      const lines = await metrics(g);
      expect(lines.filter((l) => l.startsWith("ai_llm_requests_total{"))).toEqual([expect.stringMatching(/ai_provider="openai",ai_model="gpt-4.1".*status_class="2xx"\} 1$/)]);
      expect(lines.filter((l) => l.startsWith("ai_llm_tokens_total{") && l.includes('token_type="prompt_tokens"'))).toEqual([expect.stringMatching(/ 5$/)]);
      expect(lines.filter((l) => l.startsWith("ai_llm_rate_limited_total"))).toEqual([]);
    } finally {
      await g.close();
    }
  });
});
