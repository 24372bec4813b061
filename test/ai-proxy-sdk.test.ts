// The promise of ai-proxy, as a user sees it: the official openai SDK, pointed at the gateway,
// runs chat, streaming chat, completions and embeddings against every provider (each a
// simulator that speaks the provider's own wire format), with the same OpenAI answers.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAiGateway, type RouteKind } from "./support/ai-gateway.ts";
import type { RunningGateway } from "./support/gateway.ts";
import { startAnthropic, startAzure, startCohere, startMistral, startOllama, startOpenAI, type Simulator } from "./simulators/index.ts";
import { openaiClient } from "./support/client.ts";

interface Case {
  name: string;
  start: () => Promise<Simulator>;
  hosts: string[];
  model: string;
  kinds: RouteKind[];
  config: (sim: Simulator, kind: RouteKind) => Record<string, unknown>;
}

const bearer = (key: string) => ({ header_name: "Authorization", header_value: `Bearer ${key}` });

const CASES: Case[] = [
  {
    name: "openai",
    start: () => startOpenAI(),
    hosts: ["api.openai.com"],
    model: "gpt-4o-mini",
    kinds: ["chat", "completions", "embeddings"],
    config: () => ({ auth: bearer("sk-test-openai"), model: { provider: "openai", name: "gpt-4o-mini" } }),
  },
  {
    name: "azure",
    start: () => startAzure(),
    hosts: ["inst.openai.azure.com"],
    model: "gpt-4o-mini",
    kinds: ["chat", "completions", "embeddings"],
    config: () => ({
      auth: { header_name: "api-key", header_value: "azure-test-key" },
      model: { provider: "azure", name: "gpt-4o-mini", options: { azure_instance: "inst", azure_deployment_id: "gpt-4o-mini", azure_api_version: "2024-02-01" } },
    }),
  },
  {
    name: "anthropic",
    start: () => startAnthropic(),
    hosts: ["api.anthropic.com"],
    model: "claude-3-5-haiku-latest",
    kinds: ["chat"],
    config: () => ({
      auth: { header_name: "x-api-key", header_value: "sk-ant-test" },
      model: { provider: "anthropic", name: "claude-3-5-haiku-latest", options: { anthropic_version: "2023-06-01", max_tokens: 256 } },
    }),
  },
  {
    name: "cohere",
    start: () => startCohere(),
    hosts: ["api.cohere.com"],
    model: "command-r",
    kinds: ["chat", "completions", "embeddings"],
    config: () => ({ auth: bearer("cohere-test-key"), model: { provider: "cohere", name: "command-r" } }),
  },
  {
    name: "mistral",
    start: () => startMistral(),
    hosts: ["api.mistral.ai"],
    model: "mistral-small-latest",
    kinds: ["chat", "embeddings"],
    config: () => ({ auth: bearer("mistral-test-key"), model: { provider: "mistral", name: "mistral-small-latest", options: { mistral_format: "openai" } } }),
  },
  {
    name: "llama2 on ollama",
    start: () => startOllama(),
    hosts: [],
    model: "llama3.2",
    kinds: ["chat", "completions", "embeddings"],
    config: (sim, kind) => ({
      model: {
        provider: "llama2",
        name: "llama3.2",
        options: { llama2_format: "ollama", upstream_url: `${sim.url}${kind === "chat" ? "/api/chat" : kind === "completions" ? "/api/generate" : "/api/embed"}` },
      },
    }),
  },
];

describe.each(CASES)("openai SDK through ai-proxy to $name", (c) => {
  let sim: Simulator;
  let gw: RunningGateway;
  let client: OpenAI;

  beforeAll(async () => {
    sim = await c.start();
    gw = await startAiGateway({ simulatorPort: sim.port, providerHosts: c.hosts, kinds: c.kinds, config: (k) => c.config(sim, k) });
    client = openaiClient(gw.url, "client-key-the-gateway-replaces");
  });
  afterAll(async () => {
    await gw?.close();
    await sim?.close();
  });

  const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
    { role: "system", content: "be brief" },
    { role: "user", content: "hello there" },
  ];

  it("chat", async () => {
    const r = await client.chat.completions.create({ model: c.model, messages });
    expect(r.object).toBe("chat.completion");
    expect(r.choices[0]!.message.role).toBe("assistant");
    expect(r.choices[0]!.message.content).toBe("echo: hello there");
    expect(r.choices[0]!.finish_reason).toBe("stop");
    expect(r.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 });
    // The client's key never reaches the provider.
    expect(JSON.stringify(sim.requests.at(-1)!.headers)).not.toContain("client-key-the-gateway-replaces");
  });

  it("streaming chat, with usage when asked", async () => {
    const stream = await client.chat.completions.create({ model: c.model, messages, stream: true, stream_options: { include_usage: true } });
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined = null;
    let finish: string | null = null;
    for await (const chunk of stream) {
      expect(chunk.object).toBe("chat.completion.chunk");
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe("echo: hello there");
    expect(finish).toBe("stop");
    expect(usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 });
  });

  it("streaming chat without include_usage carries no usage chunk", async () => {
    const stream = await client.chat.completions.create({ model: c.model, messages, stream: true });
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((x) => x.choices[0]?.delta.content ?? "").join("")).toBe("echo: hello there");
    expect(chunks.every((x) => x.choices.length > 0)).toBe(true);
  });

  it.runIf(c.kinds.includes("completions"))("completions", async () => {
    const r = await client.completions.create({ model: c.model, prompt: "say hi" });
    expect(r.object).toBe("text_completion");
    expect(r.choices[0]!.text).toBe("echo: say hi");
    expect(r.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
  });

  it.runIf(c.kinds.includes("embeddings"))("embeddings", async () => {
    const r = await client.embeddings.create({ model: c.model, input: "hello", encoding_format: "float" });
    expect(r.object).toBe("list");
    expect(r.data[0]!.embedding).toHaveLength(8);
    expect(r.data[0]!.embedding.every((x) => typeof x === "number")).toBe(true);
  });

  it("a provider error reaches the SDK as a typed OpenAI error with the provider's status", async () => {
    sim.failNext(429);
    await expect(client.chat.completions.create({ model: c.model, messages })).rejects.toMatchObject({ status: 429 });
    sim.failNext(500, { nonJson: true });
    const err = (await client.chat.completions.create({ model: c.model, messages }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(500);
    expect(typeof err.message).toBe("string");
    expect((err.error as { message?: string } | undefined)?.message).toBeTruthy();
  });
});
