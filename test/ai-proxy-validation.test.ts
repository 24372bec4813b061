// ai-proxy's refusals: configuration refused at load naming the field, and client bodies
// refused with a 4xx in the OpenAI error shape that says what is wrong. Hostile input never
// traps: the next request on the same VM still works.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, type TestUpstream } from "./support/upstream.ts";
import { buildAiProxy, errorOf, proxyGateway, type ProxyGateway } from "./ai-proxy-harness.ts";

type Obj = Record<string, unknown>;

let up: TestUpstream;
beforeAll(async () => {
  buildAiProxy();
  // Answers every request like OpenAI would, echoing nothing: the tests look at refusals.
  up = await startUpstream((_r, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ id: "x", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
  });
}, 180_000);
afterAll(async () => {
  await up?.close();
});

function cfg(extra: Obj = {}, model: Obj = {}): Obj {
  return {
    route_type: "llm/v1/chat",
    auth: { header_name: "authorization", header_value: "Bearer k" },
    model: { provider: "openai", name: "gpt-4o", options: { upstream_url: `http://127.0.0.1:${up?.port ?? 9}/v1/chat/completions` }, ...model },
    ...extra,
  };
}

describe("configuration refused at load, naming the field", () => {
  const cases: [string, Obj, string][] = [
    ["missing route_type", { model: { provider: "openai" } }, "field 'route_type' is required"],
    ["unknown route_type", { route_type: "llm/v2/chat", model: { provider: "openai" } }, "field 'route_type' must be one of"],
    ["missing model", { route_type: "llm/v1/chat" }, "field 'model' is required"],
    ["unknown provider", { route_type: "llm/v1/chat", model: { provider: "acme" } }, "field 'model.provider' must be one of"],
    ["a typo", cfg({ loging: {} }), "field 'loging' is unknown"],
    ["an option typo", cfg({}, { options: { max_token: 5 } }), "field 'model.options.max_token' is unknown"],
    ["temperature out of range", cfg({}, { options: { temperature: 9 } }), "field 'model.options.temperature' must be between 0 and 5"],
    ["max_tokens not an integer", cfg({}, { options: { max_tokens: 1.5 } }), "field 'model.options.max_tokens' must be an integer"],
    ["header_name without value", cfg({ auth: { header_name: "authorization" } }), "'auth.header_name' and 'auth.header_value' must be set together"],
    ["param auth incomplete", cfg({ auth: { param_name: "key", param_value: "v" } }), "must be set together"],
    ["bad param_location", cfg({ auth: { param_name: "key", param_value: "v", param_location: "header" } }), "field 'auth.param_location' must be query or body"],
    ["azure without instance", { route_type: "llm/v1/chat", model: { provider: "azure", options: { azure_deployment_id: "d" } } }, "model.options.azure_instance is required"],
    ["mistral without format", { route_type: "llm/v1/chat", model: { provider: "mistral" } }, "model.options.mistral_format is required"],
    ["mistral completions without upstream_url", { route_type: "llm/v1/completions", model: { provider: "mistral", options: { mistral_format: "openai" } } }, "not supported by provider mistral"],
    ["bad upstream_url", cfg({}, { options: { upstream_url: "ftp://x" } }), "field 'model.options.upstream_url' is not a valid http(s) URL"],
    ["unsupported cloud auth", cfg({ auth: { gcp_use_service_account: true } }), "field 'auth.gcp_use_service_account' is not supported"],
    ["bad response_streaming", cfg({ response_streaming: "sometimes" }), "field 'response_streaming' must be one of allow, deny, always"],
    ["wrong type", cfg({ model_name_header: "yes" }), "field 'model_name_header' must be a boolean"],
    ["not JSON", "{route_type:" as unknown as Obj, "configuration is not a valid JSON object"],
  ];
  it.each(cases)("%s", async (_name, config, message) => {
    await expect(proxyGateway(config, up.port)).rejects.toThrow(message);
  });

  it("accepts Kong's export form, where unset fields are null", async () => {
    const kong = {
      route_type: "llm/v1/chat",
      auth: { header_name: "authorization", header_value: "Bearer k", param_name: null, param_value: null, param_location: null, allow_override: false, azure_use_managed_identity: false, gcp_use_service_account: false, aws_access_key_id: null },
      model: { provider: "openai", name: "gpt-4o", options: { max_tokens: 256, temperature: null, top_p: null, top_k: null, upstream_url: `http://127.0.0.1:${up.port}/v1/chat/completions`, upstream_path: null, anthropic_version: null, azure_instance: null, azure_deployment_id: null, azure_api_version: "2023-05-15", mistral_format: null, llama2_format: null, input_cost: null, output_cost: null, gemini: null, bedrock: null, huggingface: null } },
      logging: { log_statistics: false, log_payloads: false },
      response_streaming: "allow",
      model_name_header: true,
      max_request_body_size: 8192,
      llm_format: "openai",
    };
    const g = await proxyGateway(kong, up.port);
    try {
      expect((await g.post("/", { messages: [{ role: "user", content: "hi" }] })).status).toBe(200);
    } finally {
      await g.close();
    }
  });
});

describe("Envoy's own refusals", () => {
  it("turns Envoy's 413 (buffer limit below max_request_body_size) into the OpenAI shape", async () => {
    const g = await proxyGateway(cfg(), up.port, { bufferLimit: 2048 });
    try {
      const r = await g.send({ method: "POST", path: "/", headers: { "content-type": "application/json" }, chunks: ['{"messages":[{"role":"user","content":"', "x".repeat(3000), '"}]}'] });
      expect(r.status).toBe(413);
      expect(r.headers["content-type"]).toBe("application/json");
      expect(errorOf(r)).toMatchObject({ type: "invalid_request_error" });
      expect(errorOf(r).message.length).toBeGreaterThan(0);
    } finally {
      await g.close();
    }
  });
});

describe("client bodies refused with a 4xx that says what is wrong", () => {
  let g: ProxyGateway;
  beforeAll(async () => {
    g = await proxyGateway(cfg({ max_request_body_size: 4096 }), up.port);
  });
  afterAll(async () => {
    await g?.close();
  });

  const deep = "[".repeat(1000) + "]".repeat(1000);
  const cases: [string, string | Obj, number, RegExp][] = [
    ["malformed JSON", '{"messages": [', 400, /^request body is not valid JSON: /],
    ["a JSON array", "[1,2]", 400, /^request body must be a JSON object$/],
    ["an empty object", {}, 400, /^request body doesn't contain valid prompts: 'messages' is missing$/],
    ["messages not an array", { messages: "hi" }, 400, /^'messages' must be an array of message objects$/],
    ["empty messages", { messages: [] }, 400, /'messages' is empty$/],
    ["a message that is not an object", { messages: [1] }, 400, /^messages\[0\] must be an object$/],
    ["an unknown role", { messages: [{ role: "wizard", content: "x" }] }, 400, /^messages\[0\]\.role must be one of .* \(got 'wizard'\)$/],
    ["content of the wrong type", { messages: [{ role: "user", content: 5 }] }, 400, /^messages\[0\]\.content must be a string or an array of content parts$/],
    ["a text part without text", { messages: [{ role: "user", content: [{ type: "text" }] }] }, 400, /^messages\[0\]\.content\[0\]\.text must be a string$/],
    ["a user message without content", { messages: [{ role: "user" }] }, 400, /^messages\[0\]\.content is required for role user$/],
    ["a tool message without tool_call_id", { messages: [{ role: "tool", content: "r" }] }, 400, /tool_call_id must be a string/],
    ["stream not a boolean", { messages: [{ role: "user", content: "x" }], stream: "yes" }, 400, /^'stream' must be a boolean$/],
    ["max_tokens not an integer", { messages: [{ role: "user", content: "x" }], max_tokens: "9" }, 400, /^'max_tokens' must be a number$/],
    ["temperature not a number", { messages: [{ role: "user", content: "x" }], temperature: [] }, 400, /^'temperature' must be a number$/],
    ["model not a string", { messages: [{ role: "user", content: "x" }], model: 4 }, 400, /^'model' must be a string$/],
    ["a completions body on a chat route", { prompt: "x" }, 400, /^\[llm\/v1\/completions\] message format is not compatible with \[llm\/v1\/chat\] route type$/],
    ["both messages and prompt", { prompt: "x", messages: [] }, 400, /^request matches multiple LLM request formats$/],
    // lib/json/names: what leaves the gateway means the same to every parser (Envoy 1.40's
    // ai_protocol_manager refuses duplicate keys too).
    ["a duplicate role", '{"messages":[{"role":"assistant","content":"x","role":"user"}]}', 400, /^request body is ambiguous: duplicate member 'role' in messages\[0\]$/],
    ["a needlessly escaped member name", '{"messages":[{"role":"user","content":"x","cont\\u0065nt":"y"}]}', 400, /^request body is ambiguous: member name 'cont\\u0065nt' in messages\[0\] is written with a needless escape; send it as 'content'$/],
    ["deep nesting", `{"messages":${deep}}`, 400, /^request body is not valid JSON: .*deep/i],
    ["invalid UTF-8", Buffer.from([0x7b, 0x22, 0x6d, 0xff, 0x22, 0x3a, 0x31, 0x7d]).toString("latin1"), 400, /^request body is not valid JSON: /],
    ["a body over max_request_body_size", { messages: [{ role: "user", content: "x".repeat(5000) }] }, 413, /^request body is larger than max_request_body_size \(4096 bytes\)$/],
  ];
  it.each(cases)("%s", async (_name, body, status, message) => {
    const raw = typeof body === "string" ? Buffer.from(body, "latin1") : Buffer.from(JSON.stringify(body));
    const r = await g.send({ method: "POST", path: "/v1/chat/completions", headers: { "content-type": "application/json" }, body: raw });
    expect(r.status).toBe(status);
    expect(r.headers["content-type"]).toBe("application/json");
    const e = errorOf(r);
    expect(e.message).toMatch(message);
    expect(e.type).toBe("invalid_request_error");
    // Never a trap: the VM still serves the next request.
    const ok = await g.post("/v1/chat/completions", { messages: [{ role: "user", content: "x" }] });
    expect(ok.status).toBe(200);
  });

  it("escapes what it quotes back: quotes, control characters, non-ASCII, lone surrogates", async () => {
    const role = 'a"b\\\n\t\u0001é😀';
    const r = await g.post("/v1/chat/completions", { messages: [{ role, content: "x" }] });
    expect(r.status).toBe(400);
    expect(errorOf(r).message).toBe(`messages[0].role must be one of system, developer, user, assistant, tool, function (got '${role}')`);
    const lone = await g.post("/v1/chat/completions", '{"messages":[{"role":"\\ud800x","content":"x"}]}');
    expect(lone.status).toBe(400);
    expect(errorOf(lone).message).toContain("(got '\ufffdx')");
  });

  it("refuses a request without a body, and a chunked body over the limit", async () => {
    const none = await g.send({ method: "POST", path: "/v1/chat/completions" });
    expect(none.status).toBe(400);
    expect(errorOf(none).message).toBe("request body doesn't contain valid prompts: the request has no body");
    const big = await g.send({ method: "POST", path: "/v1/chat/completions", chunks: ['{"messages":[{"role":"user","content":"', "y".repeat(3000), "z".repeat(3000), '"}]}'] });
    expect(big.status).toBe(413);
    expect(errorOf(big).message).toContain("max_request_body_size");
    expect(up.received.every((r) => !r.body.includes("yyyy"))).toBe(true);
  });
});
