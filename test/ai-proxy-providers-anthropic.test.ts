// The anthropic provider (lib/llm/providers/anthropic.ts): OpenAI → Messages API / legacy
// Text Completions translation, answers and errors back to the OpenAI shape, and the SSE
// stream translated event by event, first through the llm-providers test module, then with
// the openai SDK through the gateway in front of the Anthropic simulator.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANTHROPIC_DEFAULT_KEY, startAnthropic, type Simulator } from "./simulators/index.ts";
import type { RunningGateway } from "./support/gateway.ts";
import { buildModules, collect, fixture, Lab, providerGateway, splitMismatches, type Json } from "./ai-proxy-providers-support.ts";
import { openaiClient } from "./support/client.ts";

beforeAll(() => buildModules(), 300_000);

const MODEL = { provider: "anthropic", name: "claude-3-5-haiku-latest", options: { anthropic_version: "2023-06-01" } };

function chatLab(model: Json = MODEL): Lab {
  const lab = new Lab();
  expect(lab.configure("llm/v1/chat", model).ok).toBe(true);
  return lab;
}

describe("anthropic: configuration", () => {
  it("targets /v1/messages and /v1/complete on api.anthropic.com with anthropic-version", () => {
    const lab = new Lab();
    const chat = lab.configure("llm/v1/chat", MODEL);
    expect(chat.value).toMatchObject({ authority: "api.anthropic.com:443", path: "/v1/messages", headers: [["anthropic-version", "2023-06-01"]] });
    expect(lab.configure("llm/v1/completions", MODEL).value.path).toBe("/v1/complete");
    expect(lab.reportsUsage()).toBe(true);
  });

  it("refuses a config without anthropic_version, and the embeddings route", () => {
    const lab = new Lab();
    const r = lab.configure("llm/v1/chat", { provider: "anthropic", name: "claude-3-5-haiku-latest" });
    expect(r.ok).toBe(false);
    expect(r.text).toBe("model.options.anthropic_version is required for provider anthropic");
    const e = lab.configure("llm/v1/embeddings", MODEL);
    expect(e.ok).toBe(false);
    expect(e.text).toContain("llm/v1/embeddings is not supported by provider anthropic");
  });
});

describe("anthropic: request translation", () => {
  it("hoists every system/developer message into system blocks and keeps the turns", () => {
    const r = chatLab().request({
      messages: [
        { role: "system", content: "be brief" },
        { role: "developer", content: [{ type: "text", text: "answer in French" }] },
        { role: "user", content: "hi" },
        { role: "assistant", content: "bonjour" },
        { role: "user", content: [{ type: "text", text: "again" }] },
      ],
    });
    expect(r.ok).toBe(true);
    expect(r.value).toEqual({
      model: "claude-3-5-haiku-latest",
      max_tokens: 4096,
      system: [
        { type: "text", text: "be brief" },
        { type: "text", text: "answer in French" },
      ],
      messages: [
        { role: "user", content: "hi" },
        { role: "assistant", content: "bonjour" },
        { role: "user", content: [{ type: "text", text: "again" }] },
      ],
      stream: false,
    });
  });

  it("sends one system prompt as a string", () => {
    const r = chatLab().request({ messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hi" }] });
    expect(r.value.system).toBe("be brief");
  });

  it("max_tokens: the request's, else model.options.max_tokens, else 4096", () => {
    const body = { messages: [{ role: "user", content: "hi" }] };
    expect(chatLab().request({ ...body, max_tokens: 7 }).value.max_tokens).toBe(7);
    expect(chatLab().request({ ...body, max_completion_tokens: 9 }).value.max_tokens).toBe(9);
    const configured = chatLab({ ...MODEL, options: { ...MODEL.options, max_tokens: 256 } });
    expect(configured.request(body).value.max_tokens).toBe(256);
    expect(configured.request({ ...body, max_tokens: 5 }).value.max_tokens).toBe(5);
    expect(chatLab().request(body).value.max_tokens).toBe(4096);
  });

  it("maps tuning fields, stop, user and stream", () => {
    const r = chatLab().request({
      messages: [{ role: "user", content: "hi" }],
      temperature: 0.5,
      top_p: 0.9,
      top_k: 40,
      stop: "END",
      user: "u-1",
      stream: true,
      n: 1,
    });
    // temperature wins over top_p: current Claude models refuse the two together (test/ai-proxy-sampling.test.ts).
    expect(r.value).toMatchObject({ temperature: 0.5, top_k: 40, stop_sequences: ["END"], metadata: { user_id: "u-1" }, stream: true });
    expect(r.value).not.toHaveProperty("top_p");
    expect(r.value).not.toHaveProperty("n");
    expect(chatLab().request({ messages: [{ role: "user", content: "hi" }], stop: ["a", "b"] }).value.stop_sequences).toEqual(["a", "b"]);
  });

  it("translates images: data: URLs to base64 sources, other URLs to url sources", () => {
    const r = chatLab().request({
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "what is this" },
            { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
            { type: "image_url", image_url: { url: "https://example.com/cat.jpg", detail: "low" } },
          ],
        },
      ],
    });
    expect((r.value.messages as Json[])[0]).toEqual({
      role: "user",
      content: [
        { type: "text", text: "what is this" },
        { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
        { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
      ],
    });
  });

  it("translates tools, tool calls and tool results (merged into one user turn)", () => {
    const r = chatLab().request({
      messages: [
        { role: "user", content: "weather in Paris and Rome?" },
        {
          role: "assistant",
          content: "checking",
          tool_calls: [
            { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
            { id: "call_2", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome","n":[1,2.5,{"deep":true}]}' } },
          ],
        },
        { role: "tool", tool_call_id: "call_1", content: "sunny" },
        { role: "tool", tool_call_id: "call_2", content: [{ type: "text", text: "rainy" }] },
      ],
      tools: [
        { type: "function", function: { name: "get_weather", description: "weather now", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } },
        { type: "function", function: { name: "noop" } },
      ],
      tool_choice: "required",
    });
    expect(r.ok).toBe(true);
    expect(r.value.messages).toEqual([
      { role: "user", content: "weather in Paris and Rome?" },
      {
        role: "assistant",
        content: [
          { type: "text", text: "checking" },
          { type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Paris" } },
          { type: "tool_use", id: "call_2", name: "get_weather", input: { city: "Rome", n: [1, 2.5, { deep: true }] } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "call_1", content: "sunny" },
          { type: "tool_result", tool_use_id: "call_2", content: [{ type: "text", text: "rainy" }] },
        ],
      },
    ]);
    expect(r.value.tools).toEqual([
      { name: "get_weather", description: "weather now", input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
      { name: "noop", input_schema: { type: "object", properties: {} } },
    ]);
    expect(r.value.tool_choice).toEqual({ type: "any" });
  });

  it("maps tool_choice values and parallel_tool_calls", () => {
    const base = { messages: [{ role: "user", content: "x" }], tools: [{ type: "function", function: { name: "f" } }] };
    const choice = (tc: unknown, extra: Json = {}) => chatLab().request({ ...base, tool_choice: tc, ...extra }).value.tool_choice;
    expect(choice("auto")).toEqual({ type: "auto" });
    expect(choice("none")).toEqual({ type: "none" });
    expect(choice({ type: "function", function: { name: "f" } })).toEqual({ type: "tool", name: "f" });
    expect(choice("auto", { parallel_tool_calls: false })).toEqual({ type: "auto", disable_parallel_tool_use: true });
    expect(chatLab().request({ ...base, parallel_tool_calls: false }).value.tool_choice).toEqual({ type: "auto", disable_parallel_tool_use: true });
    expect(chatLab().request(base).value).not.toHaveProperty("tool_choice");
  });

  it("refuses what Anthropic cannot take, saying what is wrong", () => {
    const lab = chatLab();
    const bad = (body: Json) => lab.request(body);
    expect(bad({ messages: [{ role: "user", content: [{ type: "input_audio", input_audio: { data: "", format: "wav" } }] }] }).text).toBe(
      "messages[0].content[0]: content part type 'input_audio' is not supported by provider anthropic",
    );
    expect(
      bad({ messages: [{ role: "assistant", content: null, tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{not json" } }] }] }).text,
    ).toBe("messages[0].tool_calls[0].function.arguments must be a JSON object");
    expect(bad({ messages: [{ role: "function", name: "f", content: "x" }] }).text).toContain("role 'function' is not supported by provider anthropic");
    expect(bad({ messages: [{ role: "system", content: "only a system prompt" }] }).ok).toBe(false);
    expect(bad({ messages: [{ role: "user", content: "x" }], tools: [{ type: "code_interpreter" }] }).text).toContain("only function tools");
    expect(bad({ messages: [{ role: "user", content: "x" }], tools: [{ type: "function", function: { name: "f" } }], tool_choice: "sometimes" }).ok).toBe(false);
  });

  it("completions: the legacy Human/Assistant prompt and max_tokens_to_sample", () => {
    const lab = new Lab();
    lab.configure("llm/v1/completions", { ...MODEL, name: "claude-2.1" });
    const r = lab.request({ prompt: "say hi", max_tokens: 20, temperature: 0 });
    expect(r.value).toEqual({ model: "claude-2.1", prompt: "\n\nHuman: say hi\n\nAssistant:", max_tokens_to_sample: 20, temperature: 0, stream: false });
    expect(lab.request({ prompt: ["one"] }).value.prompt).toBe("\n\nHuman: one\n\nAssistant:");
    expect(lab.request({ prompt: ["one", "two"] }).ok).toBe(false);
  });
});

describe("anthropic: response translation", () => {
  const message = (over: Json = {}) => ({
    id: "msg_01",
    type: "message",
    role: "assistant",
    model: "claude-3-5-haiku-20241022",
    content: [{ type: "text", text: "Hello" }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: { input_tokens: 10, output_tokens: 3 },
    ...over,
  });

  it("builds a chat.completion with id, model, content, mapped finish_reason and usage", () => {
    const lab = chatLab();
    lab.request({ messages: [{ role: "user", content: "hi" }] });
    const r = lab.response(message());
    expect(r.value).toEqual({
      id: "msg_01",
      object: "chat.completion",
      created: 1735689600,
      model: "claude-3-5-haiku-20241022",
      choices: [{ index: 0, message: { role: "assistant", content: "Hello" }, finish_reason: "stop", logprobs: null }],
      usage: { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 },
    });
    expect(lab.responseState()).toEqual({ usage: [10, 3, 13], model: "claude-3-5-haiku-20241022" });
  });

  it.each([
    ["end_turn", "stop"],
    ["stop_sequence", "stop"],
    ["max_tokens", "length"],
    ["tool_use", "tool_calls"],
    ["refusal", "content_filter"],
  ])("maps stop_reason %s to %s", (stop, finish) => {
    const lab = chatLab();
    lab.request({ messages: [{ role: "user", content: "hi" }] });
    expect((lab.response(message({ stop_reason: stop })).value.choices as Json[])[0].finish_reason).toBe(finish);
  });

  it("joins text blocks, turns tool_use into tool_calls and counts cached input", () => {
    const lab = chatLab();
    lab.request({ messages: [{ role: "user", content: "hi" }] });
    const r = lab.response(
      message({
        content: [
          { type: "thinking", thinking: "hmm", signature: "x" },
          { type: "text", text: "Let me " },
          { type: "text", text: "check." },
          { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris", days: 2, when: { ok: true } } },
        ],
        stop_reason: "tool_use",
        usage: { input_tokens: 5, cache_creation_input_tokens: 100, cache_read_input_tokens: 20, output_tokens: 4 },
      }),
    );
    const choice = (r.value.choices as Json[])[0];
    expect(choice.message).toEqual({
      role: "assistant",
      content: "Let me check.",
      tool_calls: [{ id: "toolu_1", type: "function", function: { name: "get_weather", arguments: JSON.stringify({ city: "Paris", days: 2, when: { ok: true } }) } }],
    });
    expect(choice.finish_reason).toBe("tool_calls");
    expect(r.value.usage).toEqual({ prompt_tokens: 125, completion_tokens: 4, total_tokens: 129 });
  });

  it("fails clearly on a body without content, or not JSON", () => {
    const lab = chatLab();
    lab.request({ messages: [{ role: "user", content: "hi" }] });
    expect(lab.response({ type: "message", id: "x" }).text).toBe(
      "transformation failed from type anthropic://llm/v1/chat: 'content' not in anthropic://llm/v1/chat response",
    );
    expect(lab.response("<html>").ok).toBe(false);
    expect(lab.response(Uint8Array.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])).ok).toBe(false);
    // Wrong types and absurd numbers are skipped, never a trap.
    const odd = lab.response({ content: [1, null, { type: 5 }, { type: "tool_use" }, { type: "text", text: 3 }], usage: { input_tokens: 1e300, output_tokens: "2" }, stop_reason: [] });
    expect(odd.ok).toBe(true);
    expect((odd.value.choices as Json[])[0].message).toEqual({ role: "assistant", content: null, tool_calls: [{ id: "", type: "function", function: { name: "", arguments: "null" } }] });
  });

  it("completions: a text_completion from the legacy answer", () => {
    const lab = new Lab();
    lab.configure("llm/v1/completions", { ...MODEL, name: "claude-2.1" });
    lab.request({ prompt: "say hi" });
    const r = lab.response({ type: "completion", id: "compl_1", completion: " Hi!", stop_reason: "stop_sequence", model: "claude-2.1" });
    expect(r.value).toMatchObject({ id: "compl_1", object: "text_completion", model: "claude-2.1", choices: [{ index: 0, text: " Hi!", finish_reason: "stop" }] });
  });
});

describe("anthropic: errors", () => {
  it("keeps Anthropic's message and type", () => {
    const lab = chatLab();
    const body = JSON.stringify({ type: "error", error: { type: "authentication_error", message: "invalid x-api-key" }, request_id: "req_1" });
    expect(lab.error(401, body)).toEqual({ error: { message: "invalid x-api-key", type: "authentication_error", code: null } });
    const over = JSON.stringify({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } });
    expect(lab.error(529, over).error).toMatchObject({ message: "Overloaded", type: "overloaded_error" });
  });

  it("turns non-JSON and empty bodies into the OpenAI shape", () => {
    const lab = chatLab();
    expect(lab.error(502, "<html><body>Bad Gateway</body></html>").error).toMatchObject({ type: "api_error" });
    expect(lab.error(500, "").error).toEqual({ message: "upstream returned status 500", type: "api_error", code: null });
    expect(lab.error(429, Uint8Array.from([0xff, 0x00, 0xc3])).error.type).toBe("rate_limit_error");
  });
});

describe("anthropic: streams", () => {
  function streamLab(body: Json = { messages: [{ role: "user", content: "hi" }], stream: true }): Lab {
    const lab = chatLab();
    lab.request(body);
    return lab;
  }

  it.each(["anthropic-chat", "anthropic-tool-use"])("translates the recorded %s stream", (name) => {
    const { bytes, expected } = fixture(name);
    const lab = streamLab({ messages: [{ role: "user", content: "hi" }], stream: true, stream_options: { include_usage: true } });
    const out = lab.stream([bytes]);
    const c = collect(out);
    const usage = expected.usage as Json;
    expect(c.text).toBe(expected.text);
    expect(c.finish).toBe(expected.finish_reason === "tool_use" ? "tool_calls" : "stop");
    expect(c.usage).toEqual(usage);
    expect(c.done).toBe(true);
    expect(c.roles).toEqual(["assistant"]);
    expect(c.chunks.every((x) => x.object === "chat.completion.chunk" && String(x.id).startsWith("msg_") && x.model === "claude-3-5-sonnet-20241022")).toBe(true);
    for (const [i, tc] of ((expected.tool_calls as Json[] | undefined) ?? []).entries()) {
      expect(c.toolCalls[i]).toEqual({ id: tc.id, name: tc.name, arguments: tc.arguments });
    }
    const st = lab.streamState();
    expect(st).toMatchObject({ usage: [usage.prompt_tokens, usage.completion_tokens, usage.total_tokens], model: "claude-3-5-sonnet-20241022", finished: true, failed: false, text: expected.text });
  });

  it.each(["anthropic-chat", "anthropic-tool-use"])("gives the same output for %s split at every byte", (name) => {
    const { bytes } = fixture(name);
    const lab = streamLab();
    const whole = lab.stream([bytes]);
    expect(whole.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(splitMismatches(lab, bytes, whole)).toEqual([]);
  });

  it("sends no usage chunk unless the client asked for it", () => {
    const { bytes } = fixture("anthropic-chat");
    const c = collect(streamLab().stream([bytes]));
    expect(c.usage).toBeNull();
    expect(c.chunks.every((x) => (x.choices as Json[]).length === 1)).toBe(true);
  });

  it("ends with an error frame on an error event, and on an event that is not JSON", () => {
    const start = 'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_x","model":"m","usage":{"input_tokens":3,"output_tokens":1}}}\n\n';
    const lab = streamLab();
    const out = lab.stream([start, 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n', "event: ping\ndata: {}\n\n"]);
    const c = collect(out);
    expect(c.errors).toEqual([{ message: "Overloaded", type: "api_error", code: null }]);
    expect(c.done).toBe(false);
    expect(lab.streamState()).toMatchObject({ failed: true, finished: true });
    const bad = streamLab();
    const c2 = collect(bad.stream([start, "event: content_block_delta\ndata: {oops\n\n"]));
    expect(c2.errors[0]?.message).toMatch(/^upstream sent an invalid stream event/);
  });

  it("survives hostile events without trapping", () => {
    const lab = streamLab();
    const junk = [
      Uint8Array.from([0xff, 0xfe, 0x0a, 0x0a]),
      'data: {"type":"content_block_delta","index":"x","delta":{"type":"input_json_delta","partial_json":7}}\n\n',
      'data: {"type":"content_block_start","index":99999999999,"content_block":{"type":"tool_use"}}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":-1,"delta":{"type":"input_json_delta","partial_json":"{}"}}\n\n',
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":5},"usage":{"output_tokens":-4}}\n\n',
      "data: " + "[".repeat(5000) + "\n\n",
      'data: {"type":"text","text":"\\ud800"}\n\n',
      'data: {"type":"message_start","message":{"id":7,"model":null,"usage":{"input_tokens":1e300,"cache_read_input_tokens":-1e300}}}\n\n',
      'event: message_delta\ndata: {"type":"message_delta","delta":{},"usage":{"output_tokens":1e300,"input_tokens":"9"}}\n\n',
    ];
    for (const j of junk) {
      const l = streamLab();
      expect(() => l.stream([j, ""])).not.toThrow();
    }
    expect(() => lab.stream(junk)).not.toThrow();
  });

  it("translates the legacy completion stream into text_completion chunks", () => {
    const lab = new Lab();
    lab.configure("llm/v1/completions", { ...MODEL, name: "claude-2.1" });
    lab.request({ prompt: "say hi", stream: true });
    const ev = (completion: string, stop: string | null) =>
      `event: completion\ndata: ${JSON.stringify({ type: "completion", completion, stop_reason: stop, model: "claude-2.1" })}\n\n`;
    const c = collect(lab.stream([ev(" Hi", null), 'event: ping\ndata: {"type": "ping"}\n\n', ev(" there", null), ev("", "max_tokens")]));
    expect(c.text).toBe(" Hi there");
    expect(c.finish).toBe("length");
    expect(c.done).toBe(true);
    expect(c.chunks.every((x) => x.object === "text_completion")).toBe(true);
  });
});

describe("anthropic: the openai SDK through the gateway", () => {
  let sim: Simulator;
  let gw: RunningGateway;
  let client: OpenAI;
  let badKeyClient: OpenAI;
  let badGw: RunningGateway;

  const config = (key: string) => (kind: string) => ({
    auth: { header_name: "x-api-key", header_value: key },
    model: { provider: "anthropic", name: kind === "completions" ? "claude-2.1" : "claude-3-5-haiku-latest", options: { anthropic_version: "2023-06-01" } },
  });

  beforeAll(async () => {
    sim = await startAnthropic({ pacing: { delayMs: 1, splitWrites: true } });
    gw = await providerGateway(sim.port, ["api.anthropic.com"], config(ANTHROPIC_DEFAULT_KEY), ["chat", "completions"]);
    badGw = await providerGateway(sim.port, ["api.anthropic.com"], config("wrong-key"), ["chat"]);
    client = openaiClient(gw.url);
    badKeyClient = openaiClient(badGw.url);
  });
  afterAll(async () => {
    await gw?.close();
    await badGw?.close();
    await sim?.close();
  });

  const last = () => sim.requests.at(-1)!;

  it("chat: the request Anthropic gets, and the answer the SDK gets", async () => {
    const r = await client.chat.completions.create({
      model: "claude-3-5-haiku-latest",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "hello there" },
      ],
      temperature: 0.2,
    });
    const got = last();
    expect(got.path).toBe("/v1/messages");
    expect(got.headers["x-api-key"]).toBe(ANTHROPIC_DEFAULT_KEY);
    expect(got.headers["anthropic-version"]).toBe("2023-06-01");
    expect(got.headers["authorization"]).toBeUndefined();
    expect(got.body).toEqual({
      model: "claude-3-5-haiku-latest",
      max_tokens: 4096,
      system: "be brief",
      messages: [{ role: "user", content: "hello there" }],
      temperature: 0.2,
      stream: false,
    });
    expect(r.object).toBe("chat.completion");
    expect(r.id).toMatch(/^msg_/);
    expect(r.choices[0]!.message.content).toBe("echo: hello there");
    expect(r.choices[0]!.finish_reason).toBe("stop");
    expect(r.usage).toEqual({ prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 });
  });

  it("max_tokens cuts the answer: finish_reason length", async () => {
    const r = await client.chat.completions.create({ model: "claude-3-5-haiku-latest", messages: [{ role: "user", content: "one two three four" }], max_tokens: 2 });
    expect(last().body).toMatchObject({ max_tokens: 2 });
    expect(r.choices[0]!.message.content).toBe("echo: one");
    expect(r.choices[0]!.finish_reason).toBe("length");
  });

  it("a tool call and its result, round trip", async () => {
    const tools: OpenAI.Chat.ChatCompletionTool[] = [
      { type: "function", function: { name: "lookup", description: "look it up", parameters: { type: "object", properties: { query: { type: "string" } } } } },
    ];
    const first = await client.chat.completions.create({ model: "claude-3-5-haiku-latest", messages: [{ role: "user", content: "find cats" }], tools });
    const call = first.choices[0]!.message.tool_calls![0]! as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
    expect(first.choices[0]!.finish_reason).toBe("tool_calls");
    expect(call.function.name).toBe("lookup");
    expect(JSON.parse(call.function.arguments)).toEqual({ query: "find cats" });
    expect((last().body as Json).tools).toEqual([{ name: "lookup", description: "look it up", input_schema: { type: "object", properties: { query: { type: "string" } } } }]);

    const second = await client.chat.completions.create({
      model: "claude-3-5-haiku-latest",
      messages: [{ role: "user", content: "find cats" }, first.choices[0]!.message, { role: "tool", tool_call_id: call.id, content: "three cats" }],
      tools,
    });
    const sent = (last().body as Json).messages as Json[];
    expect(sent[1]).toEqual({ role: "assistant", content: [{ type: "tool_use", id: call.id, name: "lookup", input: { query: "find cats" } }] });
    expect(sent[2]).toEqual({ role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: "three cats" }] });
    expect(second.choices[0]!.message.content).toBe("echo: three cats");
  });

  it("streaming chat: deltas, finish_reason and usage", async () => {
    const stream = await client.chat.completions.create({
      model: "claude-3-5-haiku-latest",
      messages: [{ role: "user", content: "stream these words é 日本 😀" }],
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
    expect(last().body).toMatchObject({ stream: true });
    expect(text).toBe("echo: stream these words é 日本 😀");
    expect(finish).toBe("stop");
    expect(usage).toEqual({ prompt_tokens: 6, completion_tokens: 7, total_tokens: 13 });
  });

  it("streaming a tool call", async () => {
    const stream = await client.chat.completions.create({
      model: "claude-3-5-haiku-latest",
      messages: [{ role: "user", content: "find dogs" }],
      tools: [{ type: "function", function: { name: "lookup" } }],
      stream: true,
    });
    const calls: { id?: string; name: string; args: string }[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const tc of chunk.choices[0]?.delta.tool_calls ?? []) {
        calls[tc.index] ??= { name: "", args: "" };
        if (tc.id) calls[tc.index]!.id = tc.id;
        calls[tc.index]!.name += tc.function?.name ?? "";
        calls[tc.index]!.args += tc.function?.arguments ?? "";
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(calls).toHaveLength(1);
    expect(calls[0]!.id).toMatch(/^toolu_/);
    expect(calls[0]!.name).toBe("lookup");
    expect(JSON.parse(calls[0]!.args)).toEqual({ query: "find dogs" });
    expect(finish).toBe("tool_calls");
  });

  it("completions over the legacy /v1/complete", async () => {
    const r = await client.completions.create({ model: "claude-2.1", prompt: "say hi", max_tokens: 10 });
    expect(last().path).toBe("/v1/complete");
    expect(last().body).toMatchObject({ prompt: "\n\nHuman: say hi\n\nAssistant:", max_tokens_to_sample: 10 });
    expect(r.object).toBe("text_completion");
    expect(r.choices[0]!.text).toBe(" echo: say hi");
    expect(r.choices[0]!.finish_reason).toBe("stop");
  });

  it("streaming completions", async () => {
    const stream = await client.completions.create({ model: "claude-2.1", prompt: "say hi", stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    expect(text).toBe(" echo: say hi");
  });

  it("401 from a wrong key: an AuthenticationError with Anthropic's message", async () => {
    const err = await badKeyClient.chat.completions.create({ model: "claude-3-5-haiku-latest", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(401);
    expect((err as InstanceType<typeof OpenAI.APIError>).error).toEqual({ message: "invalid x-api-key", type: "authentication_error", code: null });
  });

  it("429 and a non-JSON 500 keep their status in the OpenAI error shape", async () => {
    sim.failNext(429);
    const rate = (await client.chat.completions.create({ model: "claude-3-5-haiku-latest", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e)) as InstanceType<
      typeof OpenAI.APIError
    >;
    expect(rate).toBeInstanceOf(OpenAI.RateLimitError);
    expect(rate.error).toMatchObject({ type: "rate_limit_error", message: "Number of request tokens has exceeded your per-minute rate limit" });
    sim.failNext(500, { nonJson: true });
    const crash = (await client.chat.completions.create({ model: "claude-3-5-haiku-latest", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e)) as InstanceType<
      typeof OpenAI.APIError
    >;
    expect(crash).toBeInstanceOf(OpenAI.InternalServerError);
    expect(crash.status).toBe(500);
    expect((crash.error as Json).type).toBe("api_error");
    expect(String((crash.error as Json).message)).toContain("500 Internal Server Error");
  });
});
