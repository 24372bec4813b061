// Each WasmPlugin of envoy/istio/ converted the way istiod does (test/support/istio.ts cites
// istio/istio pilot/pkg/model/extensions.go) and run on the local gateway, in Istio's filter
// order: every plugin's pluginConfig must pass its filter's on_configure, and the whole chain
// (template → decorator → guard → ai-proxy → ai-metrics) must serve a request to the OpenAI
// simulator, with the metrics labelled by the EnvoyFilter's stats_tags.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { bootstrapYamlText } from "./support/envoy-yaml.ts";
import { startGateway, type RunningGateway } from "./support/gateway.ts";
import { istioManifests, istioOrder, istiodWasmConfig, packagedManifests, wasmPlugins, type Manifest, type WasmPluginSpec } from "./support/istio.ts";
import { OPENAI_DEFAULT_KEY, startOpenAI, type Simulator } from "./simulators/index.ts";

const ROOT = resolve(import.meta.dirname, "..");
/** Every WasmPlugin (each must pass on_configure); the chain is the packaged one, envoy/istio/. */
const plugins = istioOrder(wasmPlugins());
const chain = istioOrder(wasmPlugins(packagedManifests()));
const nameOf = (m: Manifest) => (m.doc.spec as unknown as WasmPluginSpec).pluginName!;
/** What istio-agent does with the oci:// url: pulls it to a local file; here, the build output. */
const localFile = (m: Manifest) => join(ROOT, "build", `${nameOf(m)}.wasm`);

/** The http_filters entries istiod sends (ECDS in Istio; inline here, the same Wasm message). */
function filtersYaml(list: Manifest[]): string {
  const entries = list.map((m) => ({ name: `${m.doc.metadata.namespace}.${m.doc.metadata.name}`, typed_config: istiodWasmConfig(m, localFile(m)) }));
  return `\n${stringify(entries).replace(/^/gm, "          ").trimEnd()}`;
}

function statsConfigYaml(): string {
  const ef = istioManifests().find((m) => m.doc.kind === "EnvoyFilter" && m.file === "envoy/istio/ai-metrics.yaml");
  const value = (ef!.doc.spec as { configPatches: { patch: { value: Record<string, unknown> } }[] }).configPatches[0].patch.value;
  return stringify(value);
}

function bootstrap(list: Manifest[], simPort: number): string {
  return bootstrapYamlText({
    statPrefix: "istio",
    filters: filtersYaml(list),
    virtualHosts: `
            - name: clients
              domains: ["*"]
              routes:
              - match: { prefix: "/openai/" }
                route: { cluster: sim }
            - name: provider
              domains: ["api.openai.com", "api.openai.com:443"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: sim }`,
    clusters: { sim: simPort },
    extra: statsConfigYaml(),
  });
}

let sim: Simulator;

beforeAll(async () => {
  const names = plugins.map(nameOf).filter((n) => existsSync(join(ROOT, "filters", n)));
  execFileSync(process.execPath, [resolve(ROOT, "scripts/build.mjs"), ...names], { cwd: ROOT, stdio: "pipe" });
  sim = await startOpenAI();
  // Keys come from the gateway pod's environment (vmConfig.env HOST, from a Secret): set each,
  // and ai-proxy's to the simulator's key.
  for (const m of plugins) for (const e of (m.doc.spec as unknown as WasmPluginSpec).vmConfig?.env ?? []) if (e.valueFrom === "HOST") process.env[e.name] ??= `test-${e.name}`;
  process.env.OPENAI_API_KEY = OPENAI_DEFAULT_KEY;
}, 600_000);

afterAll(async () => {
  await sim?.close();
});

describe("WasmPlugins converted as istiod does", () => {
  it("orders the AI filters as Kong does: template, decorator, guard, ai-proxy, then ai-metrics", () => {
    const ai = chain.map(nameOf).filter((n) => ["ai-prompt-template", "ai-prompt-decorator", "ai-prompt-guard", "ai-proxy", "ai-metrics"].includes(n));
    expect(ai).toEqual(["ai-prompt-template", "ai-prompt-decorator", "ai-prompt-guard", "ai-proxy", "ai-metrics"]);
  });

  it.each(plugins.map((m) => [nameOf(m), m] as const))("%s: its pluginConfig passes the filter's on_configure", async (_, m) => {
    const gw = await startGateway(bootstrap([m], sim.port));
    await gw.close();
  });

  describe("the whole chain", () => {
    let gw: RunningGateway;
    beforeAll(async () => {
      gw = await startGateway(bootstrap(chain, sim.port));
    });
    afterAll(async () => {
      await gw?.close();
    });

    const ask = (body: unknown) => fetch(`${gw.url}/openai/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

    it("renders the template, decorates, passes the guard, reaches the provider and counts it", async () => {
      const before = sim.requests.length;
      const r = await ask({ messages: "{template://developer-chat}", properties: { program: "reset tool", language: "Go" } });
      const text = await r.text();
      expect(r.status, text).toBe(200);
      expect((JSON.parse(text) as { object: string }).object).toBe("chat.completion");
      const sent = sim.requests.at(-1)!;
      expect(sim.requests.length).toBe(before + 1);
      expect(sent.headers.authorization).toBe(`Bearer ${OPENAI_DEFAULT_KEY}`);
      const messages = (sent.body as { messages: { role: string; content: string }[] }).messages;
      expect(messages[0].content).toContain("You are a support agent for ACME"); // decorator's prepend
      expect(messages.some((x) => x.content === "Write me a reset tool program.")).toBe(true); // template
      const prom = await (await fetch(`${gw.admin}/stats/prometheus`)).text();
      expect(prom).toMatch(/ai_llm_requests_total\{[^}]*ai_provider="openai"/);
    });

    it("refuses what the guard denies, before the provider", async () => {
      const before = sim.requests.length;
      const r = await ask({ messages: "{template://developer-chat}", properties: { program: "poem", language: "Go" } });
      expect(r.status).toBe(400);
      expect(sim.requests.length).toBe(before);
    });
  });
});
