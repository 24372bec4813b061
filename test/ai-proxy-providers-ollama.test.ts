// The Ollama format (lib/llm/providers/ollama.ts), used by llama2_format=ollama and
// mistral_format=ollama: OpenAI → /api/chat, /api/generate, /api/embed, answers and errors
// back, and the NDJSON stream translated line by line; first through the llm-providers
// test module, then with the openai SDK through the gateway in front of the Ollama simulator.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { embedding, startOllama, type Simulator } from "./simulators/index.ts";
import type { RunningGateway } from "./support/gateway.ts";
import { buildModules, collect, fixture, Lab, providerGateway, splitMismatches, type Json } from "./ai-proxy-providers-support.ts";
import { openaiClient } from "./support/client.ts";

beforeAll(() => buildModules(), 300_000);

const URL_CHAT = "http://ollama.local:11434/api/chat";
const llama = (url = URL_CHAT, extra: Json = {}) => ({ provider: "llama2", name: "llama3.2", options: { llama2_format: "ollama", upstream_url: url, ...extra } });

function lab(route = "llm/v1/chat", model: Json = llama()): Lab {
  const l = new Lab();
  const c = l.configure(route, model);
  expect(c.ok, c.text).toBe(true);
  return l;
}

describe("ollama: configuration", () => {
  it("needs upstream_url, for llama2 and for mistral, and uses its path as is", () => {
    const l = new Lab();
    expect(l.configure("llm/v1/chat", { provider: "llama2", name: "m", options: { llama2_format: "ollama" } }).text).toBe(
      "model.options.upstream_url is required for provider llama2 with llama2_format=ollama",
    );
    expect(l.configure("llm/v1/chat", { provider: "mistral", name: "m", options: { mistral_format: "ollama" } }).text).toBe(
      "model.options.upstream_url is required for provider mistral with mistral_format=ollama",
    );
    expect(l.configure("llm/v1/chat", llama()).value).toMatchObject({ authority: "ollama.local:11434", path: "/api/chat", headers: [] });
    expect(l.configure("llm/v1/chat", { provider: "mistral", name: "m", options: { mistral_format: "ollama", upstream_url: URL_CHAT } }).ok).toBe(true);
    expect(l.reportsUsage()).toBe(true);
  });
});

describe("ollama: request translation", () => {
  it("chat: messages with string content, options from tuning fields, explicit stream", () => {
    const r = lab().request({
      messages: [
        { role: "developer", content: "be brief" },
        { role: "user", content: [{ type: "text", text: "hi" }, { type: "text", text: "there" }] },
      ],
      max_tokens: 10,
      temperature: 0.1,
      top_p: 0.2,
      top_k: 3,
      stop: "END",
      seed: 7,
    });
    expect(r.value).toEqual({
      model: "llama3.2",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "hi\nthere" },
      ],
      stream: false,
      options: { num_predict: 10, temperature: 0.1, top_p: 0.2, top_k: 3, stop: ["END"], seed: 7 },
    });
    const plain = lab().request({ messages: [{ role: "user", content: "hi" }], stream: true });
    expect(plain.value).toEqual({ model: "llama3.2", messages: [{ role: "user", content: "hi" }], stream: true });
    expect(lab("llm/v1/chat", llama(URL_CHAT, { max_tokens: 64 })).request({ messages: [{ role: "user", content: "hi" }] }).value.options).toEqual({ num_predict: 64 });
  });

  it("chat: images as base64, tools copied, tool calls with object arguments, tool results, response_format", () => {
    const tools = [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }];
    const r = lab().request({
      messages: [
        { role: "user", content: [{ type: "text", text: "what is it" }, { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }] },
        { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
        { role: "tool", tool_call_id: "c1", content: "sunny" },
      ],
      tools,
      response_format: { type: "json_object" },
    });
    expect(r.value).toEqual({
      model: "llama3.2",
      messages: [
        { role: "user", content: "what is it", images: ["AAAA"] },
        { role: "assistant", content: "", tool_calls: [{ function: { name: "get_weather", arguments: { city: "Paris" } } }] },
        { role: "tool", content: "sunny" },
      ],
      stream: false,
      tools,
      format: "json",
    });
    const schema = { type: "object", properties: { a: { type: "number" } } };
    expect(lab().request({ messages: [{ role: "user", content: "x" }], response_format: { type: "json_schema", json_schema: { name: "s", schema } } }).value.format).toEqual(schema);
  });

  it("refuses image URLs, unknown parts, function messages and bad tool arguments", () => {
    const l = lab();
    expect(l.request({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://x/y.png" } }] }] }).text).toBe(
      "messages[0].content[0]: only base64 data: URLs are supported for images by provider llama2 (ollama format)",
    );
    expect(l.request({ messages: [{ role: "user", content: [{ type: "file", file: {} }] }] }).text).toContain("content part type 'file'");
    expect(l.request({ messages: [{ role: "function", name: "f", content: "x" }] }).text).toContain("role 'function'");
    expect(
      l.request({ messages: [{ role: "assistant", content: "", tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "[1]" } }] }] }).text,
    ).toBe("messages[0].tool_calls[0].function.arguments must be a JSON object");
  });

  it("completions and embeddings", () => {
    expect(lab("llm/v1/completions").request({ prompt: "say hi", suffix: "!", max_tokens: 4 }).value).toEqual({
      model: "llama3.2",
      prompt: "say hi",
      suffix: "!",
      stream: false,
      options: { num_predict: 4 },
    });
    const e = lab("llm/v1/embeddings");
    expect(e.request({ input: "hello" }).value).toEqual({ model: "llama3.2", input: "hello" });
    expect(e.request({ input: ["a", "b"], dimensions: 4 }).value).toEqual({ model: "llama3.2", input: ["a", "b"], dimensions: 4 });
    expect(e.request({ input: [1, 2] }).ok).toBe(false);
  });
});

describe("ollama: response translation", () => {
  const answer = (over: Json = {}) => ({
    model: "llama3.2",
    created_at: "2025-01-01T00:00:00Z",
    message: { role: "assistant", content: "Hello" },
    done_reason: "stop",
    done: true,
    prompt_eval_count: 4,
    eval_count: 2,
    ...over,
  });

  it("chat: content, finish_reason, usage and the gateway's id", () => {
    const l = lab();
    l.request({ messages: [{ role: "user", content: "hi" }] });
    expect(l.response(answer()).value).toEqual({
      id: "chatcmpl-test",
      object: "chat.completion",
      created: 1735689600,
      model: "llama3.2",
      choices: [{ index: 0, message: { role: "assistant", content: "Hello" }, finish_reason: "stop", logprobs: null }],
      usage: { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 },
    });
    expect((l.response(answer({ done_reason: "length" })).value.choices as Json[])[0].finish_reason).toBe("length");
  });

  it("without done_reason: Kong's rule (length when eval_count reached max_tokens)", () => {
    const l = lab();
    l.request({ messages: [{ role: "user", content: "hi" }], max_tokens: 2 });
    expect((l.response(answer({ done_reason: undefined })).value.choices as Json[])[0].finish_reason).toBe("length");
    l.request({ messages: [{ role: "user", content: "hi" }], max_tokens: 5 });
    expect((l.response(answer({ done_reason: undefined })).value.choices as Json[])[0].finish_reason).toBe("stop");
  });

  it("chat: tool calls with serialized arguments and finish_reason tool_calls", () => {
    const l = lab();
    l.request({ messages: [{ role: "user", content: "hi" }] });
    const r = l.response(answer({ message: { role: "assistant", content: "", tool_calls: [{ id: "call_7", function: { name: "f", arguments: { q: "x", n: [1, 2] } } }, { function: { name: "g", arguments: {} } }] } }));
    const choice = (r.value.choices as Json[])[0];
    expect(choice.finish_reason).toBe("tool_calls");
    const msg = choice.message as { content: unknown; tool_calls: { id: string; type: string; function: { name: string; arguments: string } }[] };
    expect(msg.content).toBeNull();
    expect(msg.tool_calls[0]).toEqual({ id: "call_7", type: "function", function: { name: "f", arguments: '{"q":"x","n":[1,2]}' } });
    expect(msg.tool_calls[1]!.id).toMatch(/^call_[0-9a-f]{24}$/);
    expect(msg.tool_calls[1]!.function).toEqual({ name: "g", arguments: "{}" });
  });

  it("completions and embeddings", () => {
    const c = lab("llm/v1/completions");
    c.request({ prompt: "say hi" });
    expect(c.response({ model: "llama3.2", response: "hi!", done: true, done_reason: "stop", prompt_eval_count: 2, eval_count: 1 }).value).toMatchObject({
      id: "cmpl-test",
      object: "text_completion",
      choices: [{ index: 0, text: "hi!", finish_reason: "stop" }],
      usage: { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 },
    });
    const e = lab("llm/v1/embeddings");
    e.request({ input: ["a"], encoding_format: "float" });
    const r = e.response('{"model":"all-minilm","embeddings":[[0.010071029,-0.0017594862]],"prompt_eval_count":1}');
    expect(r.text).toContain('"embedding":[0.010071029,-0.0017594862]');
    expect(r.value).toMatchObject({ model: "all-minilm", usage: { prompt_tokens: 1, total_tokens: 1 } });
  });

  it("fails clearly on answers without their field; never traps on odd ones", () => {
    const l = lab();
    l.request({ messages: [{ role: "user", content: "hi" }] });
    expect(l.response({ model: "m", done: true }).text).toBe("transformation failed from type llama2://llm/v1/chat/ollama: 'message' not in llama2://llm/v1/chat/ollama response");
    expect(l.response({ message: { content: 5, tool_calls: [null, { function: 3 }] }, eval_count: 1e300, prompt_eval_count: -3 }).ok).toBe(true);
    expect(l.response(Uint8Array.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d])).ok).toBe(false);
  });
});

describe("ollama: errors", () => {
  it("keeps Ollama's error string; Go's plain-text 404 too", () => {
    const l = lab();
    expect(l.error(404, '{"error":"model \\"x\\" not found, try pulling it first"}')).toEqual({
      error: { message: 'model "x" not found, try pulling it first', type: "not_found_error", code: null },
    });
    expect(l.error(404, "404 page not found").error).toEqual({ message: "404 page not found", type: "not_found_error", code: null });
  });
});

describe("ollama: streams", () => {
  it.each([
    ["ollama-chat", "llm/v1/chat", { messages: [{ role: "user", content: "hi" }] }],
    ["ollama-generate", "llm/v1/completions", { prompt: "hi" }],
  ])("translates the recorded %s stream, and the same split at every byte", (name, route, body) => {
    const { bytes, expected } = fixture(name);
    const l = lab(route, llama());
    l.request({ ...body, stream: true, stream_options: { include_usage: true } });
    const whole = l.stream([bytes]);
    const c = collect(whole);
    expect(c.text).toBe(expected.text);
    expect(c.finish).toBe(expected.finish_reason);
    expect(c.usage).toEqual(expected.usage);
    expect(c.done).toBe(true);
    expect(c.chunks.every((x) => x.object === (route === "llm/v1/chat" ? "chat.completion.chunk" : "text_completion"))).toBe(true);
    if (route === "llm/v1/chat") expect(c.roles).toEqual(["assistant"]);
    expect(l.streamState()).toMatchObject({ finished: true, failed: false, text: expected.text });
    expect(splitMismatches(l, bytes, whole)).toEqual([]);
  });

  it("streams tool calls as whole deltas, then finish_reason tool_calls", () => {
    const l = lab();
    l.request({ messages: [{ role: "user", content: "hi" }], stream: true });
    const lines = [
      { model: "m", message: { role: "assistant", content: "", tool_calls: [{ function: { name: "lookup", arguments: { query: "hi" } } }] }, done: false },
      { model: "m", message: { role: "assistant", content: "" }, done: true, done_reason: "stop", prompt_eval_count: 1, eval_count: 2 },
    ].map((o) => JSON.stringify(o) + "\n");
    const c = collect(l.stream(lines));
    expect(c.toolCalls).toHaveLength(1);
    expect(c.toolCalls[0]).toMatchObject({ name: "lookup", arguments: '{"query":"hi"}' });
    expect(c.finish).toBe("tool_calls");
  });

  it("an error line ends the stream with an error frame; junk never traps", () => {
    const l = lab();
    l.request({ messages: [{ role: "user", content: "hi" }], stream: true });
    const c = collect(l.stream(['{"model":"m","message":{"content":"a"},"done":false}\n', '{"error":"llama runner process has terminated"}\n']));
    expect(c.text).toBe("a");
    expect(c.errors).toEqual([{ message: "llama runner process has terminated", type: "api_error", code: null }]);
    expect(c.done).toBe(false);
    const junk: (string | Uint8Array)[] = [
      Uint8Array.from([0x80, 0x81, 0x0a]),
      '{"message":"text"}\n',
      '{"message":{"tool_calls":{"a":1}},"done":"yes"}\n',
      '{"message":{"tool_calls":[1,{"function":{"arguments":"not an object"}}]}}\n',
      '{"done":true,"eval_count":1e400}\n',
      "{".repeat(4000) + "\n",
    ];
    for (const j of junk) expect(() => l.stream([j, ""])).not.toThrow();
  });
});

describe("ollama: the openai SDK through the gateway", () => {
  let sim: Simulator;
  let gw: RunningGateway;
  let mistralGw: RunningGateway;
  let client: OpenAI;

  const path = (kind: string) => (kind === "chat" ? "/api/chat" : kind === "completions" ? "/api/generate" : "/api/embed");

  beforeAll(async () => {
    sim = await startOllama({ pacing: { delayMs: 1, splitWrites: true } });
    gw = await providerGateway(sim.port, [], (kind) => ({ model: { provider: "llama2", name: "llama3.2", options: { llama2_format: "ollama", upstream_url: `${sim.url}${path(kind)}` } } }));
    mistralGw = await providerGateway(sim.port, [], (kind) => ({ model: { provider: "mistral", name: "mistral", options: { mistral_format: "ollama", upstream_url: `${sim.url}${path(kind)}` } } }), ["chat"]);
    client = openaiClient(gw.url, "unused");
  });
  afterAll(async () => {
    await gw?.close();
    await mistralGw?.close();
    await sim?.close();
  });

  const last = () => sim.requests.at(-1)!;

  it("chat: what Ollama gets and what the SDK gets", async () => {
    const r = await client.chat.completions.create({
      model: "llama3.2",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "hello there" },
      ],
      max_tokens: 50,
    });
    expect(last().path).toBe("/api/chat");
    expect(last().body).toEqual({
      model: "llama3.2",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "hello there" },
      ],
      stream: false,
      options: { num_predict: 50 },
    });
    expect(r.choices[0]!.message.content).toBe("echo: hello there");
    expect(r.choices[0]!.finish_reason).toBe("stop");
    expect(r.usage).toEqual({ prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 });
  });

  it("streaming chat with usage, and mistral_format=ollama", async () => {
    for (const base of [gw.url, mistralGw.url]) {
      const c = openaiClient(base, "unused");
      const stream = await c.chat.completions.create({
        model: base === gw.url ? "llama3.2" : "mistral",
        messages: [{ role: "user", content: "a b c d" }],
        max_tokens: 3,
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = "";
      let finish: string | null = null;
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? "";
        finish = chunk.choices[0]?.finish_reason ?? finish;
        if (chunk.usage) usage = chunk.usage;
      }
      expect(last().body).toMatchObject({ stream: true, options: { num_predict: 3 } });
      expect(text).toBe("echo: a b");
      expect(finish).toBe("length");
      expect(usage).toEqual({ prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 });
    }
  });

  it("tool call round trip", async () => {
    const tools: OpenAI.Chat.ChatCompletionTool[] = [{ type: "function", function: { name: "lookup", parameters: { type: "object", properties: { query: { type: "string" } } } } }];
    const first = await client.chat.completions.create({ model: "llama3.2", messages: [{ role: "user", content: "find cats" }], tools });
    expect((last().body as Json).tools).toEqual(tools);
    const call = first.choices[0]!.message.tool_calls![0]! as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
    expect(first.choices[0]!.finish_reason).toBe("tool_calls");
    expect(JSON.parse(call.function.arguments)).toEqual({ query: "find cats" });
    const second = await client.chat.completions.create({
      model: "llama3.2",
      messages: [{ role: "user", content: "find cats" }, first.choices[0]!.message, { role: "tool", tool_call_id: call.id, content: "two cats" }],
    });
    expect(((last().body as Json).messages as Json[])[1]).toEqual({ role: "assistant", content: "", tool_calls: [{ function: { name: "lookup", arguments: { query: "find cats" } } }] });
    expect(second.choices[0]!.message.content).toBe("echo: two cats");
  });

  it("completions, plain and streamed", async () => {
    const r = await client.completions.create({ model: "llama3.2", prompt: "say hi" });
    expect(last().path).toBe("/api/generate");
    expect(last().body).toEqual({ model: "llama3.2", prompt: "say hi", stream: false });
    expect(r.choices[0]!.text).toBe("echo: say hi");
    expect(r.usage).toEqual({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
    const stream = await client.completions.create({ model: "llama3.2", prompt: "say hi", stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    expect(text).toBe("echo: say hi");
  });

  it("embeddings with the SDK's default base64 encoding", async () => {
    const r = await client.embeddings.create({ model: "llama3.2", input: "hello" });
    expect(last().path).toBe("/api/embed");
    expect(last().body).toEqual({ model: "llama3.2", input: "hello" });
    expect(Array.from(r.data[0]!.embedding)).toEqual(embedding("hello"));
    expect(r.usage).toEqual({ prompt_tokens: 1, total_tokens: 1 });
  });

  it("429, a non-JSON 500, 404 and 401 keep their status and message", async () => {
    sim.failNext(429);
    const e429 = (await client.chat.completions.create({ model: "llama3.2", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(e429).toBeInstanceOf(OpenAI.RateLimitError);
    expect((e429.error as Json).message).toBe("too many requests");
    sim.failNext(500, { nonJson: true });
    const e500 = (await client.chat.completions.create({ model: "llama3.2", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(e500).toBeInstanceOf(OpenAI.InternalServerError);
    expect((e500.error as Json).type).toBe("api_error");
    sim.failNext(404);
    const e404 = (await client.chat.completions.create({ model: "llama3.2", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(e404).toBeInstanceOf(OpenAI.NotFoundError);
    // Ollama has no auth; a proxy in front of it may still answer 401.
    sim.failNext(401);
    const e401 = (await client.chat.completions.create({ model: "llama3.2", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(e401).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(e401.error).toEqual({ message: "request refused", type: "authentication_error", code: null });
  });
});
