// ai-proxy's response path against a scripted upstream: a recorded OpenAI stream split at
// every byte offset gives the same client output; broken streams end with an error frame;
// untranslatable 200s, timeouts and FastAPI-style errors come back in the OpenAI shape.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type http from "node:http";
import { startUpstream, type Received, type TestUpstream } from "./support/upstream.ts";
import { buildAiProxy, errorOf, proxyGateway, sseChunks, sseData, streamedText, waitForLog, type ProxyGateway } from "./ai-proxy-harness.ts";

type Script = (req: Received, res: http.ServerResponse) => void | Promise<void>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let up: TestUpstream;
let script: Script = (_q, res) => {
  res.end();
};
let g: ProxyGateway;

const LOG = { prompt: "%FILTER_STATE(wasm.ai.prompt_tokens:PLAIN)%", completion: "%FILTER_STATE(wasm.ai.completion_tokens:PLAIN)%", status: "%FILTER_STATE(wasm.ai.status:PLAIN)%" };

beforeAll(async () => {
  buildAiProxy();
  up = await startUpstream((q, res) => script(q, res));
  g = await proxyGateway(
    {
      route_type: "llm/v1/chat",
      auth: { header_name: "authorization", header_value: "Bearer k" },
      model: { provider: "openai", name: "gpt-4o", options: { upstream_url: `http://127.0.0.1:${up.port}/v1/chat/completions` } },
    },
    up.port,
    { accessLog: LOG },
  );
}, 180_000);
afterAll(async () => {
  await g?.close();
  await up?.close();
});

const chunk = (content: string, extra = {}) => ({ id: "c1", object: "chat.completion.chunk", created: 1, model: "gpt-4o-2024", choices: [{ index: 0, delta: { content }, finish_reason: null }], usage: null, ...extra });
// CRLF line ends, a comment, an event field, multi-byte UTF-8, the usage-only chunk and [DONE].
const RECORDED =
  ": keep-alive\r\n\r\n" +
  `data: ${JSON.stringify(chunk("Héllo"))}\r\n\r\n` +
  `event: message\r\ndata: ${JSON.stringify(chunk(" wörld 🌍"))}\r\n\r\n` +
  `data: ${JSON.stringify(chunk("!", { choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }))}\n\n` +
  `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", created: 1, model: "gpt-4o-2024", choices: [], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } })}\n\n` +
  "data: [DONE]\n\n";

function streamWith(parts: Buffer[]): Script {
  return async (_q, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    for (const p of parts) {
      res.write(p);
      await sleep(parts.length > 10 ? 1 : 3);
    }
    res.end();
  };
}

const ask = { messages: [{ role: "user", content: "hi" }], stream: true };

describe("a recorded stream split at every byte offset", () => {
  it("gives the same client output for every split", async () => {
    const bytes = Buffer.from(RECORDED, "utf8");
    script = streamWith([bytes]);
    const whole = await g.post("/", ask);
    expect(whole.status).toBe(200);
    expect(streamedText(whole.body)).toBe("Héllo wörld 🌍");
    expect(sseData(whole.body).pop()).toBe("[DONE]");
    expect(sseChunks(whole.body).some((c) => (c.choices as unknown[]).length === 0)).toBe(false);
    for (let cut = 1; cut < bytes.length; cut++) {
      script = streamWith([bytes.subarray(0, cut), bytes.subarray(cut)]);
      const r = await g.post("/", ask);
      if (r.body !== whole.body) expect({ cut, body: r.body }).toEqual({ cut, body: whole.body });
    }
  }, 120_000);

  it("gives the same output when every byte arrives on its own", async () => {
    const bytes = Buffer.from(RECORDED, "utf8");
    script = streamWith([bytes]);
    const whole = await g.post("/", ask);
    script = streamWith([...bytes].map((b) => Buffer.from([b])));
    const r = await g.post("/", ask);
    expect(r.body).toBe(whole.body);
  }, 60_000);
});

describe("broken and unusual upstream answers", () => {
  it("ends a stream with an error frame at an event that is not JSON", async () => {
    script = streamWith([Buffer.from(`data: ${JSON.stringify(chunk("a"))}\n\ndata: {oops\n\ndata: ${JSON.stringify(chunk("b"))}\n\n`)]);
    const r = await g.post("/", ask);
    expect(r.status).toBe(200);
    const data = sseData(r.body);
    expect(JSON.parse(data[0])).toMatchObject({ choices: [{ delta: { content: "a" } }] });
    expect(JSON.parse(data[1])).toMatchObject({ error: { type: "api_error" } });
    expect(JSON.parse(data[1]).error.message).toContain("invalid stream event");
    expect(data.length).toBe(2);
  });

  it("ends a stream the upstream cut before [DONE] with an error event, never [DONE] (issue 11)", async () => {
    script = streamWith([Buffer.from(`data: ${JSON.stringify(chunk("a"))}\n\n`)]);
    const r = await g.post("/", ask);
    expect(sseData(r.body)).toEqual([
      JSON.stringify(chunk("a")),
      JSON.stringify({ error: { message: "upstream stream ended before its end marker", type: "api_error", code: null } }),
    ]);
  });

  it("answers a 200 without choices with the transformation error in the OpenAI shape", async () => {
    script = (_q, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ id: "x", object: "chat.completion" }));
    };
    const r = await g.post("/", { messages: [{ role: "user", content: "hi" }] });
    expect(errorOf(r)).toMatchObject({ message: "transformation failed from type openai://llm/v1/chat: 'choices' not in llm/v1/chat response", type: "api_error" });
  });

  it("translates a JSON answer to a stream request as a plain answer", async () => {
    script = (_q, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ id: "x", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "plain" }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
    };
    const r = await g.post("/", ask);
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/json");
  });

  it("shapes FastAPI-style validation errors and Envoy's own 504", async () => {
    script = (_q, res) => {
      res.writeHead(422, { "content-type": "application/json" });
      res.end(JSON.stringify({ detail: [{ type: "extra_forbidden", loc: ["body", "x"], msg: "Extra inputs are not permitted", input: 1 }] }));
    };
    const r = await g.post("/", { messages: [{ role: "user", content: "hi" }] });
    expect(r.status).toBe(422);
    expect(errorOf(r)).toMatchObject({ message: "body.x: Extra inputs are not permitted", type: "invalid_request_error" });

    script = async (_q, res) => {
      await sleep(600);
      res.end();
    };
    const short = await proxyGateway(
      { route_type: "llm/v1/chat", model: { provider: "openai", name: "gpt-4o", options: { upstream_url: `http://127.0.0.1:${up.port}/v1/chat/completions` } } },
      up.port,
      { timeout: "0.2s", accessLog: LOG },
    );
    try {
      const t = await short.post("/", { messages: [{ role: "user", content: "hi" }] });
      expect(t.status).toBe(504);
      expect(errorOf(t)).toMatchObject({ message: "upstream request timeout", type: "api_error" });
      const lines = await waitForLog(short, 1);
      expect(lines[lines.length - 1]).toMatchObject({ status: "504" });
    } finally {
      await short.close();
    }
  });
});
