// ai-proxy in front of the OpenAI simulator: request mapping (path, authority, auth, model,
// options, stream_options), response pass-through with analytics, streams, errors.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAI, OPENAI_DEFAULT_KEY, type Simulator } from "./simulators/index.ts";
import { waitForLog, buildAiProxy, errorOf, json, withProxyGateway, sseChunks, sseData, streamedText, type ProxyGateway, type ProxyOptions } from "./ai-proxy-harness.ts";

let sim: Simulator;
beforeAll(async () => {
  buildAiProxy();
  sim = await startOpenAI();
}, 180_000);
afterAll(async () => {
  await sim?.close();
});

type Obj = Record<string, unknown>;

function config(extra: Obj = {}, options: Obj = {}, model: Obj = {}): Obj {
  return {
    route_type: "llm/v1/chat",
    auth: { header_name: "Authorization", header_value: `Bearer ${OPENAI_DEFAULT_KEY}` },
    model: { provider: "openai", name: "gpt-4o-mini", options: { upstream_url: `${sim.url}/v1/chat/completions`, ...options }, ...model },
    ...extra,
  };
}

const withGateway = <T>(cfg: unknown, fn: (g: ProxyGateway) => Promise<T>, o: ProxyOptions = {}, port?: number): Promise<T> => withProxyGateway(cfg, port ?? sim.port, fn, o);

/** The body the simulator received for the request made by `fn`. */
async function upstreamBody(g: ProxyGateway, body: unknown, headers: Record<string, string> = {}): Promise<Obj> {
  const n = sim.requests.length;
  const r = await g.post("/v1/chat/completions", body, headers);
  expect(r.status, r.body).toBe(200);
  return sim.requests[n].body as Obj;
}

const chat = { messages: [{ role: "user", content: "hello there" }] };

const LOG_FIELDS = {
  ai: "%FILTER_STATE(wasm.ai.log:PLAIN)%",
  provider: "%FILTER_STATE(wasm.ai.provider_name:PLAIN)%",
  prompt: "%FILTER_STATE(wasm.ai.prompt_tokens:PLAIN)%",
  completion: "%FILTER_STATE(wasm.ai.completion_tokens:PLAIN)%",
  total: "%FILTER_STATE(wasm.ai.total_tokens:PLAIN)%",
  response_model: "%FILTER_STATE(wasm.ai.response_model:PLAIN)%",
  cost: "%FILTER_STATE(wasm.ai.cost:PLAIN)%",
  status: "%RESPONSE_CODE%",
};

describe("ai-proxy → openai: request mapping", () => {
  it("maps path, authority and credential, sets the model and passes the answer through", async () => {
    await withGateway(config(), async (g) => {
      const n = sim.requests.length;
      const r = await g.post("/anything/at/all?x=1", chat, { authorization: "Bearer client-key", "x-api-key": "k2", "api-key": "k3", "x-goog-api-key": "k4", "accept-encoding": "gzip" });
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
      expect(up.headers["api-key"]).toBeUndefined();
      expect(up.headers["x-goog-api-key"]).toBeUndefined();
      expect(up.headers["accept-encoding"]).toBeUndefined();
      expect(up.headers["host"]).toBe(`127.0.0.1:${sim.port}`);
      expect(up.body).toEqual({ messages: chat.messages, model: "gpt-4o-mini", stream: false });
    });
  });

  it("keeps untouched members byte for byte (big integers, unicode, nested objects) and drops top_k", async () => {
    await withGateway(config(), async (g) => {
      const n = sim.requests.length;
      const raw = '{"messages":[{"role":"user","content":"h\\u00e9 \\"q\\" ✓"}],"seed":12345678901234567890,"top_k":5,"metadata":{"a":[1,2.50,{"b":null}]}}';
      const r = await g.post("/v1/chat/completions", raw);
      expect(r.status, r.body).toBe(200);
      const sent = sim.requests[n].raw;
      expect(sent).toContain('"seed":12345678901234567890');
      expect(sent).toContain('"metadata":{"a":[1,2.50,{"b":null}]}');
      expect(sent).toContain('"content":"h\\u00e9 \\"q\\" ✓"');
      expect(sent).not.toContain("top_k");
    });
  });

  it("fills absent tuning fields from model.options; the request's own values win", async () => {
    await withGateway(config({}, { max_tokens: 7, temperature: 0.5, top_p: 0.25, top_k: 3 }), async (g) => {
      expect(await upstreamBody(g, chat)).toMatchObject({ max_tokens: 7, temperature: 0.5, top_p: 0.25 });
      const own = await upstreamBody(g, { ...chat, max_tokens: 2, temperature: 1, top_p: 1 });
      expect(own).toMatchObject({ max_tokens: 2, temperature: 1, top_p: 1 });
      expect(own).not.toHaveProperty("top_k");
      // max_completion_tokens counts as the client's own limit.
      const mct = await upstreamBody(g, { ...chat, max_completion_tokens: 4 });
      expect(mct.max_completion_tokens).toBe(4);
      expect(mct).not.toHaveProperty("max_tokens");
    });
  });

  it("takes the model from the request when none is configured, and refuses another model when one is", async () => {
    await withGateway(config({}, {}, { name: null }), async (g) => {
      expect(await upstreamBody(g, { ...chat, model: "gpt-4.1" })).toMatchObject({ model: "gpt-4.1" });
      const r = await g.post("/v1/chat/completions", chat);
      expect(r.status).toBe(400);
      expect(errorOf(r).message).toBe("model parameter not found in request, nor in gateway configuration");
    });
    await withGateway(config(), async (g) => {
      expect(await upstreamBody(g, { ...chat, model: "gpt-4o-mini" })).toMatchObject({ model: "gpt-4o-mini" });
      const r = await g.post("/v1/chat/completions", { ...chat, model: "gpt-4o" });
      expect(r.status).toBe(400);
      expect(errorOf(r)).toEqual({ message: "cannot use own model - must be: gpt-4o-mini", type: "invalid_request_error", code: null });
    });
  });

  it("keeps the client's credential with allow_override and drops it without", async () => {
    await withGateway(config({ auth: { header_name: "authorization", header_value: "Bearer wrong", allow_override: true } }), async (g) => {
      const n = sim.requests.length;
      const r = await g.post("/v1/chat/completions", chat, { authorization: `Bearer ${OPENAI_DEFAULT_KEY}` });
      expect(r.status).toBe(200);
      expect(sim.requests[n].headers["authorization"]).toBe(`Bearer ${OPENAI_DEFAULT_KEY}`);
      // Without a client credential the configured one is used.
      const r2 = await g.post("/v1/chat/completions", chat);
      expect(r2.status).toBe(401);
    });
  });

  it("resolves {vault://env/NAME} credentials from the VM environment, and names the variable when it is unset", async () => {
    const cfg = config({ auth: { header_name: "authorization", header_value: "Bearer {vault://env/openai-key}" } });
    await withGateway(cfg, async (g) => {
      const r = await g.post("/v1/chat/completions", chat);
      expect(r.status).toBe(200);
      expect(sim.requests[sim.requests.length - 1].headers["authorization"]).toBe(`Bearer ${OPENAI_DEFAULT_KEY}`);
    }, { env: { OPENAI_KEY: OPENAI_DEFAULT_KEY } });
    await withGateway(cfg, async (g) => {
      const n = sim.requests.length;
      const r = await g.post("/v1/chat/completions", chat);
      expect(r.status).toBe(500);
      expect(errorOf(r).message).toContain("environment variable OPENAI_KEY is not set");
      expect(sim.requests.length).toBe(n);
      expect(g.errors().join("\n")).toContain("OPENAI_KEY");
    });
  });

  it("sends the credential as a query parameter or a body member", async () => {
    await withGateway(config({ auth: { param_name: "key", param_value: "a b&c", param_location: "query" } }), async (g) => {
      const n = sim.requests.length;
      await g.post("/v1/chat/completions?key=client&z=2", chat);
      expect(sim.requests[n].query.getAll("key")).toEqual(["a b&c"]);
      expect(sim.requests[n].query.get("z")).toBe("2");
    });
    await withGateway(config({ auth: { param_name: "api_key", param_value: "secret", param_location: "body" } }), async (g) => {
      const n = sim.requests.length;
      await g.post("/v1/chat/completions", { ...chat, api_key: "client" });
      expect(sim.requests[n].body).toMatchObject({ api_key: "secret", model: "gpt-4o-mini" });
    });
  });
});

describe("ai-proxy → openai: streaming", () => {
  it("asks for usage, drops the usage-only chunk the client did not ask for, and records usage", async () => {
    await withGateway(config({ logging: { log_statistics: true } }, { input_cost: 10, output_cost: 20 }), async (g) => {
      const n = sim.requests.length;
      const r = await g.post("/v1/chat/completions", { ...chat, stream: true });
      expect(r.status).toBe(200);
      expect(r.headers["content-type"]).toBe("text/event-stream");
      expect(sim.requests[n].body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
      expect(streamedText(r.body)).toBe("echo: hello there");
      const data = sseData(r.body);
      expect(data[data.length - 1]).toBe("[DONE]");
      expect(sseChunks(r.body).some((c) => Array.isArray(c.choices) && c.choices.length === 0)).toBe(false);
      const log = (await waitForLog(g))[0];
      expect(log).toMatchObject({ provider: "openai", prompt: "2", completion: "3", total: "5", cost: "0.00008", status: 200 });
      const ai = JSON.parse(log.ai as string) as { proxy: { meta: Obj; usage: Obj } };
      expect(ai.proxy.meta).toMatchObject({ provider_name: "openai", request_model: "gpt-4o-mini", response_model: "gpt-4o-mini", request_mode: "stream" });
      expect(ai.proxy.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5, cost: 0.00008 });
    }, { accessLog: LOG_FIELDS });
  });

  it("passes the usage chunk when the client asked for it, keeping its other stream_options", async () => {
    await withGateway(config(), async (g) => {
      const n = sim.requests.length;
      const r = await g.post("/v1/chat/completions", { ...chat, stream: true, stream_options: { include_usage: true, extra: 1 } });
      expect(sim.requests[n].body).toMatchObject({ stream_options: { include_usage: true, extra: 1 } });
      const last = sseChunks(r.body).pop()!;
      expect(last.choices).toEqual([]);
      expect(last.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
    });
  });

  it("response_streaming deny refuses stream:true; always forces a stream", async () => {
    await withGateway(config({ response_streaming: "deny" }), async (g) => {
      const r = await g.post("/v1/chat/completions", { ...chat, stream: true });
      expect(r.status).toBe(400);
      expect(errorOf(r).message).toBe("response streaming is not enabled for this LLM");
      expect((await g.post("/v1/chat/completions", chat)).status).toBe(200);
    });
    await withGateway(config({ response_streaming: "always" }), async (g) => {
      const r = await g.post("/v1/chat/completions", chat);
      expect(r.headers["content-type"]).toBe("text/event-stream");
      expect(streamedText(r.body)).toBe("echo: hello there");
    });
  });
});

describe("ai-proxy → openai: analytics", () => {
  it("log_payloads adds the client body and the answer (assembled text for streams)", async () => {
    await withGateway(config({ logging: { log_statistics: true, log_payloads: true } }), async (g) => {
      const raw = JSON.stringify(chat);
      await g.post("/v1/chat/completions", raw);
      await g.post("/v1/chat/completions", { ...chat, stream: true });
      const lines = await waitForLog(g, 2);
      const plain = JSON.parse(lines[0].ai as string) as { proxy: { payload: { request: string; response: string }; meta: Obj } };
      expect(plain.proxy.payload.request).toBe(raw);
      expect(JSON.parse(plain.proxy.payload.response)).toMatchObject({ object: "chat.completion" });
      expect(plain.proxy.meta.request_mode).toBe("oneshot");
      const streamed = JSON.parse(lines[1].ai as string) as { proxy: { payload: { response: string } } };
      expect(streamed.proxy.payload.response).toBe("echo: hello there");
    }, { accessLog: LOG_FIELDS });
  });

  it("records refused requests too, with their status and no tokens", async () => {
    await withGateway(config({ logging: { log_statistics: true } }), async (g) => {
      const r = await g.post("/v1/chat/completions", { messages: [] });
      expect(r.status).toBe(400);
      const log = (await waitForLog(g))[0];
      expect(log).toMatchObject({ provider: "openai", prompt: "0", total: "0", status: 400 });
      expect(JSON.parse(log.ai as string)).not.toHaveProperty("proxy.payload");
    }, { accessLog: LOG_FIELDS });
  });

  it("writes only the individual keys without log_statistics", async () => {
    await withGateway(config(), async (g) => {
      await g.post("/v1/chat/completions", chat);
      const log = (await waitForLog(g))[0];
      expect(log).toMatchObject({ provider: "openai", prompt: "2", completion: "3" });
      expect(log.ai).toBeNull();
    }, { accessLog: LOG_FIELDS });
  });
});

describe("ai-proxy → openai: completions and embeddings", () => {
  it("completions go to /v1/completions with a prompt", async () => {
    const cfg = config({ route_type: "llm/v1/completions" }, { upstream_url: null }, { name: "gpt-3.5-turbo-instruct" });
    // No upstream_url: the default path /v1/completions, with :authority api.openai.com.
    await withGateway(cfg, async (g) => {
      const n = sim.requests.length;
      const r = await g.post("/v1/completions", { prompt: "say this" });
      expect(r.status, r.body).toBe(200);
      expect(json(r).object).toBe("text_completion");
      expect(sim.requests[n].path).toBe("/v1/completions");
      expect(sim.requests[n].headers.host).toBe("api.openai.com:443");
    });
  });

  it("embeddings keep input and set the model, without stream fields", async () => {
    const cfg = config({ route_type: "llm/v1/embeddings" }, { upstream_url: `${sim.url}/v1/embeddings` }, { name: "text-embedding-3-small" });
    await withGateway(cfg, async (g) => {
      const n = sim.requests.length;
      const r = await g.post("/v1/embeddings", { input: ["a b", "c"] });
      expect(r.status, r.body).toBe(200);
      const b = json(r);
      expect(b.object).toBe("list");
      expect((b.data as unknown[]).length).toBe(2);
      expect(sim.requests[n].body).toEqual({ input: ["a b", "c"], model: "text-embedding-3-small" });
    });
  });
});

describe("ai-proxy → openai: errors", () => {
  it("keeps the provider's status and message in the OpenAI error shape", async () => {
    await withGateway(config({ auth: { header_name: "authorization", header_value: "Bearer nope" } }), async (g) => {
      const r = await g.post("/v1/chat/completions", chat);
      expect(r.status).toBe(401);
      expect(r.headers["content-type"]).toBe("application/json");
      expect(errorOf(r)).toMatchObject({ type: "invalid_request_error", code: "invalid_api_key" });
      expect(errorOf(r).message).toContain("Incorrect API key provided");
      expect(r.headers["x-ai-gateway-llm-model"]).toBeUndefined();
    });
  });

  it("turns non-JSON upstream errors into the OpenAI shape with their status", async () => {
    await withGateway(config(), async (g) => {
      sim.failNext(502, { nonJson: true });
      const r = await g.post("/v1/chat/completions", chat);
      expect(r.status).toBe(502);
      expect(errorOf(r).type).toBe("api_error");
      expect(errorOf(r).message).toContain("502");
      sim.failNext(429);
      const r2 = await g.post("/v1/chat/completions", chat);
      expect(r2.status).toBe(429);
      expect(errorOf(r2).message.length).toBeGreaterThan(0);
    });
  });

  it("turns the gateway's own 503 (upstream down) into the OpenAI shape", async () => {
    const down = await startOpenAI();
    const port = down.port;
    await down.close();
    await withGateway(config({}, { upstream_url: `http://127.0.0.1:${port}/v1/chat/completions` }), async (g) => {
      const r = await g.post("/v1/chat/completions", chat);
      expect(r.status).toBe(503);
      expect(r.headers["content-type"]).toBe("application/json");
      expect(errorOf(r)).toMatchObject({ type: "api_error" });
      expect(errorOf(r).message).toContain("upstream connect error");
    }, {}, port);
  });
});
