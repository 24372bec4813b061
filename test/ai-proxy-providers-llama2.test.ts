// The llama2 provider (lib/llm/providers/llama2.ts): llama2_format=raw (Llama 2's
// [INST] prompt in a Hugging Face text-generation body, generated_text back, TGI's SSE
// stream) and llama2_format=openai (an OpenAI-compatible server); first through the
// llm-providers test module, then with the openai SDK through the gateway in front of a
// small scripted TGI server and of the OpenAI simulator.
import http from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPENAI_DEFAULT_KEY, startOpenAI, type Simulator } from "./simulators/index.ts";
import type { RunningGateway } from "./support/gateway.ts";
import { buildModules, collect, Lab, providerGateway, splitMismatches, type Json } from "./ai-proxy-providers-support.ts";
import { openaiClient } from "./support/client.ts";

beforeAll(() => buildModules(), 300_000);

const RAW = { provider: "llama2", name: "llama-2-7b-chat", options: { llama2_format: "raw", upstream_url: "http://tgi.local:8080/generate" } };

function lab(route = "llm/v1/chat", model: Json = RAW): Lab {
  const l = new Lab();
  const c = l.configure(route, model);
  expect(c.ok, c.text).toBe(true);
  return l;
}

describe("llama2: configuration", () => {
  it("requires llama2_format and upstream_url; raw has no embeddings", () => {
    const l = new Lab();
    expect(l.configure("llm/v1/chat", { provider: "llama2", name: "m" }).text).toBe("model.options.llama2_format is required for provider llama2 (one of: raw, openai, ollama)");
    expect(l.configure("llm/v1/chat", { provider: "llama2", name: "m", options: { llama2_format: "raw" } }).text).toBe(
      "model.options.upstream_url is required for provider llama2 with llama2_format=raw",
    );
    expect(l.configure("llm/v1/chat", { provider: "llama2", name: "m", options: { llama2_format: "openai" } }).text).toBe(
      "model.options.upstream_url is required for provider llama2 with llama2_format=openai",
    );
    expect(l.configure("llm/v1/embeddings", RAW).ok).toBe(false);
    // Kong: upstream_url is required for llama2 whatever the route type.
    expect(l.configure("preserve", { provider: "llama2", name: "m", options: { llama2_format: "ollama" } }).ok).toBe(false);
    expect(l.configure("preserve", RAW).ok).toBe(true);
    expect(l.configure("llm/v1/chat", RAW).value).toMatchObject({ authority: "tgi.local:8080", path: "/generate" });
    expect(l.reportsUsage()).toBe(false);
  });
});

describe("llama2 raw: the prompt format", () => {
  const inputs = (messages: Json[]) => lab().request({ messages }).value.inputs;

  it("a system prompt and one user turn", () => {
    expect(
      inputs([
        { role: "system", content: "be brief" },
        { role: "user", content: "hi" },
      ]),
    ).toBe("<s>[INST] <<SYS>>\nbe brief\n<</SYS>>\n\nhi [/INST]");
  });

  it("no system prompt", () => {
    expect(inputs([{ role: "user", content: "hi" }])).toBe("<s>[INST] hi [/INST]");
  });

  it("a conversation: answered turns closed with </s>, the system prompt in the first turn only", () => {
    expect(
      inputs([
        { role: "system", content: "be brief" },
        { role: "system", content: "be kind" },
        { role: "user", content: "hi" },
        { role: "assistant", content: "hello" },
        { role: "user", content: [{ type: "text", text: "how" }, { type: "text", text: "are you" }] },
        { role: "user", content: "today?" },
      ]),
    ).toBe("<s>[INST] <<SYS>>\nbe brief\nbe kind\n<</SYS>>\n\nhi [/INST] hello </s><s>[INST] how\nare you\ntoday? [/INST]");
  });

  it("a trailing assistant message stays open for the model to continue", () => {
    expect(
      inputs([
        { role: "user", content: "count" },
        { role: "assistant", content: "1, 2," },
      ]),
    ).toBe("<s>[INST] count [/INST] 1, 2,");
  });

  it("parameters and stream", () => {
    const r = lab().request({ messages: [{ role: "user", content: "hi" }], max_tokens: 20, temperature: 0.5, top_p: 0.9, top_k: 10, stop: ["</s>"], stream: true });
    expect(r.value).toEqual({
      inputs: "<s>[INST] hi [/INST]",
      parameters: { max_new_tokens: 20, temperature: 0.5, top_p: 0.9, top_k: 10, stop: ["</s>"], details: true },
      stream: true,
    });
    expect(lab("llm/v1/completions").request({ prompt: "Once upon" }).value).toEqual({ inputs: "Once upon", parameters: { details: true }, stream: false });
  });

  it("refuses tools, tool messages and images", () => {
    const l = lab();
    expect(l.request({ messages: [{ role: "user", content: "x" }, { role: "assistant", content: null, tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{}" } }] }] }).text).toBe(
      "messages[1]: tool calls are not supported by provider llama2 (raw format)",
    );
    expect(l.request({ messages: [{ role: "tool", tool_call_id: "c", content: "x" }] }).text).toBe("messages[0]: role 'tool' is not supported by provider llama2 (raw format)");
    expect(l.request({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,AA" } }] }] }).text).toContain("'image_url'");
  });
});

describe("llama2 raw: responses, errors and streams", () => {
  it("generated_text after the last [/INST], from an array or an object, with details", () => {
    const l = lab();
    l.request({ messages: [{ role: "user", content: "hi" }] });
    const r = l.response([{ generated_text: "<s>[INST] hi [/INST]  Hello! How can I help?", details: { finish_reason: "eos_token", generated_tokens: 7 } }]);
    expect(r.value).toEqual({
      id: "chatcmpl-test",
      object: "chat.completion",
      created: 1735689600,
      model: "llama-2-7b-chat",
      choices: [{ index: 0, message: { role: "assistant", content: "Hello! How can I help?" }, finish_reason: "stop", logprobs: null }],
      usage: { prompt_tokens: 0, completion_tokens: 7, total_tokens: 7 },
    });
    // Prompt tokens are not reported: left unknown for the filter's estimate.
    expect(l.responseState().usage).toEqual([-1, 7, 7]);
    const obj = l.response({ generated_text: "Sure.", details: { finish_reason: "length" } });
    expect((obj.value.choices as Json[])[0]).toMatchObject({ message: { content: "Sure." }, finish_reason: "length" });
    // `{"data":[…]}` (Kong reads data[1]): the first item is the answer.
    const data = l.response({ data: [{ generated_text: "[INST] hi [/INST] From data.", details: { finish_reason: "eos_token", generated_tokens: 3 } }] });
    expect((data.value.choices as Json[])[0]).toMatchObject({ message: { content: "From data." }, finish_reason: "stop" });
    expect(l.response({ data: [] }).text).toBe("transformation failed from type llama2://llm/v1/chat: response is not a JSON object or array of objects");
    expect(l.response({ data: [{ text: "x" }] }).text).toBe("transformation failed from type llama2://llm/v1/chat: 'generated_text' not in llama2://llm/v1/chat response");
    expect(l.response({ text: "x" }).text).toBe("transformation failed from type llama2://llm/v1/chat: 'generated_text' not in llama2://llm/v1/chat response");
    expect(l.response([]).ok).toBe(false);
    expect(l.response("[1,2").ok).toBe(false);
  });

  it("completions: the echoed prompt is cut off", () => {
    const l = lab("llm/v1/completions");
    l.request({ prompt: "Once upon" });
    expect(l.response([{ generated_text: "Once upon a time" }]).value).toMatchObject({ object: "text_completion", choices: [{ text: " a time", finish_reason: "stop" }] });
  });

  it("TGI errors keep their message", () => {
    const l = lab();
    expect(l.error(429, '{"error":"Model is overloaded","error_type":"overloaded"}').error).toEqual({ message: "Model is overloaded", type: "rate_limit_error", code: null });
    expect(l.error(422, '{"error":"Input validation error: `inputs` must have less than 4096 tokens","error_type":"validation"}').error.type).toBe("invalid_request_error");
  });

  const tgiStream = (tokens: string[], finish = "eos_token") =>
    [
      ...tokens.map((t, i) => `data:${JSON.stringify({ index: i + 1, token: { id: i, text: t, logprob: -0.1, special: false }, generated_text: null, details: null })}\n\n`),
      `data:${JSON.stringify({ index: tokens.length + 1, token: { id: 2, text: "</s>", logprob: 0, special: true }, generated_text: tokens.join(""), details: { finish_reason: finish, generated_tokens: tokens.length + 1, seed: null } })}\n\n`,
    ].join("");

  it("translates TGI's stream, the same when split at every byte", () => {
    const l = lab();
    l.request({ messages: [{ role: "user", content: "hi" }], stream: true, stream_options: { include_usage: true } });
    const bytes = new TextEncoder().encode(tgiStream([" Hello", "!", " é日本😀"]));
    const whole = l.stream([bytes]);
    const c = collect(whole);
    expect(c.text).toBe(" Hello! é日本😀");
    expect(c.finish).toBe("stop");
    expect(c.roles).toEqual(["assistant"]);
    expect(c.done).toBe(true);
    expect(l.streamState()).toMatchObject({ usage: [-1, 4, 4], finished: true, failed: false });
    expect(splitMismatches(l, bytes, whole)).toEqual([]);
  });

  it("a stream cut before its last event (details) ends with an error event, never [DONE] (issue 11)", () => {
    const l = lab();
    l.request({ messages: [{ role: "user", content: "hi" }], stream: true });
    const full = tgiStream([" Hello", "!"]);
    const cut = full.slice(0, full.lastIndexOf("data:"));
    const c = collect(l.stream([cut, ""]));
    expect(c.text).toBe(" Hello!");
    expect(c.done).toBe(false);
    expect(c.errors).toEqual([{ message: "upstream stream ended before its end marker", type: "api_error", code: null }]);
    expect(l.streamState()).toMatchObject({ finished: true, failed: true });
  });

  it("an error event ends the stream; junk never traps", () => {
    const l = lab();
    l.request({ messages: [{ role: "user", content: "hi" }], stream: true });
    const c = collect(l.stream(['data:{"token":{"text":"a","special":false}}\n\n', 'data:{"error":"Request failed during generation: Server error: CUDA out of memory","error_type":"generation"}\n\n']));
    expect(c.text).toBe("a");
    expect(c.errors[0]?.message).toContain("CUDA out of memory");
    const junk: (string | Uint8Array)[] = [Uint8Array.from([0xe2, 0x82, 0x0a, 0x0a]), "data:{\"token\":7}\n\n", 'data:{"token":{"text":["x"],"special":"no"},"details":5}\n\n', "data:" + "[".repeat(3000) + "\n\n"];
    for (const j of junk) expect(() => l.stream([j, ""])).not.toThrow();
  });
});

/** How the scripted server wraps a non-streamed answer: each shape Kong's llama2 driver reads. */
type AnswerShape = "array" | "object" | "data";

/** A tiny text-generation-inference server: echoes the prompt (as HF's API does) plus "Hi there!". */
async function startTgi(): Promise<{ url: string; port: number; requests: Json[]; failNext: (status: number, body: string) => void; shape: (s: AnswerShape) => void; close: () => Promise<void> }> {
  const requests: Json[] = [];
  let shape: AnswerShape = "array";
  const failures: { status: number; body: string }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Json;
      requests.push({ path: req.url, headers: req.headers, body });
      const f = failures.shift();
      if (f) {
        res.writeHead(f.status, { "content-type": f.body.startsWith("{") ? "application/json" : "text/html" });
        res.end(f.body);
        return;
      }
      const words = ["Hi", " there", "!"];
      const details = { finish_reason: "eos_token", generated_tokens: words.length };
      if (body.stream === true) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        words.forEach((w, i) => res.write(`data:${JSON.stringify({ index: i, token: { id: i, text: w, logprob: 0, special: false }, generated_text: null, details: null })}\n\n`));
        res.end(`data:${JSON.stringify({ index: 3, token: { id: 2, text: "</s>", logprob: 0, special: true }, generated_text: words.join(""), details })}\n\n`);
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      const answer = { generated_text: `${String(body.inputs)} ${words.join("")}`, details };
      res.end(JSON.stringify(shape === "array" ? [answer] : shape === "object" ? answer : { data: [answer] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    failNext: (status, body) => void failures.push({ status, body }),
    shape: (s) => void (shape = s),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe("llama2: the openai SDK through the gateway", () => {
  let tgi: Awaited<ReturnType<typeof startTgi>>;
  let oai: Simulator;
  let rawGw: RunningGateway;
  let oaiGw: RunningGateway;

  beforeAll(async () => {
    tgi = await startTgi();
    oai = await startOpenAI();
    rawGw = await providerGateway(tgi.port, [], () => ({ model: { provider: "llama2", name: "llama-2-7b-chat", options: { llama2_format: "raw", upstream_url: `${tgi.url}/generate` } } }), [
      "chat",
      "completions",
    ]);
    oaiGw = await providerGateway(
      oai.port,
      [],
      (kind) => ({
        auth: { header_name: "Authorization", header_value: `Bearer ${OPENAI_DEFAULT_KEY}` },
        model: { provider: "llama2", name: "gpt-4o-mini", options: { llama2_format: "openai", upstream_url: `${oai.url}/v1/${kind === "chat" ? "chat/completions" : kind}` } },
      }),
      ["chat", "embeddings"],
    );
  });
  afterAll(async () => {
    await rawGw?.close();
    await oaiGw?.close();
    await tgi?.close();
    await oai?.close();
  });

  it("raw chat: the [INST] prompt goes up, the answer after [/INST] comes back", async () => {
    const client = openaiClient(rawGw.url, "k");
    const r = await client.chat.completions.create({
      model: "llama-2-7b-chat",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "hello" },
      ],
      max_tokens: 30,
    });
    const got = tgi.requests.at(-1)!;
    expect(got.path).toBe("/generate");
    expect(got.body).toEqual({ inputs: "<s>[INST] <<SYS>>\nbe brief\n<</SYS>>\n\nhello [/INST]", parameters: { max_new_tokens: 30, details: true }, stream: false });
    expect(r.choices[0]!.message.content).toBe("Hi there!");
    expect(r.choices[0]!.finish_reason).toBe("stop");
    // Completion tokens from TGI's details; the prompt estimated by the filter (3 words).
    expect(r.usage).toMatchObject({ completion_tokens: 3 });
  });

  // Kong's llama2 driver reads `data[1].generated_text` (Lua's first item); TGI answers an
  // array, and some servers a bare object. Each shape gives the same OpenAI answer.
  for (const shape of ["array", "object", "data"] as const) {
    it(`raw chat: a '${shape}' answer, prompt echo cut after the last [/INST]`, async () => {
      tgi.shape(shape);
      try {
        const r = await openaiClient(rawGw.url, "k").chat.completions.create({ model: "llama-2-7b-chat", messages: [{ role: "user", content: "hello" }] });
        expect(r.object).toBe("chat.completion");
        expect(r.choices[0]!.message).toMatchObject({ role: "assistant", content: "Hi there!" });
        expect(r.usage).toMatchObject({ completion_tokens: 3 });
        const done = await openaiClient(rawGw.url, "k").completions.create({ model: "llama-2-7b-chat", prompt: "Once" });
        expect(done.choices[0]!.text).toBe(" Hi there!");
      } finally {
        tgi.shape("array");
      }
    });
  }

  it("raw streaming chat", async () => {
    const client = openaiClient(rawGw.url, "k");
    const stream = await client.chat.completions.create({ model: "llama-2-7b-chat", messages: [{ role: "user", content: "hello" }], stream: true });
    let text = "";
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(tgi.requests.at(-1)!.body).toMatchObject({ stream: true });
    expect(text).toBe("Hi there!");
    expect(finish).toBe("stop");
  });

  it("raw completions", async () => {
    const client = openaiClient(rawGw.url, "k");
    const r = await client.completions.create({ model: "llama-2-7b-chat", prompt: "Say" });
    expect(tgi.requests.at(-1)!.body).toMatchObject({ inputs: "Say" });
    expect(r.choices[0]!.text).toBe(" Hi there!");
  });

  it("raw errors: 429 JSON and a non-JSON 500 keep status and message", async () => {
    const client = openaiClient(rawGw.url, "k");
    tgi.failNext(429, '{"error":"Model is overloaded","error_type":"overloaded"}');
    const e429 = (await client.chat.completions.create({ model: "llama-2-7b-chat", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(e429).toBeInstanceOf(OpenAI.RateLimitError);
    expect(e429.error).toEqual({ message: "Model is overloaded", type: "rate_limit_error", code: null });
    tgi.failNext(500, "<html><h1>500 Internal Server Error</h1></html>");
    const e500 = (await client.chat.completions.create({ model: "llama-2-7b-chat", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(e500.status).toBe(500);
    expect((e500.error as Json).type).toBe("api_error");
    tgi.failNext(401, '{"error":"Authorization header is correct, but the token seems invalid"}');
    const e401 = (await client.chat.completions.create({ model: "llama-2-7b-chat", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(e401).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it("openai format: chat and streaming usage through an OpenAI-compatible upstream at upstream_url", async () => {
    const client = openaiClient(oaiGw.url, "k");
    const r = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello there" }] });
    expect(oai.requests.at(-1)!.path).toBe("/v1/chat/completions");
    expect(r.choices[0]!.message.content).toBe("echo: hello there");
    const stream = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello there" }], stream: true, stream_options: { include_usage: true } });
    let usage: OpenAI.CompletionUsage | undefined;
    let text = "";
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe("echo: hello there");
    expect(usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
    const e = await client.embeddings.create({ model: "gpt-4o-mini", input: "hello" });
    expect(e.data[0]!.embedding).toHaveLength(8);
  });
});
