// The provider simulators speak each provider's documented wire format: shapes, errors,
// stream event order, deterministic usage, failNext, and the official SDKs accept them.
import { readdirSync, readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI, { AzureOpenAI } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator, StreamKind } from "./simulators/index.ts";
import {
  ANTHROPIC_DEFAULT_KEY,
  ANTHROPIC_VERSIONS,
  AZURE_DEFAULT_KEY,
  COHERE_DEFAULT_KEY,
  COHERE_TEMPLATE_TOKENS,
  CREATED,
  EMBED_DIMS,
  MISTRAL_DEFAULT_KEY,
  OPENAI_DEFAULT_KEY,
  RECORD_KEEP,
  decodeStream,
  embedding,
  startAnthropic,
  startAzure,
  startCohere,
  startMistral,
  startOllama,
  startOpenAI,
} from "./simulators/index.ts";

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "streams");

interface Res {
  status: number;
  headers: Headers;
  text: string;
  chunks: Uint8Array[];
}

/** POSTs and reads the body chunk by chunk, as the client receives it. */
async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Res> {
  const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
  const chunks: Uint8Array[] = [];
  const reader = r.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
  }
  return { status: r.status, headers: r.headers, text: Buffer.concat(chunks).toString("utf8"), chunks };
}

function json(r: Res): Record<string, unknown> {
  return JSON.parse(r.text) as Record<string, unknown>;
}

const sims: Simulator[] = [];
afterAll(async () => {
  await Promise.all(sims.map((s) => s.close()));
});
async function keep(p: Promise<Simulator>): Promise<Simulator> {
  const s = await p;
  sims.push(s);
  return s;
}

describe("recorded streams (test/fixtures/streams)", () => {
  const names = readdirSync(FIXTURES).filter((n) => n.endsWith(".txt"));
  it("has a fixture with its expectations for every provider, and tool calls for OpenAI and Anthropic", () => {
    const base = names.map((n) => n.replace(/\.txt$/, ""));
    for (const p of ["openai", "azure", "anthropic", "cohere", "mistral", "ollama"]) expect(base.some((b) => b.startsWith(`${p}-`))).toBe(true);
    expect(base).toContain("openai-tool-call");
    expect(base).toContain("anthropic-tool-use");
    for (const b of base) expect(readdirSync(FIXTURES)).toContain(`${b}.json`);
  });

  for (const name of names) {
    const base = name.replace(/\.txt$/, "");
    const bytes = readFileSync(path.join(FIXTURES, name));
    const want = JSON.parse(readFileSync(path.join(FIXTURES, `${base}.json`), "utf8")) as {
      provider: string;
      format: "sse" | "ndjson";
      text: string;
      finish_reason: string;
      usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
      tool_calls?: { id: string; name: string; arguments: string }[];
      events: number;
    };
    const kind: StreamKind = want.provider === "azure" || want.provider === "mistral" ? "openai" : (want.provider as StreamKind);

    it(`${base}: decodes to the recorded text, finish reason, usage and tool calls`, () => {
      const d = decodeStream(kind, [bytes]);
      expect(d.frames.length).toBe(want.events);
      expect(d.text).toBe(want.text);
      expect(d.finish_reason).toBe(want.finish_reason);
      expect(d.usage).toEqual(want.usage);
      expect(d.tool_calls).toEqual(want.tool_calls ?? []);
      if (kind === "openai") expect(d.done).toBe(true);
      if (want.tool_calls) for (const t of want.tool_calls) expect(() => JSON.parse(t.arguments) as unknown).not.toThrow();
    });

    it(`${base}: decodes the same when cut in two at every byte offset`, () => {
      const whole = decodeStream(kind, [bytes]);
      for (let i = 1; i < bytes.length; i++) {
        const d = decodeStream(kind, [bytes.subarray(0, i), bytes.subarray(i)]);
        if (d.text !== whole.text || JSON.stringify(d.usage) !== JSON.stringify(whole.usage) || d.frames.length !== whole.frames.length)
          throw new Error(`${base}: cut at byte ${i} decodes differently`);
      }
    });
  }
});

describe("simulator request log", () => {
  it("keeps the newest requests and never grows without bound (a benchmark sends millions)", async () => {
    const sim = await keep(startOpenAI());
    const total = 2 * RECORD_KEEP + 5;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < total; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = http.request(`${sim.url}/v1/models?i=${i}`, { agent, headers: { authorization: `Bearer ${OPENAI_DEFAULT_KEY}` } }, (res) => {
          res.resume();
          res.on("end", resolve);
        });
        req.on("error", reject);
        req.end();
      });
    }
    agent.destroy();
    expect(sim.requests.length).toBeGreaterThanOrEqual(RECORD_KEEP);
    expect(sim.requests.length).toBeLessThan(2 * RECORD_KEEP);
    // The newest are all there, in order, ending with the last one sent.
    const seen = sim.requests.map((r) => Number(r.query.get("i")));
    expect(seen.slice(-RECORD_KEEP)).toEqual(Array.from({ length: RECORD_KEEP }, (_, k) => total - RECORD_KEEP + k));
  });
});

describe("OpenAI simulator", () => {
  let sim: Simulator;
  const auth = { authorization: `Bearer ${OPENAI_DEFAULT_KEY}` };
  const chatUrl = (): string => `${sim.url}/v1/chat/completions`;
  beforeAll(async () => {
    sim = await keep(startOpenAI());
  });

  it("answers a chat completion with the documented shape, the echo reply and word-count usage", async () => {
    const r = await post(chatUrl(), { model: "gpt-4o-mini", messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hello there world" }] }, auth);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json");
    const b = json(r);
    expect(b).toMatchObject({
      object: "chat.completion",
      created: CREATED,
      model: "gpt-4o-mini",
      choices: [{ index: 0, message: { role: "assistant", content: "echo: hello there world", refusal: null }, logprobs: null, finish_reason: "stop" }],
      usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 },
    });
    expect(b["id"]).toMatch(/^chatcmpl-[0-9a-f]{24}$/);
  });

  it("records method, path, query, lower-cased headers and the parsed body", async () => {
    const before = sim.requests.length;
    await post(`${chatUrl()}?trace=1`, { model: "m", messages: [{ role: "user", content: "x" }] }, { ...auth, "X-Custom-Thing": "Yes" });
    const rec = sim.requests[before];
    expect(rec.method).toBe("POST");
    expect(rec.path).toBe("/v1/chat/completions");
    expect(rec.query.get("trace")).toBe("1");
    expect(rec.headers["x-custom-thing"]).toBe("Yes");
    expect(rec.headers["authorization"]).toBe(`Bearer ${OPENAI_DEFAULT_KEY}`);
    expect(rec.body).toEqual({ model: "m", messages: [{ role: "user", content: "x" }] });
    expect(JSON.parse(rec.raw)).toEqual(rec.body);
  });

  it("refuses a missing or wrong key with OpenAI's 401 bodies", async () => {
    const none = await post(chatUrl(), { model: "m", messages: [] });
    expect(none.status).toBe(401);
    expect(json(none)).toMatchObject({ error: { type: "invalid_request_error", param: null, code: null } });
    expect((json(none)["error"] as { message: string }).message).toMatch(/^You didn't provide an API key/);
    const wrong = await post(chatUrl(), { model: "m", messages: [] }, { authorization: "Bearer sk-wrong-key-123456" });
    expect(wrong.status).toBe(401);
    expect(json(wrong)).toMatchObject({ error: { type: "invalid_request_error", param: null, code: "invalid_api_key" } });
    expect((json(wrong)["error"] as { message: string }).message).toMatch(/^Incorrect API key provided: sk-\*+3456\./);
  });

  it("validates the body like OpenAI: missing messages, empty messages, unknown model, refused top_k, stream_options without stream, bad JSON", async () => {
    const cases: [unknown, number, Record<string, unknown>][] = [
      [{ model: "m" }, 400, { param: "messages", code: "missing_required_parameter" }],
      [{ messages: [{ role: "user", content: "x" }] }, 400, { message: "you must provide a model parameter" }],
      [{ model: "m", messages: [] }, 400, { param: "messages", code: "empty_array" }],
      [{ model: "missing-model", messages: [{ role: "user", content: "x" }] }, 404, { code: "model_not_found" }],
      [{ model: "m", top_k: 5, messages: [{ role: "user", content: "x" }] }, 400, { message: "Unrecognized request argument supplied: top_k" }],
      [{ model: "m", stream_options: { include_usage: true }, messages: [{ role: "user", content: "x" }] }, 400, { param: "stream_options" }],
      [{ model: "m", messages: [{ role: "robot", content: "x" }] }, 400, { param: "messages[0].role" }],
      ["{not json", 400, { type: "invalid_request_error" }],
    ];
    for (const [body, status, err] of cases) {
      const r = await post(chatUrl(), body, auth);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(json(r)["error"]).toMatchObject(err);
    }
  });

  it("streams chat chunks one word per event, then a finish chunk and [DONE]; no usage unless asked", async () => {
    const r = await post(chatUrl(), { model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "one two three" }] }, auth);
    expect(r.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const d = decodeStream("openai", r.chunks);
    const chunks = d.frames.filter((f) => f.data !== "[DONE]").map((f) => JSON.parse(f.data) as Record<string, unknown>);
    expect(d.text).toBe("echo: one two three");
    expect(chunks.map((c) => (c["choices"] as { delta: { content?: string } }[])[0].delta.content)).toEqual(["", "echo:", " one", " two", " three", undefined]);
    expect(d.finish_reason).toBe("stop");
    expect(d.usage).toBeNull();
    expect(chunks.every((c) => !("usage" in c) && c["object"] === "chat.completion.chunk")).toBe(true);
    expect(d.frames[d.frames.length - 1].data).toBe("[DONE]");
    expect(r.text.endsWith("data: [DONE]\n\n")).toBe(true);
  });

  it("adds a usage chunk with empty choices before [DONE] when stream_options.include_usage is true", async () => {
    const r = await post(chatUrl(), { model: "gpt-4o-mini", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "one two three" }] }, auth);
    const d = decodeStream("openai", r.chunks);
    const chunks = d.frames.filter((f) => f.data !== "[DONE]").map((f) => JSON.parse(f.data) as Record<string, unknown>);
    const last = chunks[chunks.length - 1];
    expect(last["choices"]).toEqual([]);
    expect(last["usage"]).toMatchObject({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
    expect(chunks.slice(0, -1).every((c) => c["usage"] === null)).toBe(true);
  });

  it("writes a stream in several writes, and still decodes the same when every event is cut in two writes", async () => {
    const body = { model: "m", stream: true, messages: [{ role: "user", content: "a b c d e f" }] };
    const paced = await keep(startOpenAI({ pacing: { delayMs: 15 } }));
    const seen = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${paced.url}/v1/chat/completions`, { method: "POST", headers: auth }, (res) => {
        let n = 0;
        res.on("data", () => n++);
        res.on("end", () => resolve(n));
      });
      req.on("error", reject);
      req.end(JSON.stringify(body));
    });
    expect(seen).toBeGreaterThan(1);
    const whole = decodeStream("openai", (await post(`${paced.url}/v1/chat/completions`, body, auth)).chunks);
    paced.setPacing({ delayMs: 1, splitWrites: true });
    const split = decodeStream("openai", (await post(`${paced.url}/v1/chat/completions`, body, auth)).chunks);
    expect(split.frames).toEqual(whole.frames);
    expect(split.text).toBe("echo: a b c d e f");
  });

  it("cuts the reply at max_tokens words and says finish_reason length", async () => {
    const b = json(await post(chatUrl(), { model: "m", max_tokens: 2, messages: [{ role: "user", content: "a b c d" }] }, auth));
    expect(b).toMatchObject({ choices: [{ message: { content: "echo: a" }, finish_reason: "length" }], usage: { completion_tokens: 2 } });
  });

  it("calls the first (or the named) tool when tools are given, and echoes a tool result", async () => {
    const tools = [
      { type: "function", function: { name: "get_weather", parameters: { type: "object" } } },
      { type: "function", function: { name: "get_time", parameters: { type: "object" } } },
    ];
    const first = json(await post(chatUrl(), { model: "m", tools, messages: [{ role: "user", content: "weather in Paris" }] }, auth));
    const args = JSON.stringify({ query: "weather in Paris" });
    expect(first).toMatchObject({
      choices: [{ message: { content: null, tool_calls: [{ type: "function", function: { name: "get_weather", arguments: args } }] }, finish_reason: "tool_calls" }],
      usage: { prompt_tokens: 3, completion_tokens: 3 },
    });
    const named = json(await post(chatUrl(), { model: "m", tools, tool_choice: { type: "function", function: { name: "get_time" } }, messages: [{ role: "user", content: "now" }] }, auth));
    expect(named).toMatchObject({ choices: [{ message: { tool_calls: [{ function: { name: "get_time" } }] } }] });
    const none = json(await post(chatUrl(), { model: "m", tools, tool_choice: "none", messages: [{ role: "user", content: "hi" }] }, auth));
    expect(none).toMatchObject({ choices: [{ message: { content: "echo: hi" }, finish_reason: "stop" }] });
    const streamed = decodeStream("openai", (await post(chatUrl(), { model: "m", stream: true, tools, messages: [{ role: "user", content: "weather in Paris" }] }, auth)).chunks);
    expect(streamed.tool_calls).toEqual([{ id: expect.stringMatching(/^call_/) as string, name: "get_weather", arguments: args }]);
    expect(streamed.finish_reason).toBe("tool_calls");
    const after = json(
      await post(
        chatUrl(),
        {
          model: "m",
          tools,
          messages: [
            { role: "user", content: "weather in Paris" },
            { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: args } }] },
            { role: "tool", tool_call_id: "call_1", content: "sunny 21C" },
          ],
        },
        auth,
      ),
    );
    expect(after).toMatchObject({ choices: [{ message: { content: "echo: sunny 21C" }, finish_reason: "stop" }] });
  });

  it("answers legacy completions, streamed and not", async () => {
    const url = `${sim.url}/v1/completions`;
    const b = json(await post(url, { model: "gpt-3.5-turbo-instruct", prompt: "say this" }, auth));
    expect(b).toMatchObject({ object: "text_completion", choices: [{ text: "echo: say this", index: 0, logprobs: null, finish_reason: "stop" }], usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 } });
    const s = decodeStream("openai", (await post(url, { model: "m", prompt: "say this", stream: true, stream_options: { include_usage: true } }, auth)).chunks);
    const texts = s.frames.filter((f) => f.data !== "[DONE]").map((f) => (JSON.parse(f.data) as { choices: { text: string }[] }).choices[0]?.text ?? "");
    expect(texts.join("")).toBe("echo: say this");
    expect(s.usage).toEqual({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
    expect((await post(url, { model: "m" }, auth)).status).toBe(400);
  });

  it("answers embeddings with 8 hash-derived dimensions, as floats or base64 float32", async () => {
    const url = `${sim.url}/v1/embeddings`;
    const b = json(await post(url, { model: "text-embedding-3-small", input: ["alpha beta", "gamma"] }, auth));
    expect(b).toMatchObject({ object: "list", model: "text-embedding-3-small", usage: { prompt_tokens: 3, total_tokens: 3 } });
    const data = b["data"] as { object: string; index: number; embedding: number[] }[];
    expect(data.map((d) => d.index)).toEqual([0, 1]);
    expect(data[0].embedding).toEqual(embedding("alpha beta"));
    expect(data[0].embedding).toHaveLength(EMBED_DIMS);
    expect(data[0].embedding).not.toEqual(data[1].embedding);
    const b64 = json(await post(url, { model: "m", input: "gamma", encoding_format: "base64" }, auth));
    const enc = (b64["data"] as { embedding: string }[])[0].embedding;
    const buf = Buffer.from(enc, "base64");
    expect(Array.from({ length: EMBED_DIMS }, (_, i) => buf.readFloatLE(i * 4))).toEqual(embedding("gamma"));
  });

  it("failNext forces one error, then answers normally again", async () => {
    sim.failNext(429);
    const limited = await post(chatUrl(), { model: "m", messages: [{ role: "user", content: "x" }] }, auth);
    expect(limited.status).toBe(429);
    expect(json(limited)).toMatchObject({ error: { type: "requests", code: "rate_limit_exceeded" } });
    expect(limited.headers.get("retry-after")).toBeNull();
    sim.failNext(429, { retryAfter: "7" });
    expect((await post(chatUrl(), {}, auth)).headers.get("retry-after")).toBe("7");
    sim.failNext(500, { nonJson: true });
    const html = await post(chatUrl(), { model: "m", messages: [{ role: "user", content: "x" }] }, auth);
    expect(html.status).toBe(500);
    expect(html.headers.get("content-type")).toBe("text/html");
    expect(html.text).toContain("<h1>500 Internal Server Error</h1>");
    expect(() => JSON.parse(html.text) as unknown).toThrow();
    sim.failNext(500);
    expect(json(await post(chatUrl(), {}, auth))).toMatchObject({ error: { type: "server_error" } });
    const ok = await post(chatUrl(), { model: "m", messages: [{ role: "user", content: "x" }] }, auth);
    expect(ok.status).toBe(200);
  });

  it("unknown paths get OpenAI's Invalid URL 404", async () => {
    const r = await post(`${sim.url}/v1/nothing`, {}, auth);
    expect(r.status).toBe(404);
    expect(json(r)).toMatchObject({ error: { message: "Invalid URL (POST /v1/nothing)" } });
  });
});

describe("the official openai SDK against the OpenAI simulator", () => {
  let sim: Simulator;
  let client: OpenAI;
  beforeAll(async () => {
    sim = await keep(startOpenAI());
    client = new OpenAI({ apiKey: OPENAI_DEFAULT_KEY, baseURL: `${sim.url}/v1`, maxRetries: 0 });
  });

  it("creates a chat completion", async () => {
    const c = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi sdk" }] });
    expect(c.choices[0].message.content).toBe("echo: hi sdk");
    expect(c.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
    expect(sim.requests[sim.requests.length - 1].headers["authorization"]).toBe(`Bearer ${OPENAI_DEFAULT_KEY}`);
  });

  it("streams with include_usage and assembles tool calls with the stream helper", async () => {
    const stream = await client.chat.completions.create({ model: "m", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "a b" }] });
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe("echo: a b");
    expect(usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 3 });
    const runner = client.chat.completions.stream({
      model: "m",
      tools: [{ type: "function", function: { name: "lookup", parameters: { type: "object", properties: { query: { type: "string" } } } } }],
      messages: [{ role: "user", content: "find cats" }],
    });
    const final = await runner.finalChatCompletion();
    const call = final.choices[0].message.tool_calls?.[0];
    expect(call?.type === "function" ? call.function : undefined).toEqual({ name: "lookup", arguments: JSON.stringify({ query: "find cats" }) });
  });

  it("gets embeddings through the SDK's default base64 encoding", async () => {
    const e = await client.embeddings.create({ model: "text-embedding-3-small", input: "sdk text" });
    expect(e.data[0].embedding).toEqual(embedding("sdk text"));
  });

  it("raises the SDK's typed errors for 401 and 429, and retries a forced 500 once", async () => {
    const bad = new OpenAI({ apiKey: "sk-nope", baseURL: `${sim.url}/v1`, maxRetries: 0 });
    const e401 = await bad.chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e);
    expect(e401).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((e401 as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe("invalid_api_key");
    sim.failNext(429);
    const e429 = await client.chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e);
    expect(e429).toBeInstanceOf(OpenAI.RateLimitError);
    const retrying = new OpenAI({ apiKey: OPENAI_DEFAULT_KEY, baseURL: `${sim.url}/v1`, maxRetries: 1 });
    const before = sim.requests.length;
    sim.failNext(500, { retryAfter: "0" });
    const c = await retrying.chat.completions.create({ model: "m", messages: [{ role: "user", content: "again" }] });
    expect(c.choices[0].message.content).toBe("echo: again");
    expect(sim.requests.length - before).toBe(2);
  });
});

describe("Azure OpenAI simulator", () => {
  let sim: Simulator;
  const key = { "api-key": AZURE_DEFAULT_KEY };
  const url = (p: string, v = "2024-10-21", dep = "gpt-4o-mini"): string => `${sim.url}/openai/deployments/${dep}/${p}?api-version=${v}`;
  beforeAll(async () => {
    sim = await keep(startAzure({ deployment: "gpt-4o-mini", model: "gpt-4o-mini-2024-07-18" }));
  });

  it("answers on the deployment path with the api-key header, content filter annotations and the deployment's model", async () => {
    const r = await post(url("chat/completions"), { messages: [{ role: "user", content: "hello azure" }] }, key);
    expect(r.status).toBe(200);
    expect(json(r)).toMatchObject({
      model: "gpt-4o-mini-2024-07-18",
      prompt_filter_results: [{ prompt_index: 0, content_filter_results: { hate: { filtered: false, severity: "safe" } } }],
      choices: [{ message: { content: "echo: hello azure" }, content_filter_results: { violence: { filtered: false } } }],
      usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 },
    });
    expect(sim.requests[sim.requests.length - 1].query.get("api-version")).toBe("2024-10-21");
  });

  it("refuses a wrong key, a missing or unknown api-version and an unknown deployment with Azure's bodies", async () => {
    const body = { messages: [{ role: "user", content: "x" }] };
    const wrong = await post(url("chat/completions"), body, { "api-key": "nope" });
    expect(wrong.status).toBe(401);
    expect(json(wrong)).toEqual({ error: { code: "401", message: expect.stringMatching(/^Access denied due to invalid subscription key/) as string } });
    const noVersion = await post(`${sim.url}/openai/deployments/gpt-4o-mini/chat/completions`, body, key);
    expect(noVersion.status).toBe(404);
    expect(json(noVersion)).toEqual({ error: { code: "404", message: "Resource not found" } });
    const badVersion = await post(url("chat/completions", "1999-01-01"), body, key);
    expect(badVersion.status).toBe(400);
    expect(json(badVersion)).toEqual({ error: { code: "BadRequest", message: "API version not supported" } });
    const dep = await post(url("chat/completions", "2024-10-21", "other"), body, key);
    expect(dep.status).toBe(404);
    expect(json(dep)).toMatchObject({ error: { code: "DeploymentNotFound" } });
  });

  it("streams a first chunk with empty choices and prompt_filter_results, then the answer", async () => {
    const r = await post(url("chat/completions"), { stream: true, messages: [{ role: "user", content: "x y" }] }, key);
    const d = decodeStream("openai", r.chunks);
    const first = JSON.parse(d.frames[0].data) as Record<string, unknown>;
    expect(first).toMatchObject({ choices: [], id: "", model: "", object: "" });
    expect(first["prompt_filter_results"]).toBeDefined();
    expect(d.text).toBe("echo: x y");
    expect(d.done).toBe(true);
  });

  it("failNext(429) sends Azure's rate-limit body with retry-after", async () => {
    sim.failNext(429);
    const r = await post(url("chat/completions"), {}, key);
    expect(r.status).toBe(429);
    expect(r.headers.get("retry-after")).toBe("1");
    expect(json(r)).toMatchObject({ error: { code: "429", message: expect.stringContaining("Please retry after") as string } });
  });

  it("works with the openai SDK's AzureOpenAI client for chat, streams and embeddings", async () => {
    const client = new AzureOpenAI({ apiKey: AZURE_DEFAULT_KEY, endpoint: sim.url, apiVersion: "2024-10-21", deployment: "gpt-4o-mini", maxRetries: 0 });
    const c = await client.chat.completions.create({ model: "", messages: [{ role: "user", content: "via sdk" }] });
    expect(c.choices[0].message.content).toBe("echo: via sdk");
    const rec = sim.requests[sim.requests.length - 1];
    expect(rec.path).toBe("/openai/deployments/gpt-4o-mini/chat/completions");
    expect(rec.headers["api-key"]).toBe(AZURE_DEFAULT_KEY);
    const stream = await client.chat.completions.create({ model: "", stream: true, messages: [{ role: "user", content: "s t" }] });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text).toBe("echo: s t");
    const e = await client.embeddings.create({ model: "", input: "vec" });
    expect(e.data[0].embedding).toEqual(embedding("vec"));
    const bad = new AzureOpenAI({ apiKey: "nope", endpoint: sim.url, apiVersion: "2024-10-21", deployment: "gpt-4o-mini", maxRetries: 0 });
    const err = await bad.chat.completions.create({ model: "", messages: [{ role: "user", content: "x" }] }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
  });
});

describe("Anthropic simulator", () => {
  let sim: Simulator;
  const h = { "x-api-key": ANTHROPIC_DEFAULT_KEY, "anthropic-version": "2023-06-01" };
  const msgUrl = (): string => `${sim.url}/v1/messages`;
  beforeAll(async () => {
    sim = await keep(startAnthropic());
  });

  it("answers a message with the documented shape and input/output token usage", async () => {
    const r = await post(msgUrl(), { model: "claude-3-5-haiku-latest", max_tokens: 64, system: "be nice", messages: [{ role: "user", content: [{ type: "text", text: "hello claude" }] }] }, h);
    expect(r.status).toBe(200);
    expect(json(r)).toMatchObject({
      type: "message",
      role: "assistant",
      model: "claude-3-5-haiku-latest",
      content: [{ type: "text", text: "echo: hello claude" }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: { input_tokens: 4, output_tokens: 3 },
    });
    expect(json(r)["id"]).toMatch(/^msg_/);
    expect(r.headers.get("request-id")).toMatch(/^req_/);
  });

  it("streams the documented event sequence with usage in message_start and message_delta", async () => {
    const r = await post(msgUrl(), { model: "claude", max_tokens: 64, stream: true, messages: [{ role: "user", content: "one two" }] }, h);
    expect(r.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const d = decodeStream("anthropic", r.chunks);
    expect(d.frames.map((f) => f.event)).toEqual([
      "message_start",
      "content_block_start",
      "ping",
      "content_block_delta",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    for (const f of d.frames) expect((JSON.parse(f.data) as { type: string }).type).toBe(f.event);
    expect(d.text).toBe("echo: one two");
    expect(d.finish_reason).toBe("end_turn");
    expect(d.usage).toEqual({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
    expect(JSON.parse(d.frames[0].data)).toMatchObject({ message: { usage: { input_tokens: 2, output_tokens: 1 } } });
  });

  it("refuses missing/wrong keys, a missing anthropic-version and bad bodies with Anthropic's error bodies", async () => {
    const body = { model: "claude", max_tokens: 8, messages: [{ role: "user", content: "x" }] };
    const cases: [Record<string, string>, unknown, number, string, string][] = [
      [{ "anthropic-version": "2023-06-01" }, body, 401, "authentication_error", "x-api-key header is required"],
      [{ ...h, "x-api-key": "wrong" }, body, 401, "authentication_error", "invalid x-api-key"],
      [{ "anthropic-version": "2023-06-01", authorization: "Bearer wrong" }, body, 401, "authentication_error", "invalid x-api-key"],
      [{ "x-api-key": ANTHROPIC_DEFAULT_KEY }, body, 400, "invalid_request_error", "anthropic-version: header is required"],
      [h, { model: "claude", messages: body.messages }, 400, "invalid_request_error", "max_tokens: Field required"],
      [h, { model: "claude", max_tokens: 8 }, 400, "invalid_request_error", "messages: Field required"],
      [h, { ...body, model: "missing-model" }, 404, "not_found_error", "model: missing-model"],
      [h, { ...body, messages: [{ role: "system", content: "rules" }, ...body.messages] }, 400, "invalid_request_error", 'messages: Unexpected role "system"'],
      [h, "{oops", 400, "invalid_request_error", "There was an error parsing the body"],
    ];
    for (const [headers, b, status, type, message] of cases) {
      const r = await post(msgUrl(), b, headers);
      expect(r.status, message).toBe(status);
      const e = json(r);
      expect(e["type"]).toBe("error");
      expect(e["error"]).toMatchObject({ type });
      expect((e["error"] as { message: string }).message.startsWith(message), message).toBe(true);
    }
  });

  it("calls a tool with tool_use blocks and input_json_delta, and echoes a tool_result", async () => {
    const tools = [{ name: "get_weather", description: "weather", input_schema: { type: "object" } }];
    const b = json(await post(msgUrl(), { model: "c", max_tokens: 64, tools, messages: [{ role: "user", content: "weather in Oslo" }] }, h));
    expect(b).toMatchObject({ content: [{ type: "tool_use", name: "get_weather", input: { query: "weather in Oslo" } }], stop_reason: "tool_use" });
    const s = decodeStream("anthropic", (await post(msgUrl(), { model: "c", max_tokens: 64, stream: true, tools, messages: [{ role: "user", content: "weather in Oslo" }] }, h)).chunks);
    expect(s.tool_calls).toHaveLength(1);
    expect(JSON.parse(s.tool_calls[0].arguments)).toEqual({ query: "weather in Oslo" });
    expect(s.finish_reason).toBe("tool_use");
    const toolId = (b["content"] as { id: string }[])[0].id;
    const after = json(
      await post(
        msgUrl(),
        {
          model: "c",
          max_tokens: 64,
          tools,
          messages: [
            { role: "user", content: "weather in Oslo" },
            { role: "assistant", content: b["content"] },
            { role: "user", content: [{ type: "tool_result", tool_use_id: toolId, content: "cold" }] },
          ],
        },
        h,
      ),
    );
    expect(after).toMatchObject({ content: [{ type: "text", text: "echo: cold" }], stop_reason: "end_turn" });
  });

  it("stops at max_tokens with stop_reason max_tokens", async () => {
    const b = json(await post(msgUrl(), { model: "c", max_tokens: 2, messages: [{ role: "user", content: "a b c" }] }, h));
    expect(b).toMatchObject({ content: [{ text: "echo: a" }], stop_reason: "max_tokens", usage: { output_tokens: 2 } });
  });

  it("serves the legacy /v1/complete for claude-2 models and refuses prompts without the Human/Assistant turns", async () => {
    const url = `${sim.url}/v1/complete`;
    const ok = json(await post(url, { model: "claude-2.1", max_tokens_to_sample: 50, prompt: "\n\nHuman: tell me\n\nAssistant:" }, h));
    expect(ok).toMatchObject({ type: "completion", completion: " echo: tell me", stop_reason: "stop_sequence", model: "claude-2.1" });
    const noTurn = await post(url, { model: "claude-2.1", max_tokens_to_sample: 50, prompt: "Human: tell me\n\nAssistant:" }, h);
    expect(noTurn.status).toBe(400);
    expect((json(noTurn)["error"] as { message: string }).message).toMatch(/^prompt must start with "\n\nHuman:"/);
    const newModel = await post(url, { model: "claude-3-5-sonnet-latest", max_tokens_to_sample: 50, prompt: "\n\nHuman: x\n\nAssistant:" }, h);
    expect(newModel.status).toBe(400);
    const s = await post(url, { model: "claude-2.1", max_tokens_to_sample: 50, stream: true, prompt: "\n\nHuman: a b\n\nAssistant:" }, h);
    const frames = decodeStream("anthropic", s.chunks).frames.filter((f) => f.event === "completion");
    expect(frames.map((f) => (JSON.parse(f.data) as { completion: string }).completion).join("")).toBe(" echo: a b");
  });

  it("failNext gives rate_limit_error with retry-after, overloaded_error for 529, HTML when asked", async () => {
    sim.failNext(429);
    const r = await post(msgUrl(), {}, h);
    expect(r.status).toBe(429);
    expect(r.headers.get("retry-after")).toBe("1");
    expect(json(r)).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
    sim.failNext(529);
    expect(json(await post(msgUrl(), {}, h))).toMatchObject({ error: { type: "overloaded_error" } });
    sim.failNext(502, { nonJson: true });
    const html = await post(msgUrl(), {}, h);
    expect(html.status).toBe(502);
    expect(html.text).toContain("502 Bad Gateway");
  });

  it("works with the official @anthropic-ai/sdk: create, stream, tools and typed errors", async () => {
    const client = new Anthropic({ apiKey: ANTHROPIC_DEFAULT_KEY, baseURL: sim.url, maxRetries: 0 });
    const m = await client.messages.create({ model: "claude-3-5-haiku-latest", max_tokens: 100, messages: [{ role: "user", content: "sdk hello" }] });
    expect(m.content[0].type === "text" ? m.content[0].text : "").toBe("echo: sdk hello");
    expect(m.usage).toMatchObject({ input_tokens: 2, output_tokens: 3 });
    const sent = sim.requests[sim.requests.length - 1].headers;
    expect(ANTHROPIC_VERSIONS).toContain(sent["anthropic-version"]);
    expect(sent["x-api-key"] ?? sent["authorization"]).toMatch(new RegExp(`(^|Bearer )${ANTHROPIC_DEFAULT_KEY}$`));
    const stream = client.messages.stream({ model: "c", max_tokens: 100, messages: [{ role: "user", content: "streamed words here" }] });
    let text = "";
    stream.on("text", (t) => (text += t));
    const final = await stream.finalMessage();
    expect(text).toBe("echo: streamed words here");
    expect(final.usage).toMatchObject({ input_tokens: 3, output_tokens: 4 });
    expect(final.stop_reason).toBe("end_turn");
    const tooled = await client.messages
      .stream({ model: "c", max_tokens: 100, tools: [{ name: "lookup", input_schema: { type: "object" } }], messages: [{ role: "user", content: "find it" }] })
      .finalMessage();
    expect(tooled.content[0]).toMatchObject({ type: "tool_use", name: "lookup", input: { query: "find it" } });
    const bad = new Anthropic({ apiKey: "nope", baseURL: sim.url, maxRetries: 0 });
    const e = await bad.messages.create({ model: "c", max_tokens: 5, messages: [{ role: "user", content: "x" }] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Anthropic.AuthenticationError);
    sim.failNext(429);
    const limited = await client.messages.create({ model: "c", max_tokens: 5, messages: [{ role: "user", content: "x" }] }).catch((x: unknown) => x);
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
  });
});

describe("Cohere simulator", () => {
  let sim: Simulator;
  const auth = { authorization: `Bearer ${COHERE_DEFAULT_KEY}` };
  beforeAll(async () => {
    sim = await keep(startCohere());
  });

  it("answers v1 chat with text, chat_history and billed/counted token meta", async () => {
    const r = await post(`${sim.url}/v1/chat`, { model: "command-r", message: "hi there", preamble: "be kind", chat_history: [{ role: "USER", message: "earlier" }, { role: "CHATBOT", message: "ok" }] }, auth);
    expect(r.status).toBe(200);
    expect(json(r)).toMatchObject({
      text: "echo: hi there",
      finish_reason: "COMPLETE",
      chat_history: [
        { role: "USER", message: "earlier" },
        { role: "CHATBOT", message: "ok" },
        { role: "USER", message: "hi there" },
        { role: "CHATBOT", message: "echo: hi there" },
      ],
      meta: { api_version: { version: "1" }, billed_units: { input_tokens: 6, output_tokens: 3 }, tokens: { input_tokens: 6 + COHERE_TEMPLATE_TOKENS, output_tokens: 3 } },
    });
  });

  it("streams v1 chat as newline-delimited JSON: stream-start, text-generation per word, stream-end", async () => {
    const r = await post(`${sim.url}/v1/chat`, { message: "a b", stream: true }, auth);
    expect(r.headers.get("content-type")).toBe("application/stream+json");
    const d = decodeStream("cohere", r.chunks);
    const events = d.frames.map((f) => JSON.parse(f.data) as { event_type: string; is_finished: boolean });
    expect(events.map((e) => e.event_type)).toEqual(["stream-start", "text-generation", "text-generation", "text-generation", "stream-end"]);
    expect(events.map((e) => e.is_finished)).toEqual([false, false, false, false, true]);
    expect(d.text).toBe("echo: a b");
    expect(d.finish_reason).toBe("COMPLETE");
    expect(d.usage).toEqual({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
    expect(r.text.split("\n").filter((l) => l !== "")).toHaveLength(5);
  });

  it("refuses bad keys and bad bodies with {message}", async () => {
    const none = await post(`${sim.url}/v1/chat`, { message: "x" });
    expect(none.status).toBe(401);
    const wrong = await post(`${sim.url}/v1/chat`, { message: "x" }, { authorization: "Bearer nope" });
    expect(wrong.status).toBe(401);
    expect(json(wrong)).toEqual({ message: "invalid api token" });
    const empty = await post(`${sim.url}/v1/chat`, { chat_history: [] }, auth);
    expect(empty.status).toBe(400);
    expect(json(empty)["message"]).toMatch(/^invalid request: message must be at least 1 token long/);
    const missing = await post(`${sim.url}/v1/chat`, { model: "missing-model", message: "x" }, auth);
    expect(missing.status).toBe(404);
    expect(json(missing)["message"]).toMatch(/^model 'missing-model' not found/);
  });

  it("answers v1 generate, streamed and not, and v2 embed", async () => {
    const g = json(await post(`${sim.url}/v1/generate`, { prompt: "write this", max_tokens: 2 }, auth));
    expect(g).toMatchObject({ generations: [{ text: "echo: write", finish_reason: "MAX_TOKENS" }], prompt: "write this", meta: { billed_units: { input_tokens: 2, output_tokens: 2 } } });
    const s = await post(`${sim.url}/v1/generate`, { prompt: "x y", stream: true }, auth);
    const lines = s.text.trim().split("\n").map((l) => JSON.parse(l) as { text?: string; is_finished: boolean; finish_reason?: string });
    expect(lines.filter((l) => !l.is_finished).map((l) => l.text).join("")).toBe("echo: x y");
    expect(lines[lines.length - 1]).toMatchObject({ is_finished: true, finish_reason: "COMPLETE" });
    const e = json(await post(`${sim.url}/v2/embed`, { model: "embed-english-v3.0", input_type: "search_document", texts: ["aa bb", "cc"], embedding_types: ["float"] }, auth));
    expect(e).toMatchObject({ response_type: "embeddings_by_type", texts: ["aa bb", "cc"], meta: { billed_units: { input_tokens: 3 } } });
    expect((e["embeddings"] as { float: number[][] }).float).toEqual([embedding("aa bb"), embedding("cc")]);
    expect((await post(`${sim.url}/v2/embed`, { model: "embed-english-v3.0", texts: ["x"] }, auth)).status).toBe(400);
  });

  it("failNext(429) answers Cohere's rate-limit message", async () => {
    sim.failNext(429);
    const r = await post(`${sim.url}/v1/chat`, { message: "x" }, auth);
    expect(r.status).toBe(429);
    expect(typeof json(r)["message"]).toBe("string");
    expect((await post(`${sim.url}/v1/chat`, { message: "x" }, auth)).status).toBe(200);
  });
});

describe("Mistral simulator", () => {
  let sim: Simulator;
  const auth = { authorization: `Bearer ${MISTRAL_DEFAULT_KEY}` };
  const url = (): string => `${sim.url}/v1/chat/completions`;
  beforeAll(async () => {
    sim = await keep(startMistral());
  });

  it("answers chat completions in the OpenAI-like shape with Mistral's usage", async () => {
    const b = json(await post(url(), { model: "mistral-small-latest", messages: [{ role: "user", content: "bonjour toi" }] }, auth));
    expect(b).toMatchObject({
      object: "chat.completion",
      model: "mistral-small-latest",
      choices: [{ index: 0, message: { role: "assistant", content: "echo: bonjour toi", tool_calls: null }, finish_reason: "stop" }],
      usage: { prompt_tokens: 2, total_tokens: 5, completion_tokens: 3 },
    });
    expect(b["id"]).toMatch(/^[0-9a-f]{32}$/);
  });

  it("streams with usage on the final chunk and no separate usage chunk", async () => {
    const d = decodeStream("openai", (await post(url(), { model: "m", stream: true, messages: [{ role: "user", content: "a" }] }, auth)).chunks);
    const chunks = d.frames.filter((f) => f.data !== "[DONE]").map((f) => JSON.parse(f.data) as { choices: { finish_reason: string | null }[]; usage?: unknown });
    expect(chunks.every((c) => c.choices.length === 1)).toBe(true);
    expect(chunks[chunks.length - 1]).toMatchObject({ choices: [{ finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } });
    expect(chunks.slice(0, -1).every((c) => c.usage === undefined)).toBe(true);
    expect(d.text).toBe("echo: a");
    expect(d.done).toBe(true);
  });

  it("refuses a wrong key, missing fields, extra fields and an unknown model in Mistral's shapes", async () => {
    const wrong = await post(url(), { model: "m", messages: [] }, { authorization: "Bearer nope" });
    expect(wrong.status).toBe(401);
    expect(json(wrong)).toMatchObject({ message: "Unauthorized" });
    const missing = await post(url(), { model: "m" }, auth);
    expect(missing.status).toBe(422);
    expect(json(missing)).toMatchObject({ detail: [{ type: "missing", loc: ["body", "messages"], msg: "Field required" }] });
    const extra = await post(url(), { model: "m", top_k: 3, messages: [{ role: "user", content: "x" }] }, auth);
    expect(extra.status).toBe(422);
    expect(json(extra)).toMatchObject({ detail: [{ type: "extra_forbidden", loc: ["body", "top_k"] }] });
    const model = await post(url(), { model: "missing-model", messages: [{ role: "user", content: "x" }] }, auth);
    expect(model.status).toBe(400);
    expect(json(model)).toEqual({ object: "error", message: "Invalid model: missing-model", type: "invalid_model", param: null, code: "1500" });
  });

  it("answers embeddings and failNext(429)", async () => {
    const e = json(await post(`${sim.url}/v1/embeddings`, { model: "mistral-embed", input: ["p q"] }, auth));
    expect(e).toMatchObject({ object: "list", usage: { prompt_tokens: 2, total_tokens: 2, completion_tokens: 0 } });
    expect((e["data"] as { embedding: number[] }[])[0].embedding).toEqual(embedding("p q"));
    sim.failNext(429);
    const r = await post(url(), {}, auth);
    expect(r.status).toBe(429);
    expect(json(r)).toEqual({ message: "Requests rate limit exceeded" });
  });
});

describe("Ollama simulator", () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await keep(startOllama());
  });

  it("streams /api/chat as NDJSON by default, with a final done line carrying counts", async () => {
    const r = await post(`${sim.url}/api/chat`, { model: "llama3.2", messages: [{ role: "system", content: "short" }, { role: "user", content: "why sky" }] });
    expect(r.headers.get("content-type")).toBe("application/x-ndjson");
    const d = decodeStream("ollama", r.chunks);
    const lines = d.frames.map((f) => JSON.parse(f.data) as { done: boolean; done_reason?: string });
    expect(lines.map((l) => l.done)).toEqual([false, false, false, true]);
    expect(lines[3]).toMatchObject({ done_reason: "stop", prompt_eval_count: 3, eval_count: 3, message: { role: "assistant", content: "" } });
    expect(d.text).toBe("echo: why sky");
    expect(d.usage).toEqual({ prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 });
  });

  it("answers one JSON object with stream: false, cut by options.num_predict with done_reason length", async () => {
    const r = await post(`${sim.url}/api/chat`, { model: "llama3.2", stream: false, options: { num_predict: 2 }, messages: [{ role: "user", content: "a b c" }] });
    expect(r.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(json(r)).toMatchObject({ model: "llama3.2", message: { role: "assistant", content: "echo: a" }, done: true, done_reason: "length", prompt_eval_count: 3, eval_count: 2 });
  });

  it("answers /api/generate and /api/embed, and loads the model when there is nothing to do", async () => {
    const g = json(await post(`${sim.url}/api/generate`, { model: "llama3.2", prompt: "go now", stream: false }));
    expect(g).toMatchObject({ response: "echo: go now", done: true, done_reason: "stop", prompt_eval_count: 2, eval_count: 3 });
    const gs = decodeStream("ollama", (await post(`${sim.url}/api/generate`, { model: "llama3.2", prompt: "go now" })).chunks);
    expect(gs.text).toBe("echo: go now");
    const e = json(await post(`${sim.url}/api/embed`, { model: "all-minilm", input: ["u v", "w"] }));
    expect(e).toMatchObject({ model: "all-minilm", embeddings: [embedding("u v"), embedding("w")], prompt_eval_count: 3 });
    const load = json(await post(`${sim.url}/api/chat`, { model: "llama3.2", messages: [] }));
    expect(load).toMatchObject({ done: true, done_reason: "load" });
  });

  it("answers errors as {error}, and unknown paths with Go's plain-text 404", async () => {
    const missing = await post(`${sim.url}/api/chat`, { model: "missing-model", messages: [{ role: "user", content: "x" }] });
    expect(missing.status).toBe(404);
    expect(json(missing)).toEqual({ error: 'model "missing-model" not found, try pulling it first' });
    const noModel = await post(`${sim.url}/api/chat`, { messages: [{ role: "user", content: "x" }] });
    expect(noModel.status).toBe(400);
    expect(json(noModel)).toEqual({ error: "model is required" });
    const path404 = await post(`${sim.url}/v1/chat/completions`, {});
    expect(path404.status).toBe(404);
    expect(path404.text).toBe("404 page not found");
    sim.failNext(503);
    const busy = await post(`${sim.url}/api/chat`, {});
    expect(busy.status).toBe(503);
    expect(json(busy)["error"]).toMatch(/server busy/);
  });

  it("returns tool_calls when tools are offered", async () => {
    const r = json(
      await post(`${sim.url}/api/chat`, { model: "llama3.2", stream: false, tools: [{ type: "function", function: { name: "lookup" } }], messages: [{ role: "user", content: "find x" }] }),
    );
    expect(r).toMatchObject({ message: { tool_calls: [{ function: { name: "lookup", arguments: { query: "find x" } } }] }, done: true });
  });
});
