// The shipped envoy/envoy.yaml, unchanged but for where its provider clusters point: each
// provider's public host is replaced by a local simulator (no TLS, no network). This checks the
// route layout users get: /<provider>/v1/... enables that provider's ai-proxy, whose rewrite of
// :authority lands on the provider's virtual host and cluster; keys come from the environment;
// ai-metrics counts; the access log carries the AI record.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type RunningGateway } from "./support/gateway.ts";
import { pointClustersAt } from "./support/envoy-yaml.ts";
import { startAnthropic, startAzure, startCohere, startGemini, startMistral, startOllama, startOpenAI, type Simulator } from "./simulators/index.ts";
import { openaiClient } from "./support/client.ts";

const SHIPPED = readFileSync(join(import.meta.dirname, "../envoy/envoy.yaml"), "utf8");

const PROVIDERS = [
  { name: "openai", host: "api.openai.com", start: () => startOpenAI(), model: "gpt-4o-mini" },
  { name: "azure", host: "my-instance.openai.azure.com", start: () => startAzure(), model: "gpt-4o-mini" },
  { name: "anthropic", host: "api.anthropic.com", start: () => startAnthropic(), model: "claude-3-5-haiku-latest" },
  { name: "cohere", host: "api.cohere.com", start: () => startCohere(), model: "command-r" },
  { name: "mistral", host: "api.mistral.ai", start: () => startMistral(), model: "mistral-small-latest" },
  { name: "gemini", host: "generativelanguage.googleapis.com", start: () => startGemini(), model: "gemini-2.0-flash" },
  { name: "ollama", host: "127.0.0.1", start: () => startOllama(), model: "llama3.2" },
] as const;

const KEYS: Record<string, string> = {
  OPENAI_API_KEY: "sk-test-openai",
  AZURE_OPENAI_API_KEY: "azure-test-key",
  ANTHROPIC_API_KEY: "sk-ant-test",
  COHERE_API_KEY: "cohere-test-key",
  MISTRAL_API_KEY: "mistral-test-key",
  GEMINI_API_KEY: "gemini-test-key",
};

/** The shipped file with each provider cluster sent to its simulator (plain HTTP on loopback). */
function localized(ports: Record<string, number>): string {
  // Ollama is addressed by upstream_url (host 127.0.0.1:11434): point that at its simulator too.
  return pointClustersAt(SHIPPED, ports).replaceAll("127.0.0.1:11434", `127.0.0.1:${ports.ollama}`).replaceAll("port_value: 11434", `port_value: ${ports.ollama}`);
}

describe("the shipped envoy.yaml", () => {
  const sims: Record<string, Simulator> = {};
  let gw: RunningGateway;
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    for (const [k, v] of Object.entries(KEYS)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    for (const p of PROVIDERS) sims[p.name] = await p.start();
    gw = await startGateway(localized(Object.fromEntries(PROVIDERS.map((p) => [p.name, sims[p.name]!.port]))));
  });
  afterAll(async () => {
    await gw?.close();
    await Promise.all(Object.values(sims).map((s) => s.close()));
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it.each(PROVIDERS)("serves /$name/v1/chat/completions through its provider", async (p) => {
    const client = openaiClient(`${gw.url}/${p.name}`, "unused");
    const r = await client.chat.completions.create({ model: p.model, messages: [{ role: "user", content: "hello gateway" }] });
    expect(r.choices[0]!.message.content).toBe("echo: hello gateway");
    expect(sims[p.name]!.requests).toHaveLength(1);
  });

  it("counts every provider's requests and tokens in /stats/prometheus", async () => {
    const prom = await (await fetch(`${gw.admin}/stats/prometheus`)).text();
    for (const p of PROVIDERS) {
      const provider = p.name === "ollama" ? "llama2" : p.name;
      expect(prom).toMatch(new RegExp(`^ai_llm_requests_total\\{ai_provider="${provider}",ai_model="${p.model.replaceAll(".", "\\.")}".*status_class="2xx"\\} 1$`, "m"));
    }
    expect(prom).toMatch(/^ai_llm_tokens_total\{ai_provider="openai",ai_model="gpt-4o-mini".*token_type="total_tokens".*\} 5$/m);
  });
});
