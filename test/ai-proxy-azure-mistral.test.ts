// ai-proxy in front of the Azure OpenAI and Mistral simulators: default paths and query,
// credentials, what each upstream accepts for streams (stream_options or not), usage
// capture or Kong's estimate, and each provider's error bodies in the OpenAI shape.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAzure, startMistral, AZURE_DEFAULT_KEY, MISTRAL_DEFAULT_KEY, type Simulator } from "./simulators/index.ts";
import { buildAiProxy, errorOf, json, withProxyGateway, sseChunks, streamedText, waitForLog, type ProxyGateway, type ProxyOptions } from "./ai-proxy-harness.ts";

type Obj = Record<string, unknown>;
let azure: Simulator;
let mistral: Simulator;
beforeAll(async () => {
  buildAiProxy();
  azure = await startAzure({ deployment: "dep-1" });
  mistral = await startMistral();
}, 180_000);
afterAll(async () => {
  await azure?.close();
  await mistral?.close();
});

const withGateway = <T>(cfg: unknown, sim: Simulator, fn: (g: ProxyGateway) => Promise<T>, o: ProxyOptions = {}): Promise<T> => withProxyGateway(cfg, sim.port, fn, o);

const chat = { messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hello there friend" }] };
const LOG = { prompt: "%FILTER_STATE(wasm.ai.prompt_tokens:PLAIN)%", completion: "%FILTER_STATE(wasm.ai.completion_tokens:PLAIN)%", model: "%FILTER_STATE(wasm.ai.response_model:PLAIN)%", ai: "%FILTER_STATE(wasm.ai.log:PLAIN)%" };

function azureCfg(options: Obj = {}, extra: Obj = {}): Obj {
  return {
    route_type: "llm/v1/chat",
    auth: { header_name: "api-key", header_value: AZURE_DEFAULT_KEY },
    model: { provider: "azure", name: "gpt-4o-mini", options: { azure_instance: "myres", azure_deployment_id: "dep-1", ...options } },
    logging: { log_statistics: true },
    ...extra,
  };
}

describe("ai-proxy → azure", () => {
  it("builds the deployment path and api-version, sends api-key and the body's model", async () => {
    await withGateway(azureCfg(), azure, async (g) => {
      const n = azure.requests.length;
      const r = await g.post("/v1/chat/completions", chat, { authorization: "Bearer client" });
      expect(r.status, r.body).toBe(200);
      const up = azure.requests[n];
      expect(up.path).toBe("/openai/deployments/dep-1/chat/completions");
      expect(up.query.get("api-version")).toBe("2023-05-15");
      expect(up.headers["api-key"]).toBe(AZURE_DEFAULT_KEY);
      expect(up.headers["authorization"]).toBeUndefined();
      expect(up.headers.host).toBe("myres.openai.azure.com:443");
      expect(up.body).toMatchObject({ model: "gpt-4o-mini", stream: false });
      expect((json(r).choices as { message: { content: string } }[])[0].message.content).toBe("echo: hello there friend");
      expect(r.headers["x-ai-gateway-llm-model"]).toBe("azure/gpt-4o-mini");
    });
  });

  it("lets the client's api-version win", async () => {
    await withGateway(azureCfg(), azure, async (g) => {
      const n = azure.requests.length;
      await g.post("/x?api-version=2024-10-21", chat);
      expect(azure.requests[n].query.getAll("api-version")).toEqual(["2024-10-21"]);
    });
  });

  it("forwards the client's own stream_options on 2023-05-15 (the upstream decides)", async () => {
    await withGateway(azureCfg(), azure, async (g) => {
      const n = azure.requests.length;
      const r = await g.post("/", { ...chat, stream: true, stream_options: { include_usage: true } });
      expect(azure.requests[n].body).toMatchObject({ stream_options: { include_usage: true } });
      expect(sseChunks(r.body).pop()).toMatchObject({ choices: [], usage: { prompt_tokens: 5 } });
    });
  });

  it("streams without stream_options on 2023-05-15 and estimates usage as Kong does", async () => {
    await withGateway(azureCfg(), azure, async (g) => {
      const n = azure.requests.length;
      const r = await g.post("/", { ...chat, stream: true });
      expect(r.status).toBe(200);
      expect(azure.requests[n].body).not.toHaveProperty("stream_options");
      expect(streamedText(r.body)).toBe("echo: hello there friend");
      const log = (await waitForLog(g))[0];
      // prompt: 5 words × 1.8 = 9; completion: ceil(len("echo: hello there friend") / 4) = 6
      expect(log).toMatchObject({ prompt: "9", completion: "6" });
      const ai = JSON.parse(log.ai as string) as { proxy: { meta: Obj } };
      expect(ai.proxy.meta).toMatchObject({ provider_name: "azure", azure_instance_id: "myres", azure_deployment_id: "dep-1", azure_api_version: "2023-05-15" });
    }, { accessLog: LOG });
  });

  it("asks for usage from 2024-08-01 on and reports the provider's counts", async () => {
    await withGateway(azureCfg({ azure_api_version: "2024-10-21" }), azure, async (g) => {
      const n = azure.requests.length;
      const r = await g.post("/", { ...chat, stream: true });
      expect(azure.requests[n].body).toMatchObject({ stream_options: { include_usage: true } });
      // Neither Azure's prompt-filter chunk (choices: [], object "") nor the usage chunk reaches the client.
      const chunks = sseChunks(r.body);
      expect(chunks.length).toBeGreaterThan(0);
      expect(chunks.every((c) => c.object === "chat.completion.chunk" && (c.choices as unknown[]).length > 0 && !c.usage)).toBe(true);
      expect((await waitForLog(g))[0]).toMatchObject({ prompt: "5", completion: "4" });
    }, { accessLog: LOG });
  });

  it("maps Azure's error bodies, keeping status and code", async () => {
    await withGateway(azureCfg({ azure_deployment_id: "nope" }), azure, async (g) => {
      const r = await g.post("/", chat);
      expect(r.status).toBe(404);
      expect(errorOf(r)).toMatchObject({ code: "DeploymentNotFound", type: "not_found_error" });
      expect(errorOf(r).message).toContain("deployment for this resource does not exist");
    });
  });
});

function mistralCfg(options: Obj = {}, extra: Obj = {}): Obj {
  return {
    route_type: "llm/v1/chat",
    auth: { header_name: "authorization", header_value: `Bearer ${MISTRAL_DEFAULT_KEY}` },
    model: { provider: "mistral", name: "mistral-small-latest", options: { mistral_format: "openai", ...options } },
    ...extra,
  };
}

describe("ai-proxy → mistral (openai format)", () => {
  it("drops what Mistral refuses, renames max_completion_tokens and sends no stream_options", async () => {
    await withGateway(mistralCfg(), mistral, async (g) => {
      const n = mistral.requests.length;
      const r = await g.post("/", { ...chat, top_k: 4, max_completion_tokens: 2, stream: true, stream_options: { include_usage: true } });
      expect(r.status, r.body).toBe(200);
      const up = mistral.requests[n];
      expect(up.path).toBe("/v1/chat/completions");
      expect(up.headers.host).toBe("api.mistral.ai:443");
      expect(up.body).toMatchObject({ model: "mistral-small-latest", max_tokens: 2, stream: true });
      expect(up.body).not.toHaveProperty("top_k");
      expect(up.body).not.toHaveProperty("stream_options");
      expect(up.body).not.toHaveProperty("max_completion_tokens");
      expect(streamedText(r.body)).toBe("echo: hello");
    });
  });

  it("captures usage from Mistral's final chunk", async () => {
    await withGateway(mistralCfg(), mistral, async (g) => {
      await g.post("/", { ...chat, stream: true });
      expect((await waitForLog(g))[0]).toMatchObject({ prompt: "5", completion: "4", model: "mistral-small-latest" });
    }, { accessLog: LOG });
  });

  it("embeddings go to /v1/embeddings", async () => {
    await withGateway(mistralCfg({}, { route_type: "llm/v1/embeddings" }), mistral, async (g) => {
      const n = mistral.requests.length;
      const r = await g.post("/", { input: "abc" });
      expect(r.status, r.body).toBe(200);
      expect(mistral.requests[n].path).toBe("/v1/embeddings");
      expect(json(r).object).toBe("list");
    });
  });

  it("maps Mistral's 401 and its object errors", async () => {
    await withGateway(mistralCfg({}, { auth: { header_name: "authorization", header_value: "Bearer bad" } }), mistral, async (g) => {
      const r = await g.post("/", chat);
      expect(r.status).toBe(401);
      expect(errorOf(r)).toMatchObject({ message: "Unauthorized", type: "authentication_error" });
    });
    const unknownModel = mistralCfg();
    (unknownModel.model as Obj).name = "missing-model";
    await withGateway(unknownModel, mistral, async (g) => {
      const r = await g.post("/", chat);
      expect(r.status).toBe(400);
      expect(errorOf(r)).toEqual({ message: "Invalid model: missing-model", type: "invalid_model", code: "1500" });
    });
  });
});
