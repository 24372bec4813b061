// Tool calling through ai-proxy for provider cohere (v1 Chat API): OpenAI tools → Cohere
// tools with parameter_definitions, tool_choice policy, assistant tool calls and tool
// messages → chat_history / tool_results, Cohere tool_calls → OpenAI tool_calls, and the
// tool-call stream events → tool_calls deltas. First on the llm-providers test module, then
// the Cohere simulator's validation, then the openai SDK through the gateway.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COHERE_DEFAULT_KEY, startCohere, type Simulator } from "./simulators/index.ts";
import type { RunningGateway } from "./support/gateway.ts";
import { buildModules, collect, Lab, providerGateway, splitMismatches, type Json } from "./ai-proxy-providers-support.ts";
import { openaiClient } from "./support/client.ts";

beforeAll(() => buildModules(), 300_000);

const MODEL = { provider: "cohere", name: "command-r" };

function lab(): Lab {
  const l = new Lab();
  expect(l.configure("llm/v1/chat", MODEL).ok).toBe(true);
  return l;
}

const fn = (name: string, parameters?: Json, description?: string): Json => ({
  type: "function",
  function: { name, ...(description !== undefined ? { description } : {}), ...(parameters !== undefined ? { parameters } : {}) },
});

const LOOKUP = fn("lookup", { type: "object", properties: { query: { type: "string", description: "what to find" } }, required: ["query"] }, "look it up");
const COHERE_LOOKUP = { name: "lookup", description: "look it up", parameter_definitions: { query: { description: "what to find", type: "str", required: true } } };

const call = (id: string, name: string, args: string): Json => ({ id, type: "function", function: { name, arguments: args } });

describe("cohere tools: request translation", () => {
  it("maps each top-level JSON Schema property to {description, type, required} with Cohere's Python type names", () => {
    const r = lab().request({
      messages: [{ role: "user", content: "x" }],
      tools: [
        fn("report", {
          type: "object",
          properties: {
            day: { type: "string", description: "YYYY-MM-DD", format: "date" },
            count: { type: "integer", minimum: 1 },
            ratio: { type: "number" },
            final: { type: "boolean" },
            tags: { type: "array" },
            days: { type: "array", items: { type: "string" } },
            grid: { type: "array", items: { type: "array", items: { type: "integer" } } },
            extra: { type: "object" },
            totals: { type: "object", additionalProperties: { type: "integer" } },
            kind: { type: "string", enum: ["customer", "supplier"], description: "contact type" },
            level: { enum: [1, 2], type: "integer" },
          },
          required: ["day", "kind", "nope"],
          additionalProperties: false,
        }),
        fn("ping"),
      ],
    });
    expect(r.ok).toBe(true);
    expect(r.value.tools).toEqual([
      {
        name: "report",
        description: "",
        parameter_definitions: {
          day: { description: "YYYY-MM-DD", type: "str", required: true },
          count: { type: "int", required: false },
          ratio: { type: "float", required: false },
          final: { type: "bool", required: false },
          tags: { type: "List", required: false },
          days: { type: "List[str]", required: false },
          grid: { type: "List[List[int]]", required: false },
          extra: { type: "Dict", required: false },
          totals: { type: "Dict[str, int]", required: false },
          kind: { description: "contact type Possible enum values: customer, supplier.", type: "str", required: true },
          level: { description: "Possible enum values: 1, 2.", type: "int", required: false },
        },
      },
      { name: "ping", description: "" },
    ]);
    // Order is kept as the client sent it.
    expect(Object.keys((r.value.tools as Json[])[0].parameter_definitions as Json)).toEqual(["day", "count", "ratio", "final", "tags", "days", "grid", "extra", "totals", "kind", "level"]);
  });

  it("tool results after the assistant's calls: message \"\", the calls in chat_history, results with their call and outputs", () => {
    const r = lab().request({
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "weather in Paris and Rome?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [call("c1", "weather", '{"city":"Paris"}'), call("c2", "weather", '{"city":"Rome","days":[1,2.5],"deep":{"ok":true}}')],
        },
        { role: "tool", tool_call_id: "c1", content: "sunny" },
        { role: "tool", tool_call_id: "c2", content: [{ type: "text", text: '{"temp": 20, "sky": "clear"}' }] },
      ],
      tools: [fn("weather", { type: "object", properties: { city: { type: "string" } }, required: ["city"] }, "weather by city")],
      max_tokens: 50,
    });
    expect(r.value).toEqual({
      model: "command-r",
      message: "",
      chat_history: [
        { role: "USER", message: "weather in Paris and Rome?" },
        {
          role: "CHATBOT",
          message: "",
          tool_calls: [
            { name: "weather", parameters: { city: "Paris" } },
            { name: "weather", parameters: { city: "Rome", days: [1, 2.5], deep: { ok: true } } },
          ],
        },
      ],
      preamble: "be brief",
      max_tokens: 50,
      tools: [{ name: "weather", description: "weather by city", parameter_definitions: { city: { type: "str", required: true } } }],
      tool_results: [
        { call: { name: "weather", parameters: { city: "Paris" } }, outputs: [{ output: "sunny" }] },
        { call: { name: "weather", parameters: { city: "Rome", days: [1, 2.5], deep: { ok: true } } }, outputs: [{ temp: 20, sky: "clear" }] },
      ],
      stream: false,
    });
  });

  it("an earlier tool exchange stays in chat_history (CHATBOT tool_calls, TOOL tool_results); the new user turn is the message", () => {
    const r = lab().request({
      messages: [
        { role: "user", content: "find cats" },
        { role: "assistant", content: "I will use lookup.", tool_calls: [call("c1", "lookup", "")] },
        { role: "tool", tool_call_id: "c1", content: '[{"name":"Tom"},{"name":"Felix"}]' },
        { role: "assistant", content: "Tom and Felix." },
        { role: "user", content: "and dogs?" },
      ],
      tools: [LOOKUP],
    });
    expect(r.value.message).toBe("and dogs?");
    expect(r.value.chat_history).toEqual([
      { role: "USER", message: "find cats" },
      { role: "CHATBOT", message: "I will use lookup.", tool_calls: [{ name: "lookup", parameters: {} }] },
      { role: "TOOL", tool_results: [{ call: { name: "lookup", parameters: {} }, outputs: [{ name: "Tom" }, { name: "Felix" }] }] },
      { role: "CHATBOT", message: "Tom and Felix." },
    ]);
    expect(r.value).not.toHaveProperty("tool_results");
    expect(r.value.tools).toEqual([COHERE_LOOKUP]);
  });

  it("tool output that is not a JSON object (or a list of objects) is wrapped as {output}", () => {
    const outputs = (content: string) =>
      (
        lab().request({
          messages: [{ role: "user", content: "q" }, { role: "assistant", content: null, tool_calls: [call("c", "lookup", "{}")] }, { role: "tool", tool_call_id: "c", content }],
          tools: [LOOKUP],
        }).value.tool_results as Json[]
      )[0].outputs;
    expect(outputs("[1, 2]")).toEqual([{ output: "[1, 2]" }]);
    expect(outputs("{broken")).toEqual([{ output: "{broken" }]);
    expect(outputs("[]")).toEqual([{ output: "[]" }]);
    expect(outputs('  {"a":{"b":[null]}} ')).toEqual([{ a: { b: [null] } }]);
  });

  it("tool_choice: auto sends the tools, none leaves them out; what v1 cannot do is refused", () => {
    const base = { messages: [{ role: "user", content: "x" }], tools: [LOOKUP] };
    expect(lab().request({ ...base, tool_choice: "auto", parallel_tool_calls: true }).value.tools).toEqual([COHERE_LOOKUP]);
    const none = lab().request({ ...base, tool_choice: "none" });
    expect(none.value).toEqual({ model: "command-r", message: "x", stream: false });
    const refusal = (extra: Json) => lab().request({ ...base, ...extra }).text;
    expect(refusal({ tool_choice: "required" })).toBe("tool_choice 'required' is not supported by provider cohere: the v1 Chat API cannot force a tool call");
    expect(refusal({ tool_choice: { type: "function", function: { name: "lookup" } } })).toBe(
      "tool_choice naming a function is not supported by provider cohere: the v1 Chat API cannot force a tool call",
    );
    expect(refusal({ parallel_tool_calls: false })).toBe("parallel_tool_calls false is not supported by provider cohere: the v1 Chat API cannot limit a turn to one tool call");
    expect(refusal({ tool_choice: "sometimes" })).toBe("tool_choice 'sometimes' is not one of none, auto, required");
    const withResults = {
      messages: [{ role: "user", content: "x" }, { role: "assistant", content: null, tool_calls: [call("c", "lookup", "{}")] }, { role: "tool", tool_call_id: "c", content: "r" }],
      tools: [LOOKUP],
      tool_choice: "none",
    };
    expect(lab().request(withResults).text).toBe(
      "tool_choice 'none' is not supported by provider cohere with tool results: Cohere needs the tools with tool_results and cannot forbid further calls",
    );
  });

  it.each([
    ["nested object properties", { type: "object", properties: { item: { type: "object", properties: { name: { type: "string" } } } } }, "tools[0].function.parameters.properties.item: nested object properties cannot be expressed in Cohere parameter_definitions (make them top-level parameters)"],
    ["objects inside arrays", { type: "object", properties: { items: { type: "array", items: { type: "object", properties: { n: { type: "integer" } } } } } }, "tools[0].function.parameters.properties.items.items: nested object properties cannot be expressed in Cohere parameter_definitions (make them top-level parameters)"],
    ["anyOf", { type: "object", properties: { v: { anyOf: [{ type: "string" }, { type: "integer" }] } } }, "tools[0].function.parameters.properties.v: 'anyOf' cannot be expressed in Cohere parameter_definitions"],
    ["$ref", { type: "object", properties: { v: { $ref: "#/$defs/V" } }, $defs: { V: { type: "string" } } }, "tools[0].function.parameters.properties.v: '$ref' cannot be expressed in Cohere parameter_definitions"],
    ["a list of types", { type: "object", properties: { v: { type: ["string", "null"] } } }, "tools[0].function.parameters.properties.v: a list of types cannot be expressed in Cohere parameter_definitions (one type per parameter)"],
    ["type null", { type: "object", properties: { v: { type: "null" } } }, "tools[0].function.parameters.properties.v: type 'null' cannot be expressed in Cohere parameter_definitions"],
    ["no type", { type: "object", properties: { v: { description: "anything" } } }, "tools[0].function.parameters.properties.v needs a 'type' for Cohere parameter_definitions"],
    ["a top level that is not an object", { type: "array", items: { type: "string" } }, "tools[0].function.parameters must be a JSON Schema of type 'object' (Cohere takes named parameters)"],
    ["a top-level oneOf", { oneOf: [{ type: "object" }] }, "tools[0].function.parameters: 'oneOf' cannot be expressed in Cohere parameter_definitions"],
    ["a parameter name Cohere refuses", { type: "object", properties: { "first-name": { type: "string" } } }, "tools[0].function.parameters.properties.first-name: Cohere parameter names may only hold a-z, A-Z, 0-9 and _ and must not start with a digit"],
  ])("refuses %s with a message naming the schema part", (_what, parameters, message) => {
    expect(lab().request({ messages: [{ role: "user", content: "x" }], tools: [fn("f", parameters as Json)] }).text).toBe(message);
  });

  it("refuses tool definitions and messages it cannot translate", () => {
    const bad = (body: Json) => lab().request(body).text;
    const user = [{ role: "user", content: "x" }];
    expect(bad({ messages: user, tools: [fn("get-weather")] })).toBe("tools[0].function.name 'get-weather': Cohere tool names may only hold a-z, A-Z, 0-9 and _ and must not start with a digit");
    expect(bad({ messages: user, tools: [{ type: "code_interpreter" }] })).toBe("tools[0]: only function tools are supported by provider cohere");
    expect(bad({ messages: user, tools: [fn("f", "nope" as unknown as Json)] })).toBe("tools[0].function.parameters must be a JSON Schema object");
    expect(
      bad({ messages: [...user, { role: "assistant", content: null, tool_calls: [call("c", "f", "{not json")] }, { role: "tool", tool_call_id: "c", content: "r" }], tools: [fn("f")] }),
    ).toBe("messages[1].tool_calls[0].function.arguments must be a JSON object");
    expect(bad({ messages: [...user, { role: "assistant", content: null, tool_calls: [{ type: "function", function: { name: "f" } }] }], tools: [fn("f")] })).toBe(
      "messages[1].tool_calls[0] needs an id and function.name",
    );
    expect(bad({ messages: [...user, { role: "assistant", content: null, tool_calls: [call("c", "f", "{}")] }, { role: "tool", tool_call_id: "c", content: "r" }] })).toBe(
      "tool results need the 'tools' they answer for provider cohere (Cohere requires tools with tool_results)",
    );
  });
});

describe("cohere tools: response translation", () => {
  const answer = (over: Json = {}) => ({
    response_id: "resp-1",
    text: "I will use lookup and weather.",
    generation_id: "gen-1",
    finish_reason: "COMPLETE",
    tool_calls: [
      { name: "lookup", parameters: { query: "cats", n: 2, deep: { list: [1, "two", null] } } },
      { name: "weather", parameters: { city: "Paris" } },
    ],
    meta: { billed_units: { input_tokens: 9, output_tokens: 12 } },
    ...over,
  });

  it("tool_calls get ids, JSON arguments and finish_reason tool_calls; the plan text stays as content", () => {
    const l = lab();
    l.request({ messages: [{ role: "user", content: "x" }], tools: [LOOKUP] });
    expect(l.response(answer()).value).toEqual({
      id: "gen-1",
      object: "chat.completion",
      created: 1735689600,
      model: "command-r",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: "I will use lookup and weather.",
            tool_calls: [
              call("call_gen-1_0", "lookup", JSON.stringify({ query: "cats", n: 2, deep: { list: [1, "two", null] } })),
              call("call_gen-1_1", "weather", '{"city":"Paris"}'),
            ],
          },
          finish_reason: "tool_calls",
          logprobs: null,
        },
      ],
      usage: { prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 },
    });
  });

  it("empty text is null content; null parameters are {}; an empty tool_calls list is a plain answer; broken calls fail clearly", () => {
    const l = lab();
    l.request({ messages: [{ role: "user", content: "x" }], tools: [LOOKUP] });
    const msg = (l.response(answer({ text: "", tool_calls: [{ name: "ping", parameters: null }] })).value.choices as Json[])[0].message;
    expect(msg).toEqual({ role: "assistant", content: null, tool_calls: [call("call_gen-1_0", "ping", "{}")] });
    const plain = (l.response(answer({ text: "hi", tool_calls: [] })).value.choices as Json[])[0];
    expect(plain).toMatchObject({ message: { role: "assistant", content: "hi" }, finish_reason: "stop" });
    expect((plain.message as Json).tool_calls).toBeUndefined();
    expect((l.response(answer({ finish_reason: "MAX_TOKENS" })).value.choices as Json[])[0].finish_reason).toBe("length");
    expect(l.response(answer({ tool_calls: [{ parameters: {} }] })).text).toBe("transformation failed from type cohere://llm/v1/chat: tool_calls[0] has no name");
    expect(l.response(answer({ tool_calls: [{ name: "f", parameters: [1] }] })).text).toBe("transformation failed from type cohere://llm/v1/chat: tool_calls[0].parameters is not an object");
    expect(l.response(answer({ tool_calls: [7] })).ok).toBe(false);
  });
});

describe("cohere tools: streams", () => {
  const ev = (o: Json) => JSON.stringify(o) + "\n";
  const chunk = (d: Json) => ev({ is_finished: false, event_type: "tool-calls-chunk", tool_call_delta: d });
  const calls = [
    { name: "lookup", parameters: { query: "cats" } },
    { name: "weather", parameters: { city: "Paris" } },
  ];
  const end = (over: Json = {}) =>
    ev({
      is_finished: true,
      event_type: "stream-end",
      finish_reason: "COMPLETE",
      response: { text: "I will look it up.", generation_id: "gen-7", tool_calls: calls, finish_reason: "COMPLETE", meta: { billed_units: { input_tokens: 12, output_tokens: 20 } } },
      ...over,
    });
  const STREAM = [
    ev({ is_finished: false, event_type: "stream-start", generation_id: "gen-7" }),
    chunk({ text: "I will" }),
    chunk({ text: " look it up." }),
    chunk({ index: 0, name: "lookup" }),
    chunk({ index: 0, parameters: '{"query": "ca' }),
    chunk({ index: 0, parameters: 'ts"}' }),
    chunk({ index: 1, name: "weather" }),
    chunk({ index: 1, parameters: '{"city": "Paris"}' }),
    ev({ is_finished: false, event_type: "tool-calls-generation", text: "I will look it up.", tool_calls: calls }),
    end(),
  ];

  function streamLab(): Lab {
    const l = lab();
    l.request({ messages: [{ role: "user", content: "x" }], tools: [LOOKUP], stream: true, stream_options: { include_usage: true } });
    return l;
  }

  it("tool-calls-chunk events become content (the plan) and tool_calls deltas; the calls are not repeated; finish tool_calls with usage", () => {
    const l = streamLab();
    const out = l.stream(STREAM);
    const c = collect(out);
    expect(c.text).toBe("I will look it up.");
    expect(c.roles).toEqual(["assistant"]);
    expect(c.toolCalls).toEqual([
      { id: "call_gen-7_0", name: "lookup", arguments: '{"query": "cats"}' },
      { id: "call_gen-7_1", name: "weather", arguments: '{"city": "Paris"}' },
    ]);
    expect(c.finish).toBe("tool_calls");
    expect(c.usage).toEqual({ prompt_tokens: 12, completion_tokens: 20, total_tokens: 32 });
    expect(c.done).toBe(true);
    // The first delta of each call carries id, type and name; later ones only argument text.
    const deltas = c.chunks.flatMap((x) => ((x.choices as Json[])[0]?.delta as Json | undefined)?.tool_calls ?? []) as Json[];
    expect(deltas[0]).toEqual({ index: 0, id: "call_gen-7_0", type: "function", function: { name: "lookup", arguments: "" } });
    expect(deltas[1]).toEqual({ index: 0, function: { arguments: '{"query": "ca' } });
    expect(deltas).toHaveLength(5);
    expect(l.streamState()).toMatchObject({ usage: [12, 20, 32], finished: true, failed: false });
  });

  it("gives the same output split at every byte", () => {
    const l = streamLab();
    const bytes = new TextEncoder().encode(STREAM.join(""));
    const whole = l.stream([bytes]);
    expect(splitMismatches(l, bytes, whole)).toEqual([]);
  });

  it("calls reported only by tool-calls-generation, or only in stream-end's response, are sent once, whole", () => {
    const start = ev({ is_finished: false, event_type: "stream-start", generation_id: "gen-7" });
    const gen = collect(streamLab().stream([start, ev({ is_finished: false, event_type: "tool-calls-generation", text: "Plan.", tool_calls: calls }), end()]));
    const whole = [
      { id: "call_gen-7_0", name: "lookup", arguments: '{"query":"cats"}' },
      { id: "call_gen-7_1", name: "weather", arguments: '{"city":"Paris"}' },
    ];
    expect(gen.text).toBe("Plan.");
    expect(gen.toolCalls).toEqual(whole);
    expect(gen.finish).toBe("tool_calls");
    const atEnd = collect(streamLab().stream([start, end()]));
    expect(atEnd.toolCalls).toEqual(whole);
    expect(atEnd.finish).toBe("tool_calls");
    const plain = collect(streamLab().stream([start, ev({ event_type: "text-generation", text: "hi" }), end({ response: { text: "hi", meta: {} } })]));
    expect(plain.toolCalls).toEqual([]);
    expect(plain.finish).toBe("stop");
  });

  it("ignores hostile indexes and ends with an error frame on a broken call", () => {
    const start = ev({ is_finished: false, event_type: "stream-start", generation_id: "g" });
    const odd = collect(streamLab().stream([start, chunk({ index: 1e12, name: "x" }), chunk({ index: -1, parameters: "{" }), chunk({ index: "0", name: "y" }), ev({ event_type: "tool-calls-chunk" }), ev({ event_type: "stream-end", finish_reason: "COMPLETE" })]));
    expect(odd.toolCalls).toEqual([]);
    expect(odd.errors).toEqual([]);
    const broken = collect(streamLab().stream([start, ev({ event_type: "tool-calls-generation", tool_calls: [{ name: "f", parameters: "x" }] })]));
    expect(broken.errors).toEqual([{ message: "upstream sent a bad tool call: tool_calls[0].parameters is not an object", type: "api_error", code: null }]);
  });
});

describe("cohere tools: the simulator checks requests as Cohere does", () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startCohere();
  });
  afterAll(async () => {
    await sim?.close();
  });
  const post = async (body: Json) => {
    const r = await fetch(`${sim.url}/v1/chat`, { method: "POST", headers: { authorization: `Bearer ${COHERE_DEFAULT_KEY}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as Json };
  };

  it("unknown fields are a 422 naming them; malformed tools and results a 400", async () => {
    expect(await post({ message: "x", tools: [{ ...COHERE_LOOKUP, strict: true }] })).toEqual({
      status: 422,
      body: { message: "unknown field: parameter 'strict' is not a valid field. For proper usage, please refer to https://docs.cohere.com/reference/chat" },
    });
    expect((await post({ message: "x", tool_choice: "auto" })).status).toBe(422);
    const typed = await post({ message: "x", tools: [{ name: "f", description: "", parameter_definitions: { a: { type: "string" } } }] });
    expect(typed).toEqual({ status: 400, body: { message: "invalid request: tools[0].parameter_definitions.a.type must be a valid Python type." } });
    expect((await post({ message: "x", tools: [{ name: "f", description: "", parameter_definitions: { a: { type: "Dict[str, List[int]]" } } }] })).status).toBe(200);
    const result = { call: { name: "lookup", parameters: {} }, outputs: [{ output: "r" }] };
    expect(await post({ message: "x", tools: [COHERE_LOOKUP], tool_results: [result] })).toEqual({
      status: 400,
      body: { message: "invalid request: cannot specify both message and tool_results in multistep mode" },
    });
    expect((await post({ message: "", tool_results: [result] })).status).toBe(400);
    expect((await post({ message: "", tools: [COHERE_LOOKUP], tool_results: [{ ...result, outputs: ["r"] }] })).status).toBe(400);
    expect((await post({ message: "x", chat_history: [{ role: "CHATBOT" }] })).body).toEqual({ message: "invalid request: all elements in history must have a message." });
  });
});

describe("cohere tools: the openai SDK through the gateway", () => {
  let sim: Simulator;
  let gw: RunningGateway;
  let client: OpenAI;

  beforeAll(async () => {
    sim = await startCohere({ pacing: { delayMs: 1, splitWrites: true } });
    gw = await providerGateway(sim.port, ["api.cohere.com"], () => ({ auth: { header_name: "Authorization", header_value: `Bearer ${COHERE_DEFAULT_KEY}` }, model: MODEL }), ["chat"]);
    client = openaiClient(gw.url);
  });
  afterAll(async () => {
    await gw?.close();
    await sim?.close();
  });

  const last = () => sim.requests.at(-1)!;
  const tools: OpenAI.Chat.ChatCompletionTool[] = [
    { type: "function", function: { name: "lookup", description: "look it up", parameters: { type: "object", properties: { query: { type: "string", description: "what to find" } }, required: ["query"] } } },
    { type: "function", function: { name: "weather", description: "weather by city", parameters: { type: "object", properties: { city: { type: "string" }, days: { type: "integer" } }, required: ["city", "days"] } } },
  ];

  it("round trip: a tool call, its result, the final answer", async () => {
    const question: OpenAI.Chat.ChatCompletionMessageParam = { role: "user", content: "please lookup cats" };
    const first = await client.chat.completions.create({ model: "command-r", messages: [{ role: "system", content: "be brief" }, question], tools });
    expect(last().body).toEqual({
      model: "command-r",
      message: "please lookup cats",
      preamble: "be brief",
      tools: [
        COHERE_LOOKUP,
        { name: "weather", description: "weather by city", parameter_definitions: { city: { type: "str", required: true }, days: { type: "int", required: true } } },
      ],
      stream: false,
    });
    const choice = first.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBe("I will use lookup.");
    expect(choice.message.tool_calls).toEqual([{ id: `call_${first.id}_0`, type: "function", function: { name: "lookup", arguments: '{"query":"please lookup cats"}' } }]);
    expect(first.usage).toEqual({ prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 });

    const tc = choice.message.tool_calls![0]! as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
    const second = await client.chat.completions.create({
      model: "command-r",
      messages: [{ role: "system", content: "be brief" }, question, choice.message, { role: "tool", tool_call_id: tc.id, content: "three cats: Tom, Felix, Kitty" }],
      tools,
    });
    expect(last().body).toMatchObject({
      message: "",
      chat_history: [
        { role: "USER", message: "please lookup cats" },
        { role: "CHATBOT", message: "I will use lookup.", tool_calls: [{ name: "lookup", parameters: { query: "please lookup cats" } }] },
      ],
      tool_results: [{ call: { name: "lookup", parameters: { query: "please lookup cats" } }, outputs: [{ output: "three cats: Tom, Felix, Kitty" }] }],
    });
    expect(second.choices[0]!.message.content).toBe("echo: three cats: Tom, Felix, Kitty");
    expect(second.choices[0]!.message.tool_calls).toBeUndefined();
    expect(second.choices[0]!.finish_reason).toBe("stop");
  });

  it("streaming two parallel calls, assembled by the SDK's stream helper", async () => {
    const runner = client.chat.completions.stream({
      model: "command-r",
      messages: [{ role: "user", content: "weather and lookup for Paris" }],
      tools,
      stream_options: { include_usage: true },
    });
    const final = await runner.finalChatCompletion();
    expect(last().body).toMatchObject({ message: "weather and lookup for Paris", stream: true });
    const msg = final.choices[0]!.message;
    expect(msg.content).toBe("I will use lookup and weather.");
    const id = final.id;
    expect(msg.tool_calls).toEqual([
      { id: `call_${id}_0`, type: "function", function: { name: "lookup", arguments: '{"query":"weather and lookup for Paris"}' } },
      { id: `call_${id}_1`, type: "function", function: { name: "weather", arguments: '{"city":"weather and lookup for Paris","days":5}' } },
    ]);
    expect(final.choices[0]!.finish_reason).toBe("tool_calls");
    expect(final.usage).toEqual({ prompt_tokens: 5, completion_tokens: 16, total_tokens: 21 });
  });

  it("streaming the answer to tool results", async () => {
    const stream = await client.chat.completions.create({
      model: "command-r",
      messages: [
        { role: "user", content: "weather Paris" },
        { role: "assistant", content: null, tool_calls: [{ id: "c9", type: "function", function: { name: "weather", arguments: '{"city":"Paris","days":1}' } }] },
        { role: "tool", tool_call_id: "c9", content: '{"sky": "clear", "temp": 21}' },
      ],
      tools,
      stream: true,
    });
    let text = "";
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      expect(chunk.choices[0]?.delta.tool_calls).toBeUndefined();
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(last().body).toMatchObject({ message: "", tool_results: [{ call: { name: "weather", parameters: { city: "Paris", days: 1 } }, outputs: [{ sky: "clear", temp: 21 }] }] });
    expect(text).toBe("echo: clear 21");
    expect(finish).toBe("stop");
  });

  it("a schema Cohere cannot express is a 400 from the gateway that names it; nothing goes upstream", async () => {
    const n = sim.requests.length;
    const err = (await client.chat.completions
      .create({
        model: "command-r",
        messages: [{ role: "user", content: "x" }],
        tools: [{ type: "function", function: { name: "order", parameters: { type: "object", properties: { item: { type: "object", properties: { sku: { type: "string" } } } } } } }],
      })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err.error as Json).message).toBe(
      "error transforming to cohere://llm/v1/chat: tools[0].function.parameters.properties.item: nested object properties cannot be expressed in Cohere parameter_definitions (make them top-level parameters)",
    );
    expect(sim.requests.length).toBe(n);
  });
});
