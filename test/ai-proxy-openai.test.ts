// ai-proxy in front of the OpenAI simulator: request mapping (path, authority, auth, model,
// options, stream_options), response pass-through with analytics, streams, errors.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAI, OPENAI_DEFAULT_KEY, type Simulator } from "./simulators/index.ts";
import { accessLog, buildAiProxy, errorOf, json, proxyGateway, sseChunks, sseData, streamedText, type ProxyGateway } from "./ai-proxy-harness.ts";

let sim: Simulator;
beforeAll(async () => {
  buildAiProxy();
  sim = await startOpenAI();
}, 180_000);
afterAll(async () => {
  await sim?.close();
});

function config(extra: Record<string, unknown> = {}, options: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    route_type: "llm/v1/chat",
    auth: { header_name: "Authorization", header_value: `Bearer ${OPENAI_DEFAULT_KEY}` },
    model: { provider: "openai", name: "gpt-4o-mini", options: { upstream_url: `${sim.url}/v1/chat/completions`, ...options } },
    ...extra,
  };
}

async function withGateway<T>(cfg: unknown, fn: (g: ProxyGateway) => Promise<T>, o = {}): Promise<T> {
  const g = await proxyGateway(cfg, sim.port, o);
  try {
    return await fn(g);
  } finally {
    await g.close();
  }
}

const chat = { messages: [{ role: "user", content: "hello there" }] };

describe("ai-proxy → openai: chat", () => {
  it("maps path, authority and credential, sets the model and passes the answer through", async () => {
    await withGateway(config(), async (g) => {
      const n = sim.requests.length;
      const r = await g.post("/anything/at/all?x=1", chat, { authorization: "Bearer client-key", "x-api-key": "k2", "accept-encoding": "gzip" });
      expect(r.status).toBe(200);
      const body = json(r);
      expect(body.object).toBe("chat.completion");
      expect((body.choices as { message: { content: string } }[])[0].message.content).toBe("echo: hello there");
      expect(body.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
      expect(r.headers["x-ai-gateway-llm-model"]).toBe("openai/gpt-4o-mini");
      const up = sim.requests[n];
      expect(up.path).toBe("/v1/chat/completions");
      expect(up.query.get("x")).toBe("1");
      expect(up.headers["authorization"]).toBe(`Bearer ${OPENAI_DEFAULT_KEY}`);
      expect(up.headers["x-api-key"]).toBeUndefined();
      expect(up.headers["accept-encoding"]).toBeUndefined();
      expect(up.headers["host"]).toBe(`127.0.0.1:${sim.port}`);
      expect(up.body).toMatchObject({ model: "gpt-4o-mini", stream: false, messages: chat.messages });
    });
  });
});
