// The gemini provider (lib/llm/providers/gemini.ts, gemini-response.ts): OpenAI → Gemini
// generateContent / batchEmbedContents translation, the always-streamed upstream answer
// aggregated for non-stream clients or translated chunk by chunk, Google's errors in the OpenAI
// shape; first through the llm-providers test module, then with the openai SDK through the
// gateway in front of the Gemini simulator.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GEMINI_DEFAULT_KEY, embedding, startGemini, type Simulator } from "./simulators/index.ts";
import type { RunningGateway } from "./support/gateway.ts";
import { buildModules, collect, Lab, providerGateway, splitMismatches, type Json } from "./ai-proxy-providers-support.ts";
import { proxyGateway } from "./ai-proxy-harness.ts";
import { openaiClient } from "./support/client.ts";

beforeAll(() => buildModules(), 300_000);

const MODEL = { provider: "gemini", name: "gemini-2.0-flash" };
const EMBED_MODEL = { provider: "gemini", name: "gemini-embedding-001" };
const HOST = "generativelanguage.googleapis.com";

function chatLab(model: Json = MODEL): Lab {
  const lab = new Lab();
  expect(lab.configure("llm/v1/chat", model).ok).toBe(true);
  return lab;
}

/** A Gemini SSE body: one `data:` event per chunk, framed with `eol`. */
function sse(chunks: Json[], eol = "\r\n"): string {
  return chunks.map((c) => `data: ${JSON.stringify(c)}${eol}${eol}`).join("");
}

const meta = { modelVersion: "gemini-2.0-flash-001", responseId: "resp-1" };
const textChunk = (text: string, extra: Json = {}) => ({ candidates: [{ content: { parts: [{ text }], role: "model" }, index: 0, ...extra }], ...meta });
const STREAM = [
  { ...textChunk("Hello"), usageMetadata: { promptTokenCount: 4, totalTokenCount: 4 } },
  { ...textChunk(" there"), usageMetadata: { promptTokenCount: 4, totalTokenCount: 4 } },
  { ...textChunk(" é 日本 😀", { finishReason: "STOP" }), usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 5, totalTokenCount: 9 } },
];

describe("gemini: configuration", () => {
  it("targets :streamGenerateContent?alt=sse and :batchEmbedContents on generativelanguage.googleapis.com", () => {
    const lab = new Lab();
    expect(lab.configure("llm/v1/chat", MODEL).value).toEqual({ authority: HOST, path: "/v1beta/models/gemini-2.0-flash:streamGenerateContent", query: [["alt", "sse"]], headers: [] });
    expect(lab.reportsUsage()).toBe(true);
    expect(lab.configure("llm/v1/embeddings", EMBED_MODEL).value).toMatchObject({ path: "/v1beta/models/gemini-embedding-001:batchEmbedContents", query: [] });
    expect(lab.configure("llm/v1/chat", { ...MODEL, name: "models/gemini-1.5-pro-002" }).value.path).toBe("/v1beta/models/gemini-1.5-pro-002:streamGenerateContent");
    expect(lab.configure("preserve", MODEL).value).toMatchObject({ authority: HOST, path: "" });
  });

  it.each([
    ["no model.name", "llm/v1/chat", { provider: "gemini" }, "model.name is required for provider gemini"],
    ["a templated model.name", "llm/v1/chat", { provider: "gemini", name: "$(headers.x-model)" }, "model.name cannot be a template for provider gemini"],
    ["a name that is not a path segment", "llm/v1/chat", { provider: "gemini", name: "gemini/../x" }, "is not a Gemini model id"],
    ["completions", "llm/v1/completions", MODEL, "route_type llm/v1/completions is not supported by provider gemini"],
  ])("refuses %s", (_n, route, model, message) => {
    const r = new Lab().configure(route, model);
    expect(r.ok).toBe(false);
    expect(r.text).toContain(message);
  });

  it.each([
    ["Vertex AI options", { model: { ...MODEL, options: { gemini: { api_endpoint: "us-central1-aiplatform.googleapis.com", project_id: "p", location_id: "us-central1" } } } }, "field 'model.options.gemini' is not supported"],
    ["a GCP service account", { model: MODEL, auth: { gcp_use_service_account: true } }, "field 'auth.gcp_use_service_account' is not supported"],
    ["no model.name", { model: { provider: "gemini" } }, "model.name is required for provider gemini"],
    ["completions", { model: MODEL, route_type: "llm/v1/completions" }, "not supported by provider gemini"],
  ])("the filter refuses %s at load", async (_n, extra, message) => {
    await expect(proxyGateway({ route_type: "llm/v1/chat", auth: { header_name: "x-goog-api-key", header_value: "k" }, ...extra }, 9)).rejects.toThrow(message);
  });
});

describe("gemini: request translation", () => {
  it("puts system/developer messages in systemInstruction and maps roles, merging same-role turns", () => {
    const r = chatLab().request({
      model: "gemini-2.0-flash",
      messages: [
        { role: "system", content: "be brief" },
        { role: "developer", content: [{ type: "text", text: "answer in French" }] },
        { role: "user", content: "hi" },
        { role: "user", content: [{ type: "text", text: "there" }] },
        { role: "assistant", content: "bonjour" },
        { role: "user", content: "again" },
      ],
      stream: true,
    });
    expect(r.ok).toBe(true);
    expect(r.value).toEqual({
      contents: [
        { role: "user", parts: [{ text: "hi" }, { text: "there" }] },
        { role: "model", parts: [{ text: "bonjour" }] },
        { role: "user", parts: [{ text: "again" }] },
      ],
      systemInstruction: { parts: [{ text: "be brief" }, { text: "answer in French" }] },
    });
  });

  it("maps the tuning fields into generationConfig", () => {
    const r = chatLab().request({
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 64,
      temperature: 0.5,
      top_p: 0.9,
      top_k: 40,
      stop: "END",
      presence_penalty: 0.1,
      frequency_penalty: -0.2,
      seed: 7,
      response_format: { type: "json_object" },
      n: 1,
      user: "u-1",
    });
    expect(r.value).toEqual({
      contents: [{ role: "user", parts: [{ text: "hi" }] }],
      generationConfig: { maxOutputTokens: 64, temperature: 0.5, topP: 0.9, topK: 40, stopSequences: ["END"], presencePenalty: 0.1, frequencyPenalty: -0.2, seed: 7, responseMimeType: "application/json" },
    });
    const schema = { type: "object", properties: { a: { type: "string" } }, required: ["a"], additionalProperties: false };
    const js = chatLab().request({ messages: [{ role: "user", content: "hi" }], response_format: { type: "json_schema", json_schema: { name: "x", schema, strict: true } } });
    expect(js.value.generationConfig).toEqual({ responseMimeType: "application/json", responseJsonSchema: schema });
    const cfg = chatLab({ ...MODEL, options: { max_tokens: 256, temperature: 0.2 } }).request({ messages: [{ role: "user", content: "hi" }], max_completion_tokens: 9 });
    expect(cfg.value.generationConfig).toEqual({ maxOutputTokens: 9, temperature: 0.2 });
    expect(chatLab().request({ messages: [{ role: "user", content: "hi" }] }).value).not.toHaveProperty("generationConfig");
  });

  it("translates images, audio and files into inlineData / fileData", () => {
    const r = chatLab().request({
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "what is this" },
            { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
            { type: "image_url", image_url: { url: "https://example.com/cat.JPG?size=2", detail: "low" } },
            { type: "image_url", image_url: { url: "https://example.com/picture" } },
            { type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } },
            { type: "file", file: { file_data: "data:application/pdf;base64,JVBERi0=", filename: "a.pdf" } },
          ],
        },
      ],
    });
    expect((r.value.contents as Json[])[0]).toEqual({
      role: "user",
      parts: [
        { text: "what is this" },
        { inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } },
        { fileData: { mimeType: "image/jpeg", fileUri: "https://example.com/cat.JPG?size=2" } },
        { fileData: { fileUri: "https://example.com/picture" } },
        { inlineData: { mimeType: "audio/wav", data: "UklGRg==" } },
        { inlineData: { mimeType: "application/pdf", data: "JVBERi0=" } },
      ],
    });
  });

  it("translates tools, tool_choice, calls and results (named from the call, merged into one turn)", () => {
    const params = { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false };
    const r = chatLab().request({
      messages: [
        { role: "user", content: "weather in Paris and Rome?" },
        {
          role: "assistant",
          content: "checking",
          tool_calls: [
            { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
            { id: "call_2", type: "function", function: { name: "get_time", arguments: '{"city":"Rome","n":[1,2.5,{"deep":true}]}' } },
          ],
        },
        { role: "tool", tool_call_id: "call_1", content: "sunny" },
        { role: "tool", tool_call_id: "call_2", content: '{"time": "12:00"}' },
      ],
      tools: [
        { type: "function", function: { name: "get_weather", description: "weather now", parameters: params, strict: true } },
        { type: "function", function: { name: "get_time" } },
      ],
      tool_choice: "required",
      parallel_tool_calls: true,
    });
    expect(r.ok).toBe(true);
    expect(r.value.contents).toEqual([
      { role: "user", parts: [{ text: "weather in Paris and Rome?" }] },
      {
        role: "model",
        parts: [
          { text: "checking" },
          { functionCall: { name: "get_weather", args: { city: "Paris" } } },
          { functionCall: { name: "get_time", args: { city: "Rome", n: [1, 2.5, { deep: true }] } } },
        ],
      },
      {
        role: "user",
        parts: [{ functionResponse: { name: "get_weather", response: { output: "sunny" } } }, { functionResponse: { name: "get_time", response: { time: "12:00" } } }],
      },
    ]);
    expect(r.value.tools).toEqual([
      { functionDeclarations: [{ name: "get_weather", description: "weather now", parametersJsonSchema: params }, { name: "get_time" }] },
    ]);
    expect(r.value.toolConfig).toEqual({ functionCallingConfig: { mode: "ANY" } });
  });

  it("sends a tool call's extra_content.google.thought_signature back as its part's thoughtSignature", () => {
    const r = chatLab().request({
      messages: [
        { role: "user", content: "x" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "c1", type: "function", function: { name: "f", arguments: "{}" }, extra_content: { google: { thought_signature: "c2lnLTE=" } } },
            { id: "c2", type: "function", function: { name: "f", arguments: "{}" } },
          ],
        },
        { role: "tool", tool_call_id: "c1", content: "a" },
        { role: "tool", tool_call_id: "c2", content: "b" },
      ],
    });
    expect((r.value.contents as Json[])[1]).toEqual({
      role: "model",
      parts: [{ functionCall: { name: "f", args: {} }, thoughtSignature: "c2lnLTE=" }, { functionCall: { name: "f", args: {} } }],
    });
  });

  it("maps tool_choice values and the legacy function role", () => {
    const base = { messages: [{ role: "user", content: "x" }], tools: [{ type: "function", function: { name: "f" } }] };
    const choice = (tc: unknown) => chatLab().request({ ...base, tool_choice: tc }).value.toolConfig;
    expect(choice("auto")).toEqual({ functionCallingConfig: { mode: "AUTO" } });
    expect(choice("none")).toEqual({ functionCallingConfig: { mode: "NONE" } });
    expect(choice({ type: "function", function: { name: "f" } })).toEqual({ functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["f"] } });
    expect(chatLab().request(base).value).not.toHaveProperty("toolConfig");
    const fn = chatLab().request({ messages: [{ role: "user", content: "x" }, { role: "function", name: "f", content: "42" }] });
    expect((fn.value.contents as Json[])[0]).toEqual({ role: "user", parts: [{ text: "x" }, { functionResponse: { name: "f", response: { output: "42" } } }] });
  });

  it("refuses what Gemini cannot take, saying what is wrong", () => {
    const lab = chatLab();
    const bad = (body: Json) => lab.request(body).text;
    expect(bad({ messages: [{ role: "user", content: [{ type: "video_url", video_url: "x" }] }] })).toBe("messages[0].content[0]: content part type 'video_url' is not supported by provider gemini");
    expect(bad({ messages: [{ role: "user", content: [{ type: "file", file: { file_id: "file-1" } }] }] })).toContain("file_id is not supported");
    expect(bad({ messages: [{ role: "tool", tool_call_id: "nope", content: "x" }] })).toBe(
      "messages[0].tool_call_id 'nope' matches no tool call of an assistant message (Gemini needs the function name)",
    );
    expect(bad({ messages: [{ role: "assistant", content: null, tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "[1]" } }] }] })).toBe(
      "messages[0].tool_calls[0].function.arguments must be a JSON object",
    );
    expect(bad({ messages: [{ role: "system", content: "only a system prompt" }] })).toBe("provider gemini needs at least one user or assistant message");
    expect(bad({ messages: [{ role: "user", content: "x" }], tools: [{ type: "code_interpreter" }] })).toContain("only function tools");
    expect(bad({ messages: [{ role: "user", content: "x" }], tools: [{ type: "function", function: { name: "f" } }], tool_choice: "sometimes" })).toContain("is not one of none, auto, required");
    expect(bad({ messages: [{ role: "user", content: "x" }], seed: 1.5 })).toBe("'seed' must be a 32-bit integer for provider gemini");
    expect(bad({ messages: [{ role: "user", content: "x" }], response_format: { type: "yaml" } })).toContain("response_format.type 'yaml'");
    const old = chatLab({ ...MODEL, name: "gemini-1.0-pro" });
    expect(old.request({ messages: [{ role: "system", content: "s" }, { role: "user", content: "x" }] }).text).toBe("system prompts aren't supported on gemini-1.0 models");
  });

  it("embeddings: one batchEmbedContents request per input, naming the model", () => {
    const lab = new Lab();
    lab.configure("llm/v1/embeddings", EMBED_MODEL);
    expect(lab.request({ input: ["one", "two"], dimensions: 4 }).value).toEqual({
      requests: [
        { model: "models/gemini-embedding-001", content: { parts: [{ text: "one" }] }, outputDimensionality: 4 },
        { model: "models/gemini-embedding-001", content: { parts: [{ text: "two" }] }, outputDimensionality: 4 },
      ],
    });
    expect(lab.request({ input: "solo" }).value).toEqual({ requests: [{ model: "models/gemini-embedding-001", content: { parts: [{ text: "solo" }] } }] });
    expect(lab.request({ input: [[1, 2, 3]] }).text).toBe("provider gemini takes 'input' as a string or an array of strings");
    expect(lab.request({ input: "x", dimensions: 0 }).text).toBe("'dimensions' must be a positive integer");
  });
});

describe("gemini: the aggregated answer (non-stream clients)", () => {
  function answer(body: string | Json | unknown[]) {
    const lab = chatLab();
    lab.request({ messages: [{ role: "user", content: "hi" }] });
    return { lab, r: lab.response(body) };
  }

  it.each([
    ["CRLF", "\r\n"],
    ["LF", "\n"],
  ])("joins a %s-framed SSE body into one chat.completion with usage and model", (_n, eol) => {
    const { lab, r } = answer(sse(STREAM, eol));
    expect(r.value).toEqual({
      id: "resp-1",
      object: "chat.completion",
      created: 1735689600,
      model: "gemini-2.0-flash-001",
      choices: [{ index: 0, message: { role: "assistant", content: "Hello there é 日本 😀" }, finish_reason: "stop", logprobs: null }],
      usage: { prompt_tokens: 4, completion_tokens: 5, total_tokens: 9 },
    });
    expect(lab.responseState()).toEqual({ usage: [4, 5, 9], model: "gemini-2.0-flash-001" });
  });

  it("also reads one generateContent object and the JSON array streamGenerateContent sends without alt=sse", () => {
    expect(answer({ ...STREAM[2] }).r.value.choices).toEqual([{ index: 0, message: { role: "assistant", content: " é 日本 😀" }, finish_reason: "stop", logprobs: null }]);
    const arr = answer(STREAM).r.value;
    expect((arr.choices as Json[])[0]).toMatchObject({ message: { content: "Hello there é 日本 😀" } });
    expect(arr.usage).toEqual({ prompt_tokens: 4, completion_tokens: 5, total_tokens: 9 });
  });

  it("turns functionCall parts into tool_calls, skips thoughts, counts thinking and tool-use tokens", () => {
    const body = sse([
      {
        candidates: [
          {
            content: {
              role: "model",
              parts: [
                { text: "thinking about it", thought: true },
                { text: "Let me check." },
                { functionCall: { name: "get_weather", args: { city: "Paris", days: 2 } }, thoughtSignature: "c2ln" },
                { functionCall: { id: "fc-7", name: "noop" } },
              ],
            },
            finishReason: "STOP",
            index: 0,
          },
        ],
        usageMetadata: { promptTokenCount: 10, toolUsePromptTokenCount: 2, candidatesTokenCount: 6, thoughtsTokenCount: 20, totalTokenCount: 38 },
        ...meta,
      },
    ]);
    const { r } = answer(body);
    const choice = (r.value.choices as Json[])[0] as { message: { content: string; tool_calls: Json[] }; finish_reason: string };
    expect(choice.message.content).toBe("Let me check.");
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.tool_calls).toHaveLength(2);
    expect(choice.message.tool_calls[0]).toMatchObject({ type: "function", function: { name: "get_weather", arguments: '{"city":"Paris","days":2}' }, extra_content: { google: { thought_signature: "c2ln" } } });
    expect(String(choice.message.tool_calls[0].id)).toMatch(/^call_[0-9a-f]{24}$/);
    expect(choice.message.tool_calls[1]).toEqual({ id: "fc-7", type: "function", function: { name: "noop", arguments: "{}" } });
    expect(r.value.usage).toEqual({ prompt_tokens: 12, completion_tokens: 26, total_tokens: 38 });
  });

  it.each([
    ["STOP", "stop"],
    ["MAX_TOKENS", "length"],
    ["SAFETY", "content_filter"],
    ["RECITATION", "content_filter"],
    ["PROHIBITED_CONTENT", "content_filter"],
    ["MALFORMED_FUNCTION_CALL", "malformed_function_call"],
  ])("maps finishReason %s to %s", (reason, finish) => {
    expect(((answer(sse([textChunk("x", { finishReason: reason })])).r.value.choices as Json[])[0] as Json).finish_reason).toBe(finish);
  });

  it("fails with Kong's message when no candidate came (a blocked prompt), and on errors and garbage", () => {
    const blocked = answer(sse([{ promptFeedback: { blockReason: "SAFETY" }, usageMetadata: { promptTokenCount: 3, totalTokenCount: 3 }, ...meta }]));
    expect(blocked.r.ok).toBe(false);
    expect(blocked.r.text).toBe("transformation failed from type gemini://llm/v1/chat: no generation candidates received from Gemini, or max_tokens too short (prompt blocked: SAFETY)");
    const err = answer(sse([textChunk("a"), { error: { code: 503, message: "The model is overloaded.", status: "UNAVAILABLE" } }]));
    expect(err.r.text).toBe("transformation failed from type gemini://llm/v1/chat: The model is overloaded.");
    expect(answer("").r.ok).toBe(false);
    expect(answer("data: {oops\r\n\r\n").r.text).toMatch(/^transformation failed from type gemini:\/\/llm\/v1\/chat: invalid stream event/);
    expect(answer("<html>").r.ok).toBe(false);
    expect(answer("[1, 2").r.ok).toBe(false);
    // Wrong types and absurd numbers are skipped, never a trap.
    const odd = answer(sse([{ candidates: [{ content: { parts: [1, null, { text: 5 }, { functionCall: { name: 3, args: [] } }] }, finishReason: 7 }], usageMetadata: { promptTokenCount: 1e300, candidatesTokenCount: "2" } }]));
    expect(odd.r.ok).toBe(true);
    expect(((odd.r.value.choices as Json[])[0] as Json).message).toMatchObject({ role: "assistant", content: null, tool_calls: [{ type: "function", function: { name: "", arguments: "{}" } }] });
  });

  it("embeddings: the vectors, as floats or base64 float32", () => {
    const lab = new Lab();
    lab.configure("llm/v1/embeddings", EMBED_MODEL);
    lab.request({ input: ["a", "b"] });
    const body = '{"embeddings": [{"values": [0.5, -0.25, 1e-3]}, {"values": [1, 0]}]}';
    expect(lab.response(body).value).toEqual({
      object: "list",
      data: [
        { object: "embedding", index: 0, embedding: [0.5, -0.25, 1e-3] },
        { object: "embedding", index: 1, embedding: [1, 0] },
      ],
      model: "gemini-embedding-001",
      usage: { prompt_tokens: 0, total_tokens: 0 },
    });
    lab.request({ input: "a", encoding_format: "base64" });
    const b64 = lab.response('{"embedding": {"values": [0.5, -0.25]}}').value;
    expect((b64.data as Json[])[0].embedding).toBe(Buffer.from(new Float32Array([0.5, -0.25]).buffer).toString("base64"));
    expect(lab.response('{"embeddings": [{"value": []}]}').text).toContain("an embedding has no 'values'");
    expect(lab.response('{"embeddings": [{"values": ["x"]}]}').text).toContain("not an array of numbers");
    expect(lab.response("{}").text).toContain("'embeddings' not in gemini://llm/v1/embeddings response");
    expect(lab.response("[").ok).toBe(false);
  });
});

describe("gemini: errors", () => {
  it("keeps Google's message, with its status name as the code", () => {
    const lab = chatLab();
    const key = { error: { code: 400, message: "API key not valid. Please pass a valid API key.", status: "INVALID_ARGUMENT", details: [{ reason: "API_KEY_INVALID" }] } };
    expect(lab.error(400, JSON.stringify(key))).toEqual({ error: { message: "API key not valid. Please pass a valid API key.", type: "invalid_request_error", code: "INVALID_ARGUMENT" } });
    const quota = { error: { code: 429, message: "Resource has been exhausted (e.g. check quota).", status: "RESOURCE_EXHAUSTED" } };
    expect(lab.error(429, JSON.stringify([quota]))).toEqual({ error: { message: "Resource has been exhausted (e.g. check quota).", type: "rate_limit_error", code: "RESOURCE_EXHAUSTED" } });
  });

  it("turns non-JSON and empty bodies into the OpenAI shape", () => {
    const lab = chatLab();
    expect(lab.error(502, "<html><body>Bad Gateway</body></html>").error).toMatchObject({ type: "api_error" });
    expect(lab.error(500, "").error).toEqual({ message: "upstream returned status 500", type: "api_error", code: null });
    expect(lab.error(404, "[]").error.type).toBe("not_found_error");
  });
});

describe("gemini: streams", () => {
  function streamLab(body: Json = { messages: [{ role: "user", content: "hi" }], stream: true }): Lab {
    const lab = chatLab();
    lab.request(body);
    return lab;
  }

  it("translates text chunks, then the finish chunk and (when asked) the usage chunk", () => {
    const lab = streamLab({ messages: [{ role: "user", content: "hi" }], stream: true, stream_options: { include_usage: true } });
    const c = collect(lab.stream([sse(STREAM)]));
    expect(c.text).toBe("Hello there é 日本 😀");
    expect(c.roles).toEqual(["assistant"]);
    expect(c.finish).toBe("stop");
    expect(c.usage).toEqual({ prompt_tokens: 4, completion_tokens: 5, total_tokens: 9 });
    expect(c.done).toBe(true);
    expect(c.errors).toEqual([]);
    expect(c.chunks.every((x) => x.object === "chat.completion.chunk" && x.id === "resp-1" && x.model === "gemini-2.0-flash-001")).toBe(true);
    expect(lab.streamState()).toEqual({ usage: [4, 5, 9], model: "gemini-2.0-flash-001", finished: true, failed: false, text: "Hello there é 日本 😀" });
    const plain = collect(streamLab().stream([sse(STREAM)]));
    expect(plain.usage).toBeNull();
    expect(plain.chunks.every((x) => (x.choices as Json[]).length === 1)).toBe(true);
  });

  it("streams function calls with their index, id, name and arguments", () => {
    const chunk = { candidates: [{ content: { role: "model", parts: [{ functionCall: { name: "a", args: { q: 1 } }, thoughtSignature: "c2ln" }, { functionCall: { name: "b", args: {} } }] }, finishReason: "STOP" }], ...meta };
    const out = streamLab().stream([sse([chunk])]);
    const c = collect(out);
    const deltas = c.chunks.flatMap((x) => ((x.choices as Json[])[0]!.delta as Json).tool_calls ?? []) as Json[];
    expect(deltas[0]).toMatchObject({ index: 0, type: "function", extra_content: { google: { thought_signature: "c2ln" } } });
    expect(deltas[1]).not.toHaveProperty("extra_content");
    expect(c.toolCalls.map((t) => ({ name: t.name, arguments: t.arguments }))).toEqual([
      { name: "a", arguments: '{"q":1}' },
      { name: "b", arguments: "{}" },
    ]);
    expect(c.toolCalls.every((t) => /^call_/.test(t.id))).toBe(true);
    expect(c.finish).toBe("tool_calls");
  });

  it.each([
    ["CRLF", "\r\n"],
    ["LF", "\n"],
  ])("gives the same output for a %s stream split at every byte", (_n, eol) => {
    const bytes = new Uint8Array(Buffer.from(sse(STREAM, eol)));
    const lab = streamLab();
    const whole = lab.stream([bytes]);
    expect(whole.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(collect(whole).text).toBe("Hello there é 日本 😀");
    expect(splitMismatches(lab, bytes, whole)).toEqual([]);
  });

  it("ends with an error frame on an error event, a bad event, or no candidate at all", () => {
    const lab = streamLab();
    const c = collect(lab.stream([sse([textChunk("a")]), sse([{ error: { code: 500, message: "An internal error has occurred.", status: "INTERNAL" } }]), sse([textChunk("b")])]));
    expect(c.text).toBe("a");
    expect(c.errors).toEqual([{ message: "An internal error has occurred.", type: "api_error", code: null }]);
    expect(c.done).toBe(false);
    expect(lab.streamState()).toMatchObject({ failed: true, finished: true });
    expect(collect(streamLab().stream(["data: {oops\r\n\r\n"])).errors[0]?.message).toMatch(/^upstream sent an invalid stream event/);
    const blocked = collect(streamLab().stream([sse([{ promptFeedback: { blockReason: "PROHIBITED_CONTENT" }, ...meta }])]));
    expect(blocked.errors[0]?.message).toBe("no generation candidates received from Gemini, or max_tokens too short (prompt blocked: PROHIBITED_CONTENT)");
  });

  it("survives hostile events without trapping", () => {
    const junk = [
      Uint8Array.from([0xff, 0xfe, 0x0a, 0x0a]),
      "data: " + "[".repeat(5000) + "\n\n",
      'data: {"candidates": 5}\n\n',
      'data: {"candidates": [null, {"content": {"parts": [{"text": "x"}]}}]}\n\n',
      'data: {"candidates": [{"content": {"parts": {"text": "x"}}}]}\n\n',
      'data: {"candidates": [{"content": {"parts": [{"functionCall": {"name": null, "args": "x"}}]}}]}\n\n',
      'data: {"usageMetadata": {"promptTokenCount": -1e300, "totalTokenCount": 1e300}}\n\n',
      'data: {"error": "flat"}\n\n',
      'data: {"candidates": [{"content": {"parts": [{"text": "\\ud800"}]}}]}\n\n',
      "data: [DONE]\n\n",
    ];
    for (const j of junk) expect(() => streamLab().stream([j, ""])).not.toThrow();
    expect(() => streamLab().stream(junk)).not.toThrow();
  });
});

describe("gemini: the openai SDK through the gateway", () => {
  let sim: Simulator;
  let lfSim: Simulator;
  let gw: RunningGateway;
  let queryGw: RunningGateway;
  let lfGw: RunningGateway;
  let badGw: RunningGateway;
  let g3Gw: RunningGateway;
  let client: OpenAI;

  const model = (kind: string) => (kind === "embeddings" ? EMBED_MODEL : MODEL);
  const headerAuth = (key: string) => (kind: string) => ({ auth: { header_name: "x-goog-api-key", header_value: key }, model: model(kind), logging: { log_statistics: true } });

  beforeAll(async () => {
    sim = await startGemini({ pacing: { delayMs: 1, splitWrites: true } });
    lfSim = await startGemini({ lineEnding: "\n" });
    gw = await providerGateway(sim.port, [HOST], headerAuth(GEMINI_DEFAULT_KEY), ["chat", "embeddings"]);
    queryGw = await providerGateway(sim.port, [HOST], (kind) => ({ auth: { param_name: "key", param_value: GEMINI_DEFAULT_KEY, param_location: "query" }, model: model(kind) }), ["chat"]);
    lfGw = await providerGateway(lfSim.port, [HOST], headerAuth(GEMINI_DEFAULT_KEY), ["chat"]);
    badGw = await providerGateway(sim.port, [HOST], headerAuth("wrong-key"), ["chat"]);
    g3Gw = await providerGateway(sim.port, [HOST], () => ({ auth: { header_name: "x-goog-api-key", header_value: GEMINI_DEFAULT_KEY }, model: { provider: "gemini", name: "gemini-3-flash-preview" } }), ["chat"]);
    client = openaiClient(gw.url);
  });
  afterAll(async () => {
    for (const g of [gw, queryGw, lfGw, badGw, g3Gw]) await g?.close();
    await sim?.close();
    await lfSim?.close();
  });

  const last = () => sim.requests.at(-1)!;

  it("chat: the request Gemini gets, and one chat.completion for a non-stream client", async () => {
    const r = await client.chat.completions.create({
      model: "gemini-2.0-flash",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "hello there" },
      ],
      temperature: 0.2,
    });
    const got = last();
    expect(got.path).toBe("/v1beta/models/gemini-2.0-flash:streamGenerateContent");
    expect(got.query.get("alt")).toBe("sse");
    expect(got.headers["x-goog-api-key"]).toBe(GEMINI_DEFAULT_KEY);
    expect(got.headers["authorization"]).toBeUndefined();
    expect(got.body).toEqual({
      contents: [{ role: "user", parts: [{ text: "hello there" }] }],
      systemInstruction: { parts: [{ text: "be brief" }] },
      generationConfig: { temperature: 0.2 },
    });
    expect(r.object).toBe("chat.completion");
    expect(r.model).toBe("gemini-2.0-flash-001");
    expect(r.choices[0]!.message.content).toBe("echo: hello there");
    expect(r.choices[0]!.finish_reason).toBe("stop");
    expect(r.usage).toEqual({ prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 });
  });

  it("the aggregated answer is JSON with the model header", async () => {
    const r = await client.chat.completions.create({ model: "gemini-2.0-flash", messages: [{ role: "user", content: "x" }] }).withResponse();
    expect(r.response.headers.get("content-type")).toBe("application/json");
    expect(r.response.headers.get("x-ai-gateway-llm-model")).toBe("gemini/gemini-2.0-flash");
  });

  it("max_tokens cuts the answer: finish_reason length", async () => {
    const r = await client.chat.completions.create({ model: "gemini-2.0-flash", messages: [{ role: "user", content: "one two three four" }], max_tokens: 2 });
    expect(last().body).toMatchObject({ generationConfig: { maxOutputTokens: 2 } });
    expect(r.choices[0]!.message.content).toBe("echo: one");
    expect(r.choices[0]!.finish_reason).toBe("length");
  });

  it("streaming chat: deltas, finish_reason and usage", async () => {
    const stream = await client.chat.completions.create({
      model: "gemini-2.0-flash",
      messages: [{ role: "user", content: "stream these words é 日本 😀" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(last().path).toBe("/v1beta/models/gemini-2.0-flash:streamGenerateContent");
    expect(last().body).not.toHaveProperty("stream");
    expect(text).toBe("echo: stream these words é 日本 😀");
    expect(chunks).toBeGreaterThan(3);
    expect(finish).toBe("stop");
    expect(usage).toEqual({ prompt_tokens: 6, completion_tokens: 7, total_tokens: 13 });
  });

  it("a tool call and its result, round trip (parallel calls answered in one turn)", async () => {
    const tools: OpenAI.Chat.ChatCompletionTool[] = [
      { type: "function", function: { name: "lookup", description: "look it up", parameters: { type: "object", properties: { query: { type: "string" } }, additionalProperties: false } } },
      { type: "function", function: { name: "count" } },
    ];
    const first = await client.chat.completions.create({ model: "gemini-2.0-flash", messages: [{ role: "user", content: "find cats in parallel" }], tools });
    const calls = first.choices[0]!.message.tool_calls! as OpenAI.Chat.ChatCompletionMessageFunctionToolCall[];
    expect(first.choices[0]!.finish_reason).toBe("tool_calls");
    expect(calls.map((c) => c.function.name)).toEqual(["lookup", "count"]);
    expect(JSON.parse(calls[0]!.function.arguments)).toEqual({ query: "find cats in parallel" });
    expect((last().body as Json).tools).toEqual([
      { functionDeclarations: [{ name: "lookup", description: "look it up", parametersJsonSchema: { type: "object", properties: { query: { type: "string" } }, additionalProperties: false } }, { name: "count" }] },
    ]);

    const second = await client.chat.completions.create({
      model: "gemini-2.0-flash",
      messages: [
        { role: "user", content: "find cats in parallel" },
        first.choices[0]!.message,
        { role: "tool", tool_call_id: calls[0]!.id, content: "three cats" },
        { role: "tool", tool_call_id: calls[1]!.id, content: "3" },
      ],
      tools,
    });
    const sent = (last().body as Json).contents as Json[];
    expect(sent[1]).toEqual({ role: "model", parts: [{ functionCall: { name: "lookup", args: { query: "find cats in parallel" } } }, { functionCall: { name: "count", args: { query: "find cats in parallel" } } }] });
    expect(sent[2]).toEqual({ role: "user", parts: [{ functionResponse: { name: "lookup", response: { output: "three cats" } } }, { functionResponse: { name: "count", response: { output: "3" } } }] });
    expect(second.choices[0]!.message.content).toBe("echo: three cats 3");
  });

  it("Gemini 3: the thought signature survives the round trip through the SDK; without it Google's 400 comes through", async () => {
    const g3 = openaiClient(g3Gw.url);
    const tools: OpenAI.Chat.ChatCompletionTool[] = [{ type: "function", function: { name: "lookup" } }];
    const first = await g3.chat.completions.create({ model: "gemini-3-flash-preview", messages: [{ role: "user", content: "find owls" }], tools });
    const msg = first.choices[0]!.message;
    const call = msg.tool_calls![0]! as OpenAI.Chat.ChatCompletionMessageFunctionToolCall & { extra_content?: { google?: { thought_signature?: string } } };
    const sig = call.extra_content?.google?.thought_signature;
    expect(sig).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const history = (m: unknown): OpenAI.Chat.ChatCompletionMessageParam[] => [
      { role: "user", content: "find owls" },
      m as OpenAI.Chat.ChatCompletionMessageParam,
      { role: "tool", tool_call_id: call.id, content: "two owls" },
    ];
    const second = await g3.chat.completions.create({ model: "gemini-3-flash-preview", messages: history(msg), tools });
    expect(((last().body as Json).contents as Json[])[1]).toEqual({ role: "model", parts: [{ functionCall: { name: "lookup", args: { query: "find owls" } }, thoughtSignature: sig }] });
    expect(second.choices[0]!.message.content).toBe("echo: two owls");
    const stripped = { role: "assistant", content: null, tool_calls: [{ id: call.id, type: "function", function: call.function }] };
    const err = (await g3.chat.completions.create({ model: "gemini-3-flash-preview", messages: history(stripped), tools }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(400);
    expect(err.error).toMatchObject({ type: "invalid_request_error", code: "INVALID_ARGUMENT" });
    expect(err.message).toContain("Function call is missing a thought_signature");
  });

  it("streaming a tool call", async () => {
    const stream = await client.chat.completions.create({
      model: "gemini-2.0-flash",
      messages: [{ role: "user", content: "find dogs" }],
      tools: [{ type: "function", function: { name: "lookup" } }],
      tool_choice: { type: "function", function: { name: "lookup" } },
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
    expect((last().body as Json).toolConfig).toEqual({ functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["lookup"] } });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.id).toMatch(/^call_/);
    expect(calls[0]!.name).toBe("lookup");
    expect(JSON.parse(calls[0]!.args)).toEqual({ query: "find dogs" });
    expect(finish).toBe("tool_calls");
  });

  it("embeddings through batchEmbedContents (the SDK's base64 and floats)", async () => {
    const r = await client.embeddings.create({ model: "gemini-embedding-001", input: ["alpha", "beta"] });
    expect(last().path).toBe("/v1beta/models/gemini-embedding-001:batchEmbedContents");
    expect(last().body).toEqual({
      requests: [
        { model: "models/gemini-embedding-001", content: { parts: [{ text: "alpha" }] } },
        { model: "models/gemini-embedding-001", content: { parts: [{ text: "beta" }] } },
      ],
    });
    expect(r.data.map((d) => d.embedding)).toEqual([embedding("alpha"), embedding("beta")]);
    expect(r.model).toBe("gemini-embedding-001");
    const floats = await client.embeddings.create({ model: "gemini-embedding-001", input: "gamma", encoding_format: "float", dimensions: 3 });
    expect(last().body).toMatchObject({ requests: [{ outputDimensionality: 3 }] });
    expect(floats.data[0]!.embedding).toEqual(embedding("gamma").slice(0, 3));
  });

  it("the key as the `key` query parameter", async () => {
    const r = await openaiClient(queryGw.url).chat.completions.create({ model: "gemini-2.0-flash", messages: [{ role: "user", content: "by query" }] });
    expect(last().query.get("key")).toBe(GEMINI_DEFAULT_KEY);
    expect(last().query.get("alt")).toBe("sse");
    expect(last().headers["x-goog-api-key"]).toBeUndefined();
    expect(r.choices[0]!.message.content).toBe("echo: by query");
  });

  it("LF-framed events (stream and aggregated) read the same", async () => {
    const lf = openaiClient(lfGw.url);
    const r = await lf.chat.completions.create({ model: "gemini-2.0-flash", messages: [{ role: "user", content: "line feeds" }] });
    expect(r.choices[0]!.message.content).toBe("echo: line feeds");
    let text = "";
    for await (const chunk of await lf.chat.completions.create({ model: "gemini-2.0-flash", messages: [{ role: "user", content: "line feeds" }], stream: true })) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe("echo: line feeds");
  });

  it("a wrong key: Google's 400 keeps its status and message", async () => {
    const err = (await openaiClient(badGw.url).chat.completions.create({ model: "gemini-2.0-flash", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.status).toBe(400);
    expect(err.error).toEqual({ message: "API key not valid. Please pass a valid API key.", type: "invalid_request_error", code: "INVALID_ARGUMENT" });
  });

  it("429, 503 and a non-JSON 500 keep their status in the OpenAI error shape, also for streams", async () => {
    const fail = (stream: boolean) => client.chat.completions.create({ model: "gemini-2.0-flash", messages: [{ role: "user", content: "x" }], stream }).catch((e: unknown) => e) as Promise<InstanceType<typeof OpenAI.APIError>>;
    sim.failNext(429);
    const rate = await fail(false);
    expect(rate).toBeInstanceOf(OpenAI.RateLimitError);
    expect(rate.error).toEqual({ message: "Resource has been exhausted (e.g. check quota).", type: "rate_limit_error", code: "RESOURCE_EXHAUSTED" });
    sim.failNext(503);
    const busy = await fail(true);
    expect(busy.status).toBe(503);
    expect(busy.error).toMatchObject({ message: "The model is overloaded. Please try again later.", code: "UNAVAILABLE" });
    sim.failNext(500, { nonJson: true });
    const crash = await fail(false);
    expect(crash).toBeInstanceOf(OpenAI.InternalServerError);
    expect((crash.error as Json).type).toBe("api_error");
    expect(String((crash.error as Json).message)).toContain("500 Internal Server Error");
  });

  it("a model the request names differently is refused before Gemini is called", async () => {
    const n = sim.requests.length;
    const err = (await client.chat.completions.create({ model: "gemini-1.5-pro", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(400);
    expect(err.message).toContain("cannot use own model - must be: gemini-2.0-flash");
    expect(sim.requests.length).toBe(n);
  });
});
