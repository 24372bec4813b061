// The cohere provider (lib/llm/providers/cohere.ts): OpenAI → v1 chat / v1 generate / v2
// embed, answers and errors back to the OpenAI shape, and the v1 NDJSON stream translated
// line by line; first through the llm-providers test module, then with the openai SDK
// through the gateway in front of the Cohere simulator.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COHERE_DEFAULT_KEY, embedding, startCohere, type Simulator } from "./simulators/index.ts";
import type { RunningGateway } from "./support/gateway.ts";
import { buildModules, collect, fixture, Lab, providerGateway, splitMismatches, type Json } from "./ai-proxy-providers-support.ts";
import { openaiClient } from "./support/client.ts";

beforeAll(() => buildModules(), 300_000);

const MODEL = { provider: "cohere", name: "command-r" };

function lab(route = "llm/v1/chat", model: Json = MODEL): Lab {
  const l = new Lab();
  expect(l.configure(route, model).ok).toBe(true);
  return l;
}

describe("cohere: configuration", () => {
  it("targets /v1/chat, /v1/generate and /v2/embed on api.cohere.com", () => {
    const l = new Lab();
    expect(l.configure("llm/v1/chat", MODEL).value).toMatchObject({ authority: "api.cohere.com:443", path: "/v1/chat", headers: [] });
    expect(l.configure("llm/v1/completions", MODEL).value.path).toBe("/v1/generate");
    expect(l.configure("llm/v1/embeddings", MODEL).value.path).toBe("/v2/embed");
    expect(l.configure("llm/v1/chat", { ...MODEL, options: { upstream_url: "http://cohere.internal:8080/v1/chat" } }).value).toMatchObject({
      authority: "cohere.internal:8080",
      path: "/v1/chat",
    });
  });
});

describe("cohere: request translation", () => {
  it("chat: leading system messages → preamble, turns → chat_history, the last user message → message", () => {
    const r = lab().request({
      messages: [
        { role: "system", content: "be brief" },
        { role: "developer", content: "be kind" },
        { role: "user", content: "hi" },
        { role: "assistant", content: [{ type: "text", text: "hello" }] },
        { role: "system", content: "now in French" },
        { role: "user", content: [{ type: "text", text: "again" }, { type: "text", text: "please" }] },
      ],
    });
    expect(r.value).toEqual({
      model: "command-r",
      message: "again\nplease",
      chat_history: [
        { role: "USER", message: "hi" },
        { role: "CHATBOT", message: "hello" },
        { role: "SYSTEM", message: "now in French" },
      ],
      preamble: "be brief\nbe kind",
      stream: false,
    });
  });

  it("maps max_tokens, temperature, top_p → p, top_k → k, stop, seed and penalties", () => {
    const r = lab().request({
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 50,
      temperature: 0.3,
      top_p: 0.8,
      top_k: 20,
      stop: ["END"],
      seed: 42,
      frequency_penalty: 0.1,
      presence_penalty: 0.2,
      stream: true,
    });
    expect(r.value).toEqual({
      model: "command-r",
      message: "hi",
      max_tokens: 50,
      temperature: 0.3,
      p: 0.8,
      k: 20,
      stop_sequences: ["END"],
      seed: 42,
      frequency_penalty: 0.1,
      presence_penalty: 0.2,
      stream: true,
    });
    const configured = lab("llm/v1/chat", { ...MODEL, options: { max_tokens: 99, top_k: 5 } }).request({ messages: [{ role: "user", content: "hi" }] });
    expect(configured.value).toMatchObject({ max_tokens: 99, k: 5 });
  });

  it("refuses what v1 chat cannot take", () => {
    const l = lab();
    expect(l.request({ messages: [{ role: "user", content: "x" }], tools: [{ type: "function", function: { name: "f" } }], tool_choice: "required" }).text).toBe(
      "tool_choice 'required' is not supported by provider cohere: the v1 Chat API cannot force a tool call",
    );
    expect(l.request({ messages: [{ role: "user", content: "x" }, { role: "assistant", content: "y" }] }).text).toBe(
      "the last message must have role user or tool for provider cohere",
    );
    expect(l.request({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://x/y.png" } }] }] }).text).toBe(
      "messages[0]: content part type 'image_url' is not supported by provider cohere",
    );
    expect(l.request({ messages: [{ role: "user", content: "x" }, { role: "tool", tool_call_id: "c", content: "r" }] }).text).toBe(
      "messages[1].tool_call_id 'c' does not match a tool call of an earlier assistant message",
    );
  });

  it("completions: prompt, tuning and n → num_generations", () => {
    const r = lab("llm/v1/completions").request({ prompt: "say hi", max_tokens: 5, top_p: 0.5, n: 2 });
    expect(r.value).toEqual({ model: "command-r", prompt: "say hi", max_tokens: 5, p: 0.5, num_generations: 2, stream: false });
    expect(lab("llm/v1/completions").request({ prompt: ["a", "b"] }).ok).toBe(false);
  });

  it("embeddings: texts, input_type (default search_document), float type, dimensions", () => {
    const l = lab("llm/v1/embeddings", { provider: "cohere", name: "embed-english-v3.0" });
    expect(l.request({ input: "hello" }).value).toEqual({ model: "embed-english-v3.0", texts: ["hello"], input_type: "search_document", embedding_types: ["float"] });
    expect(l.request({ input: ["a", "b"], input_type: "search_query", dimensions: 256 }).value).toEqual({
      model: "embed-english-v3.0",
      texts: ["a", "b"],
      input_type: "search_query",
      embedding_types: ["float"],
      output_dimension: 256,
    });
    expect(l.request({ input: [[1, 2, 3]] }).text).toBe("provider cohere takes 'input' as a string or an array of strings");
  });
});

describe("cohere: response translation", () => {
  const chatAnswer = (over: Json = {}) => ({
    response_id: "resp-1",
    text: "Hello!",
    generation_id: "gen-1",
    chat_history: [],
    finish_reason: "COMPLETE",
    meta: { api_version: { version: "1" }, billed_units: { input_tokens: 3, output_tokens: 2 }, tokens: { input_tokens: 67, output_tokens: 2 } },
    ...over,
  });

  it("chat: text, id, mapped finish_reason and billed usage", () => {
    const l = lab();
    l.request({ messages: [{ role: "user", content: "hi" }] });
    expect(l.response(chatAnswer()).value).toEqual({
      id: "gen-1",
      object: "chat.completion",
      created: 1735689600,
      model: "command-r",
      choices: [{ index: 0, message: { role: "assistant", content: "Hello!" }, finish_reason: "stop", logprobs: null }],
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
    });
  });

  it.each([
    ["COMPLETE", "stop"],
    ["STOP_SEQUENCE", "stop"],
    ["MAX_TOKENS", "length"],
    ["ERROR_TOXIC", "content_filter"],
  ])("maps finish_reason %s to %s", (from, to) => {
    const l = lab();
    l.request({ messages: [{ role: "user", content: "hi" }] });
    expect((l.response(chatAnswer({ finish_reason: from })).value.choices as Json[])[0].finish_reason).toBe(to);
  });

  it("falls back to meta.tokens, reads v2 answers, and fails clearly without text", () => {
    const l = lab();
    l.request({ messages: [{ role: "user", content: "hi" }] });
    expect(l.response(chatAnswer({ meta: { tokens: { input_tokens: 9, output_tokens: 1 } } })).value.usage).toEqual({ prompt_tokens: 9, completion_tokens: 1, total_tokens: 10 });
    const v2 = l.response({ id: "v2-1", message: { role: "assistant", content: [{ type: "text", text: "Hi" }, { type: "text", text: " you" }] }, finish_reason: "MAX_TOKENS", usage: { billed_units: { input_tokens: 4, output_tokens: 2 } } });
    expect(v2.value).toMatchObject({ id: "v2-1", choices: [{ message: { content: "Hi you" }, finish_reason: "length" }], usage: { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 } });
    expect(l.response({ generation_id: "x" }).text).toBe("transformation failed from type cohere://llm/v1/chat: 'text' not in cohere://llm/v1/chat response");
    expect(l.response("not json").ok).toBe(false);
    expect(l.response({ text: 5, meta: { billed_units: { input_tokens: "x" } } }).ok).toBe(false);
  });

  it("completions: one choice per generation", () => {
    const l = lab("llm/v1/completions");
    l.request({ prompt: "say hi" });
    const r = l.response({
      id: "g",
      generations: [
        { id: "a", text: "one", finish_reason: "COMPLETE" },
        { id: "b", text: "two", finish_reason: "MAX_TOKENS" },
      ],
      meta: { billed_units: { input_tokens: 2, output_tokens: 2 } },
    });
    expect(r.value).toMatchObject({
      id: "g",
      object: "text_completion",
      choices: [
        { index: 0, text: "one", finish_reason: "stop" },
        { index: 1, text: "two", finish_reason: "length" },
      ],
      usage: { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 },
    });
  });

  it("embeddings: vectors copied digit for digit, or as base64 float32 when asked", () => {
    const l = lab("llm/v1/embeddings");
    l.request({ input: ["a", "b"], encoding_format: "float" });
    const raw = '{"id":"e","embeddings":{"float":[[0.1234567890123456789,-2e-7],[1,0]]},"texts":["a","b"],"meta":{"billed_units":{"input_tokens":2}}}';
    const r = l.response(raw);
    expect(r.text).toContain('"embedding":[0.1234567890123456789,-2e-7]');
    expect(r.value).toMatchObject({ object: "list", model: "command-r", usage: { prompt_tokens: 2, total_tokens: 2 } });
    expect((r.value.data as Json[]).map((d) => d.index)).toEqual([0, 1]);

    l.request({ input: ["a", "b"], encoding_format: "base64" });
    const b = l.response(raw).value.data as Json[];
    const buf = Buffer.from(b[0].embedding as string, "base64");
    const f = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
    expect(Array.from(f)).toEqual([Math.fround(0.1234567890123456789), Math.fround(-2e-7)]);

    expect(l.response({ embeddings: { float: [["x"]] } }).ok).toBe(false);
    expect(l.response({ embeddings: { int8: [[1]] } }).ok).toBe(false);
    // v1's plain `embeddings` array is read too.
    expect(l.response({ embeddings: [[0.5, 0.25]] }).ok).toBe(true);
  });
});

describe("cohere: errors", () => {
  it("keeps Cohere's message with the status's OpenAI type", () => {
    const l = lab();
    expect(l.error(401, '{"message":"invalid api token"}')).toEqual({ error: { message: "invalid api token", type: "authentication_error", code: null } });
    expect(l.error(429, '{"message":"You are past the per minute request limit"}').error.type).toBe("rate_limit_error");
    expect(l.error(503, "upstream connect error or disconnect/reset before headers").error).toEqual({
      message: "upstream connect error or disconnect/reset before headers",
      type: "api_error",
      code: null,
    });
  });
});

describe("cohere: streams", () => {
  it("translates the recorded chat stream", () => {
    const { bytes, expected } = fixture("cohere-chat");
    const l = lab();
    l.request({ messages: [{ role: "user", content: "hello world!" }], stream: true, stream_options: { include_usage: true } });
    const c = collect(l.stream([bytes]));
    expect(c.text).toBe(expected.text);
    expect(c.finish).toBe("stop");
    expect(c.usage).toEqual(expected.usage);
    expect(c.done).toBe(true);
    expect(c.roles).toEqual(["assistant"]);
    expect(c.chunks.every((x) => x.id === "29f14a5a-11de-4cae-9800-25e4747408ea")).toBe(true);
    expect(l.streamState()).toMatchObject({ usage: [3, 9, 12], finished: true, failed: false, text: "Hello!" });
  });

  it("gives the same output split at every byte", () => {
    const { bytes } = fixture("cohere-chat");
    const l = lab();
    l.request({ messages: [{ role: "user", content: "hi" }], stream: true });
    const whole = l.stream([bytes]);
    expect(collect(whole).usage).toBeNull();
    expect(splitMismatches(l, bytes, whole)).toEqual([]);
  });

  it("translates the generate stream into text_completion chunks", () => {
    const l = lab("llm/v1/completions");
    l.request({ prompt: "say hi", stream: true, stream_options: { include_usage: true } });
    const lines = [
      { text: "echo:", is_finished: false },
      { text: " say", is_finished: false },
      { text: " hi", is_finished: false },
      { is_finished: true, finish_reason: "MAX_TOKENS", response: { id: "gen-9", generations: [], meta: { billed_units: { input_tokens: 2, output_tokens: 3 } } } },
    ].map((o) => JSON.stringify(o) + "\n");
    const c = collect(l.stream(lines));
    expect(c.text).toBe("echo: say hi");
    expect(c.finish).toBe("length");
    expect(c.usage).toEqual({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
    expect(c.chunks.every((x) => x.object === "text_completion")).toBe(true);
  });

  it("ends with an error frame on a broken line or an ERROR finish, and survives junk", () => {
    const l = lab();
    l.request({ messages: [{ role: "user", content: "hi" }], stream: true });
    const c = collect(l.stream(['{"event_type":"stream-start","generation_id":"g"}\n', "{broken\n"]));
    expect(c.errors[0]?.message).toMatch(/^upstream sent an invalid stream line/);
    const e = collect(l.stream(['{"event_type":"stream-end","finish_reason":"ERROR","error":"model crashed"}\n']));
    expect(e.errors).toEqual([{ message: "model crashed", type: "api_error", code: null }]);
    const junk: (string | Uint8Array)[] = [
      Uint8Array.from([0xc3, 0x28, 0x0a]),
      '{"event_type":7}\n',
      '{"event_type":"text-generation","text":{"a":1}}\n',
      '{"event_type":"stream-end","response":{"meta":{"billed_units":{"input_tokens":1e300,"output_tokens":-5}}}}\n',
      "[".repeat(3000) + "\n",
      "\n\n\r\n",
    ];
    for (const j of junk) expect(() => l.stream([j, ""])).not.toThrow();
  });
});

describe("cohere: the openai SDK through the gateway", () => {
  let sim: Simulator;
  let gw: RunningGateway;
  let badGw: RunningGateway;
  let client: OpenAI;

  const config = (key: string) => (kind: string) => ({
    auth: { header_name: "Authorization", header_value: `Bearer ${key}` },
    model: { provider: "cohere", name: kind === "embeddings" ? "embed-english-v3.0" : "command-r" },
  });

  beforeAll(async () => {
    sim = await startCohere({ pacing: { delayMs: 1, splitWrites: true } });
    gw = await providerGateway(sim.port, ["api.cohere.com"], config(COHERE_DEFAULT_KEY));
    badGw = await providerGateway(sim.port, ["api.cohere.com"], config("wrong"), ["chat"]);
    client = openaiClient(gw.url);
  });
  afterAll(async () => {
    await gw?.close();
    await badGw?.close();
    await sim?.close();
  });

  const last = () => sim.requests.at(-1)!;

  it("chat: what Cohere gets and what the SDK gets", async () => {
    const r = await client.chat.completions.create({
      model: "command-r",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "hello" },
        { role: "assistant", content: "hi" },
        { role: "user", content: "hello there" },
      ],
      top_p: 0.5,
    });
    expect(last().path).toBe("/v1/chat");
    expect(last().headers["authorization"]).toBe(`Bearer ${COHERE_DEFAULT_KEY}`);
    expect(last().body).toEqual({
      model: "command-r",
      message: "hello there",
      chat_history: [
        { role: "USER", message: "hello" },
        { role: "CHATBOT", message: "hi" },
      ],
      preamble: "be brief",
      p: 0.5,
      stream: false,
    });
    expect(r.choices[0]!.message.content).toBe("echo: hello there");
    expect(r.choices[0]!.finish_reason).toBe("stop");
    expect(r.usage).toEqual({ prompt_tokens: 6, completion_tokens: 3, total_tokens: 9 });
  });

  it("streaming chat with usage", async () => {
    const stream = await client.chat.completions.create({
      model: "command-r",
      messages: [{ role: "user", content: "one two three" }],
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
    expect(text).toBe("echo: one two");
    expect(finish).toBe("length");
    expect(usage).toEqual({ prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 });
  });

  it("completions, plain and streamed", async () => {
    const r = await client.completions.create({ model: "command-r", prompt: "say hi" });
    expect(last().path).toBe("/v1/generate");
    expect(last().body).toEqual({ model: "command-r", prompt: "say hi", stream: false });
    expect(r.choices[0]!.text).toBe("echo: say hi");
    expect(r.usage).toEqual({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
    const stream = await client.completions.create({ model: "command-r", prompt: "say hi", stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    expect(text).toBe("echo: say hi");
  });

  it("embeddings with the SDK's default base64 encoding, decoded to the simulator's vectors", async () => {
    const r = await client.embeddings.create({ model: "embed-english-v3.0", input: ["hello", "world"] });
    expect(last().path).toBe("/v2/embed");
    expect(last().body).toEqual({ model: "embed-english-v3.0", texts: ["hello", "world"], input_type: "search_document", embedding_types: ["float"] });
    expect(r.data.map((d) => Array.from(d.embedding))).toEqual([embedding("hello"), embedding("world")]);
    expect(r.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 });
  });

  it("401, 429 and a non-JSON 500 keep their status and message", async () => {
    const bad = openaiClient(badGw.url, "k");
    const e401 = (await bad.chat.completions.create({ model: "command-r", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(e401).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(e401.error).toEqual({ message: "invalid api token", type: "authentication_error", code: null });
    sim.failNext(429);
    const e429 = (await client.chat.completions.create({ model: "command-r", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(e429).toBeInstanceOf(OpenAI.RateLimitError);
    expect((e429.error as Json).message).toBe("You are past the per minute request limit, please wait and try again later.");
    sim.failNext(500, { nonJson: true });
    const e500 = (await client.chat.completions.create({ model: "command-r", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(e500.status).toBe(500);
    expect((e500.error as Json).type).toBe("api_error");
  });

  it("a request Cohere cannot take is a 400 from the gateway that says why", async () => {
    const n = sim.requests.length;
    const err = (await client.chat.completions
      .create({ model: "command-r", messages: [{ role: "user", content: "x" }], tools: [{ type: "function", function: { name: "f" } }], tool_choice: "required" })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(400);
    expect((err.error as Json).message).toContain("tool_choice 'required' is not supported by provider cohere");
    expect(sim.requests.length).toBe(n);
  });
});
