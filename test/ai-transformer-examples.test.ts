// The shipped examples/ai-request-transformer and examples/ai-response-transformer configs,
// loaded and run unchanged except where their clusters point (the LLM's public host and the
// example API go to local servers over plain HTTP) and, for the instructions route, a
// `sim-reply:` line appended to the prompt so the simulator answers with instructions.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments, parseDocument } from "yaml";
import { startGateway, type RunningGateway } from "./support/gateway.ts";
import { pointClustersAt } from "./support/envoy-yaml.ts";
import { startUpstream, type TestUpstream } from "./support/upstream.ts";
import { send } from "./support/client.ts";
import { KEYS, startTransformerGateway } from "./support/transformer.ts";
import { startAnthropic, startOpenAI, type Simulator } from "./simulators/index.ts";

const ROOT = resolve(import.meta.dirname, "..");
const example = (name: string): string => readFileSync(join(ROOT, "examples", name, "envoy.yaml"), "utf8").replaceAll("filename: build/", `filename: ${ROOT}/build/`);

let openai: Simulator;
let anthropic: Simulator;
let api: TestUpstream;
let gw: RunningGateway | null = null;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  openai = await startOpenAI();
  anthropic = await startAnthropic();
  api = await startUpstream((r, res) => {
    if (r.path === "/orders") {
      res.writeHead(201, { "content-type": "application/json" });
      res.end(JSON.stringify({ received: r.body }));
      return;
    }
    const known = r.path === "/weather/paris";
    res.writeHead(known ? 200 : 404, { "content-type": "application/json", "x-api": "weather" });
    res.end(known ? '{"city":"Paris","sky":"clear"}' : '{"error":"unknown city"}');
  });
  // host_env_keys: the VM reads the keys from the gateway's own environment.
  for (const [k, v] of Object.entries(KEYS)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
});
afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await Promise.all([openai.close(), anthropic.close(), api.close()]);
});
afterEach(async () => {
  await gw?.close();
  gw = null;
});

const listener = (g: RunningGateway): string => `http://127.0.0.1:${g.gw.ports.get("gateway")}`;

describe("examples/ai-request-transformer", () => {
  it("an order in free text reaches the orders API as the JSON the LLM extracted", async () => {
    const yaml = pointClustersAt(example("ai-request-transformer"), { "orders-api": api.port, "api.openai.com:443": openai.port });
    gw = await startGateway(yaml);
    // The simulator echoes the text; the example's extract pattern keeps the JSON in it.
    const r = await send(listener(gw), { path: "/orders", body: 'two large margheritas please: {"items":[{"name":"margherita","size":"large","qty":2}]}', headers: { "content-type": "application/json" } });
    expect(r.status).toBe(201);
    const sent = api.received.at(-1)!;
    expect(sent.body).toBe('{"items":[{"name":"margherita","size":"large","qty":2}]}');
    expect(sent.headers["content-length"]).toBe(String(sent.body.length));
    const llm = openai.requests.at(-1)!;
    expect(llm.headers["authorization"]).toBe(`Bearer ${KEYS.OPENAI_API_KEY}`);
    expect((llm.body as { temperature: number }).temperature).toBe(0);
  });

  it("a free-text order the LLM cannot turn into JSON is Kong's 400, and the API is never called", async () => {
    const yaml = pointClustersAt(example("ai-request-transformer"), { "orders-api": api.port, "api.openai.com:443": openai.port });
    gw = await startGateway(yaml);
    const before = api.started();
    const r = await send(listener(gw), { path: "/orders", body: "just something nice", headers: { "content-type": "text/plain" } });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error.message).toBe("AI response did not match specified regular expression");
    expect(api.started()).toBe(before);
  });
});

describe("examples/ai-response-transformer", () => {
  function withInstructionsReply(yaml: string, reply: unknown): string {
    const doc = parseDocument(yaml);
    const filters = doc.getIn(["static_resources", "listeners", 0, "filter_chains", 0, "filters", 0, "typed_config", "http_filters"]) as { items: { get(k: string): unknown; getIn(p: string[]): unknown; setIn(p: string[], v: unknown): void }[] };
    const f = filters.items.find((i) => i.get("name") === "instructions")!;
    const path = ["typed_config", "config", "configuration", "value"];
    const cfg = JSON.parse(String(f.getIn(path))) as { prompt: string };
    cfg.prompt += `\nsim-reply: ${JSON.stringify(reply)}`;
    f.setIn(path, JSON.stringify(cfg));
    return doc.toString();
  }

  it("/weather/paris: the API's status and headers, the LLM's translation as the body", async () => {
    gw = await startGateway(pointClustersAt(example("ai-response-transformer"), { "weather-api": api.port, "api.anthropic.com:443": anthropic.port }));
    const r = await send(listener(gw), { path: "/weather/paris" });
    expect(r.status).toBe(200);
    expect(r.headers["x-api"]).toBe("weather");
    expect(r.body).toBe('echo: {"city":"Paris","sky":"clear"}');
    expect(anthropic.requests.at(-1)!.headers["x-api-key"]).toBe(KEYS.ANTHROPIC_API_KEY);
  });

  it("/fr/weather/paris: the LLM's instructions set the status, headers and body", async () => {
    const reply = { status: 200, headers: { "content-language": "fr" }, body: { ville: "Paris", ciel: "dégagé" } };
    gw = await startGateway(withInstructionsReply(pointClustersAt(example("ai-response-transformer"), { "weather-api": api.port, "api.anthropic.com:443": anthropic.port }), reply));
    const r = await send(listener(gw), { path: "/fr/weather/paris" });
    expect(r.status).toBe(200);
    expect(r.headers["content-language"]).toBe("fr");
    expect(r.headers["x-api"]).toBe("weather");
    expect(JSON.parse(r.body)).toEqual({ ville: "Paris", ciel: "dégagé" });
    expect(api.received.at(-1)!.path).toBe("/weather/paris");
  });
});

describe("the Istio WasmPlugin manifests", () => {
  /** The WasmPlugin's pluginConfig (what istiod hands the filter as its configuration). */
  function pluginConfig(name: string): Record<string, unknown> {
    const docs = parseAllDocuments(readFileSync(join(ROOT, "examples", name, "wasmplugin.yaml"), "utf8")).map((d) => d.toJS() as { kind: string; spec: { pluginConfig: Record<string, unknown> } });
    return docs.find((d) => d.kind === "WasmPlugin")!.spec.pluginConfig;
  }

  it.each([
    ["ai-request-transformer", "outbound|80||api.openai.com", () => openai],
    ["ai-response-transformer", "outbound|80||api.anthropic.com", () => anthropic],
  ] as const)("%s: its pluginConfig loads and calls the LLM on the ServiceEntry's cluster", async (name, cluster, sim) => {
    const before = sim().requests.length;
    gw = await startTransformerGateway({ name, config: pluginConfig(name), upstreamPort: api.port, llmClusters: { [cluster]: sim().port } });
    const r = name === "ai-request-transformer" ? await send(gw.url, { path: "/orders", body: 'ok: {"items":[]}' }) : await send(gw.url, { path: "/weather/paris" });
    expect(r.status).toBeLessThan(300);
    expect(sim().requests.length).toBe(before + 1);
  });
});
