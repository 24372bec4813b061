// End to end, as a user sees it: the official openai SDK sends a template reference through
// ai-prompt-template → ai-prompt-decorator → ai-proxy (Kong's order) to a provider simulator.
// The provider must see the rendered, decorated conversation in its own wire format.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAiGateway } from "./support/ai-gateway.ts";
import { filter, type RunningGateway } from "./support/gateway.ts";
import { startAnthropic, startOpenAI, type Simulator } from "./simulators/index.ts";
import { openaiClient } from "./support/client.ts";

const TEMPLATE_CONFIG = {
  templates: [
    // No model: ai-proxy supplies its configured one, so one template serves every provider.
    { name: "ask", template: '{"messages":[{"role":"user","content":"Tell me about {{thing}}."}]}' },
    // The rendered body replaces the client's, stream flag included: a streaming template says so.
    { name: "ask-stream", template: '{"stream":true,"messages":[{"role":"user","content":"Tell me about {{thing}}."}]}' },
    { name: "haiku", template: '{"model":"gpt-4o-mini","prompt":"haiku on {{topic}}","max_tokens":{{max}}}' },
  ],
};
const DECORATOR_CONFIG = { prompts: { prepend: [{ role: "system", content: "You are terse." }], append: [{ role: "system", content: "No lists." }] } };

/** http_filters entries placed before ai-proxy, in Kong's order. */
function promptFilters(): string {
  const entry = (name: string, config: unknown) => `
          - name: ${name}
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: ${name}
                root_id: ${name}
                configuration:
                  "@type": type.googleapis.com/google.protobuf.StringValue
                  value: ${JSON.stringify(JSON.stringify(config))}
                vm_config:
                  vm_id: ${name}
                  runtime: envoy.wasm.runtime.v8
                  code: { local: { filename: ${JSON.stringify(filter(name))} } }`;
  return entry("ai-prompt-template", TEMPLATE_CONFIG) + entry("ai-prompt-decorator", DECORATOR_CONFIG);
}

// The SDK types messages as an array; a template reference is a string, sent as is.
type Loose = Record<string, unknown>;
const chatParams = (p: Loose) => p as unknown as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
const streamParams = (p: Loose) => p as unknown as OpenAI.Chat.ChatCompletionCreateParamsStreaming;

describe("openai SDK → template → decorator → ai-proxy → OpenAI", () => {
  let sim: Simulator;
  let gw: RunningGateway;
  let client: OpenAI;

  beforeAll(async () => {
    sim = await startOpenAI();
    gw = await startAiGateway({
      simulatorPort: sim.port,
      providerHosts: ["api.openai.com"],
      kinds: ["chat", "completions"],
      config: { auth: { header_name: "Authorization", header_value: "Bearer sk-test-openai" }, model: { provider: "openai", name: "gpt-4o-mini" } },
      extraFilters: promptFilters(),
    });
    client = openaiClient(gw.url);
  });
  afterAll(async () => {
    await gw?.close();
    await sim?.close();
  });

  it("chat: the provider gets the rendered template wrapped by the decorator", async () => {
    const r = await client.chat.completions.create(chatParams({ model: "gpt-4o-mini", messages: "{template://ask}", properties: { thing: "the sea" } }));
    expect(r.choices[0]!.message.content).toBe("echo: Tell me about the sea.");
    expect((sim.requests.at(-1)!.body as { messages: unknown }).messages).toEqual([
      { role: "system", content: "You are terse." },
      { role: "user", content: "Tell me about the sea." },
      { role: "system", content: "No lists." },
    ]);
  });

  it("streaming chat through the chain (the template asks for the stream: the client's fields are dropped)", async () => {
    const stream = await client.chat.completions.create(streamParams({ model: "gpt-4o-mini", messages: "{template://ask-stream}", properties: { thing: "rain" }, stream: true }));
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe("echo: Tell me about rain.");
  });

  it("a template error reaches the SDK as a typed 400 with Kong's message, before any provider call", async () => {
    const before = sim.requests.length;
    const err = (await client.chat.completions.create(chatParams({ model: "gpt-4o-mini", messages: "{template://ask}" })).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.status).toBe(400);
    expect((err.error as { message?: string }).message).toBe("missing template parameters: [thing]");
    expect(sim.requests.length).toBe(before);
  });

  it("a completions template renders, and the decorator refuses it as not a chat (Kong's rule)", async () => {
    const err = (await client.completions.create({ model: "gpt-4o-mini", prompt: "{template://haiku}", properties: { topic: "fog", max: "5" } } as unknown as OpenAI.CompletionCreateParamsNonStreaming).catch(
      (e: unknown) => e,
    )) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(400);
    expect((err.error as { message?: string }).message).toBe("this LLM route only supports llm/chat type requests");
  });
});

describe("openai SDK → template → decorator → ai-proxy → Anthropic", () => {
  let sim: Simulator;
  let gw: RunningGateway;
  let client: OpenAI;

  beforeAll(async () => {
    sim = await startAnthropic();
    gw = await startAiGateway({
      simulatorPort: sim.port,
      providerHosts: ["api.anthropic.com"],
      kinds: ["chat"],
      config: {
        auth: { header_name: "x-api-key", header_value: "sk-ant-test" },
        model: { provider: "anthropic", name: "claude-3-5-haiku-latest", options: { anthropic_version: "2023-06-01", max_tokens: 256 } },
      },
      extraFilters: promptFilters(),
    });
    client = openaiClient(gw.url);
  });
  afterAll(async () => {
    await gw?.close();
    await sim?.close();
  });

  it("the decorated conversation arrives in Anthropic's format, the prepended system prompt first", async () => {
    const r = await client.chat.completions.create(chatParams({ model: "claude-3-5-haiku-latest", messages: "{template://ask}", properties: { thing: "stars" } }));
    expect(r.choices[0]!.message.content).toBe("echo: Tell me about stars.");
    const body = sim.requests.at(-1)!.body as { system?: unknown; messages: { role: string; content: unknown }[] };
    expect(JSON.stringify(body.system)).toContain("You are terse.");
    expect(JSON.stringify(body.system ?? "").indexOf("You are terse.")).toBeLessThan(JSON.stringify(body.system ?? "").indexOf("No lists."));
    expect(body.messages.map((m) => m.role)).toEqual(["user"]);
  });
});
