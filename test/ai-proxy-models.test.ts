// GET /v1/models on an ai-proxy route: the gateway answers with the route's model in OpenAI's
// list format, so the openai SDK's client.models.list() works (as Envoy AI Gateway and
// LiteLLM answer it), without a credential and without calling the provider.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { bootstrapYamlText, wasmFilterYaml } from "./support/envoy-yaml.ts";
import { filter, startGateway, type RunningGateway } from "./support/gateway.ts";
import { startOpenAI, type Simulator } from "./simulators/index.ts";

const ROOT = resolve(import.meta.dirname, "..");
let sim: Simulator;
const gateways: RunningGateway[] = [];

async function gateway(model: Record<string, unknown>, headerValue = "Bearer {vault://env/AIGW_MODELS_TEST_KEY}"): Promise<RunningGateway> {
  const config = { route_type: "llm/v1/chat", auth: { header_name: "Authorization", header_value: headerValue }, model };
  const gw = await startGateway(bootstrapYamlText({ filters: wasmFilterYaml("ai-proxy", filter("ai-proxy"), config), clusters: { sim: sim.port } }));
  gateways.push(gw);
  return gw;
}

beforeAll(async () => {
  execFileSync(process.execPath, [resolve(ROOT, "scripts/build.mjs"), "ai-proxy"], { cwd: ROOT, stdio: "pipe" });
  sim = await startOpenAI();
}, 600_000);

afterAll(async () => {
  for (const g of gateways) await g.close();
  await sim?.close();
});

describe("GET /v1/models on an ai-proxy route", () => {
  it("lists the route's model for the openai SDK, with no key set and nothing sent upstream", async () => {
    const gw = await gateway({ provider: "openai", name: "gpt-4o-mini" });
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused" });
    const before = sim.requests.length;
    const models = [];
    for await (const m of client.models.list()) models.push(m);
    expect(models).toHaveLength(1);
    expect(models[0]).toMatchObject({ id: "gpt-4o-mini", object: "model", owned_by: "openai" });
    expect(models[0].created).toBeGreaterThan(1_700_000_000);
    expect(sim.requests.length).toBe(before);
  });

  it("answers the list shape with the provider's name, under a prefix and with a query", async () => {
    const gw = await gateway({ provider: "anthropic", name: "claude-3-5-haiku-latest", options: { max_tokens: 64, anthropic_version: "2023-06-01" } });
    const r = await fetch(`${gw.url}/anthropic/v1/models?limit=5`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json");
    const body = (await r.json()) as { object: string; data: { id: string; owned_by: string }[] };
    expect(body.object).toBe("list");
    expect(body.data.map((d) => [d.id, d.owned_by])).toEqual([["claude-3-5-haiku-latest", "anthropic"]]);
  });

  it("lists nothing when the client chooses the model (templated name)", async () => {
    const gw = await gateway({ provider: "openai", name: "$(headers.x-model)" });
    const r = await fetch(`${gw.url}/v1/models`);
    expect(await r.json()).toEqual({ object: "list", data: [] });
  });

  it("leaves other GETs to the route as before", async () => {
    const gw = await gateway({ provider: "openai", name: "gpt-4o-mini" });
    const r = await fetch(`${gw.url}/v1/chat/completions`);
    expect(r.status).not.toBe(200);
  });
});
