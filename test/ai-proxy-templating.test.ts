// ai-proxy's Kong templating: `$(headers.X)` and `$(query_params.X)` in model.name and the
// string model.options, resolved per request. What the upstream received, what the client
// got and what the analytics recorded; Kong's 400 messages for missing values; unsafe values
// refused naming the field; malformed templates and uri_captures refused at load.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnthropic, startAzure, startOpenAI, ANTHROPIC_DEFAULT_KEY, AZURE_DEFAULT_KEY, OPENAI_DEFAULT_KEY, type Simulator } from "./simulators/index.ts";
import { buildAiProxy, errorOf, json, proxyGateway, withProxyGateway, waitForLog, type ProxyGateway, type ProxyOptions } from "./ai-proxy-harness.ts";

type Obj = Record<string, unknown>;
let openai: Simulator;
let azure: Simulator;
let anthropic: Simulator;
beforeAll(async () => {
  buildAiProxy();
  openai = await startOpenAI();
  azure = await startAzure({ deployment: "dep-2" });
  anthropic = await startAnthropic();
}, 180_000);
afterAll(async () => {
  await openai?.close();
  await azure?.close();
  await anthropic?.close();
});

const withGateway = <T>(cfg: unknown, sim: Simulator, fn: (g: ProxyGateway) => Promise<T>, o: ProxyOptions = {}): Promise<T> => withProxyGateway(cfg, sim.port, fn, o);

const chat = { messages: [{ role: "user", content: "hello there" }] };
const LOG = { model: "%FILTER_STATE(wasm.ai.request_model:PLAIN)%", ai: "%FILTER_STATE(wasm.ai.log:PLAIN)%", status: "%FILTER_STATE(wasm.ai.status:PLAIN)%" };

function openaiCfg(name: string, options: Obj = {}): Obj {
  return {
    route_type: "llm/v1/chat",
    auth: { header_name: "authorization", header_value: `Bearer ${OPENAI_DEFAULT_KEY}` },
    model: { provider: "openai", name, options },
    logging: { log_statistics: true },
  };
}

function azureCfg(options: Obj): Obj {
  return {
    route_type: "llm/v1/chat",
    auth: { header_name: "api-key", header_value: AZURE_DEFAULT_KEY },
    model: { provider: "azure", name: "gpt-4o-mini", options: { azure_instance: "myres", azure_deployment_id: "dep-2", ...options } },
    logging: { log_statistics: true },
  };
}

describe("model.name from the request", () => {
  it("takes the model from a header: upstream body, model header and analytics", async () => {
    await withGateway(openaiCfg("$(headers.x-model)"), openai, async (g) => {
      const n = openai.requests.length;
      const r = await g.post("/v1/chat/completions", chat, { "x-model": "gpt-4o-mini" });
      expect(r.status, r.body).toBe(200);
      expect(openai.requests[n].body).toMatchObject({ model: "gpt-4o-mini" });
      expect(r.headers["x-ai-gateway-llm-model"]).toBe("openai/gpt-4o-mini");
      const log = (await waitForLog(g))[0];
      expect(log.model).toBe("gpt-4o-mini");
      expect((JSON.parse(log.ai as string) as { proxy: { meta: Obj } }).proxy.meta).toMatchObject({ request_model: "gpt-4o-mini", provider_name: "openai" });

      // Per request, not cached: the next request's header decides its model.
      const r2 = await g.post("/v1/chat/completions", chat, { "x-model": "gpt-4.1" });
      expect(r2.status, r2.body).toBe(200);
      expect(openai.requests[n + 1].body).toMatchObject({ model: "gpt-4.1" });
      expect(r2.headers["x-ai-gateway-llm-model"]).toBe("openai/gpt-4.1");
      expect((await waitForLog(g, 2))[1].model).toBe("gpt-4.1");
    }, { accessLog: LOG });
  });

  it("matches header names as Kong does: any case, '_' for '-'", async () => {
    await withGateway(openaiCfg("$(headers.X_Model)"), openai, async (g) => {
      const n = openai.requests.length;
      const r = await g.post("/", chat, { "X-MODEL": "gpt-4o" });
      expect(r.status, r.body).toBe(200);
      expect(openai.requests[n].body).toMatchObject({ model: "gpt-4o" });
    });
  });

  it("takes the model from a query parameter, URL-decoded, first occurrence", async () => {
    await withGateway(openaiCfg("$(query_params.model)"), openai, async (g) => {
      const n = openai.requests.length;
      const r = await g.post("/v1/chat/completions?model=ft%3Agpt-4o+mini&model=other", chat);
      expect(r.status, r.body).toBe(200);
      expect(openai.requests[n].body).toMatchObject({ model: "ft:gpt-4o mini" });
      expect(r.headers["x-ai-gateway-llm-model"]).toBe("openai/ft:gpt-4o mini");
    });
  });

  it("refuses a request naming another model than the resolved one, and accepts the same one", async () => {
    await withGateway(openaiCfg("$(headers.x-model)"), openai, async (g) => {
      const n = openai.requests.length;
      const r = await g.post("/", { ...chat, model: "gpt-4.1" }, { "x-model": "gpt-4o-mini" });
      expect(r.status).toBe(400);
      expect(errorOf(r)).toMatchObject({ message: "cannot use own model - must be: gpt-4o-mini", type: "invalid_request_error" });
      const ok = await g.post("/", { ...chat, model: "gpt-4o-mini" }, { "x-model": "gpt-4o-mini" });
      expect(ok.status, ok.body).toBe(200);
      expect(openai.requests.length).toBe(n + 1);
    });
  });

  it("answers a missing header or parameter with Kong's 400 and sends nothing upstream", async () => {
    await withGateway(openaiCfg("$(headers.x-model)"), openai, async (g) => {
      const n = openai.requests.length;
      const r = await g.post("/", chat);
      expect(r.status).toBe(400);
      expect(r.headers["content-type"]).toBe("application/json");
      expect(errorOf(r)).toMatchObject({ message: "'headers', key 'x-model' was not provided", type: "invalid_request_error" });
      // An empty value provides nothing either.
      const e = await g.post("/", chat, { "x-model": "" });
      expect(errorOf(e).message).toBe("'headers', key 'x-model' was not provided");
      expect(openai.requests.length).toBe(n);
      // The VM is fine afterwards.
      expect((await g.post("/", chat, { "x-model": "gpt-4o" })).status).toBe(200);
    });
    await withGateway(openaiCfg("$(query_params.model)"), openai, async (g) => {
      for (const path of ["/", "/?model", "/?other=1&model="]) {
        const r = await g.post(path, chat);
        expect(r.status, path).toBe(400);
        expect(errorOf(r).message).toBe("'query_params', key 'model' was not provided");
      }
    });
  });

  it("refuses a value with CR/LF or other control characters, naming the field", async () => {
    await withGateway(openaiCfg("$(query_params.model)"), openai, async (g) => {
      const n = openai.requests.length;
      for (const v of ["gpt%0D%0Ax-injected:%201", "gpt%00", "gpt%0A", "gpt%C0%8A"]) {
        const r = await g.post(`/?model=${v}`, chat);
        expect(r.status, v).toBe(400);
        expect(errorOf(r).message).toBe("model.name (from query_params 'model') must not contain control characters (CR, LF, NUL, …)");
        expect(r.headers["x-injected"]).toBeUndefined();
      }
      expect(openai.requests.length).toBe(n);
    });
  });

  it("records the refused request without the template text as its model", async () => {
    await withGateway(openaiCfg("$(headers.x-model)"), openai, async (g) => {
      expect((await g.post("/", chat)).status).toBe(400);
      const log = (await waitForLog(g))[0];
      expect(log.status).toBe("400");
      expect(String(log.model)).not.toContain("$(");
    }, { accessLog: LOG });
  });
});

describe("model.options from the request", () => {
  it("takes the Azure deployment from a header: upstream path, analytics", async () => {
    await withGateway(azureCfg({ azure_deployment_id: "$(headers.x-deployment)" }), azure, async (g) => {
      const n = azure.requests.length;
      const r = await g.post("/v1/chat/completions", chat, { "x-deployment": "dep-2" });
      expect(r.status, r.body).toBe(200);
      const up = azure.requests[n];
      expect(up.path).toBe("/openai/deployments/dep-2/chat/completions");
      expect(up.query.get("api-version")).toBe("2023-05-15");
      expect(up.headers.host).toBe("myres.openai.azure.com:443");
      const ai = JSON.parse((await waitForLog(g))[0].ai as string) as { proxy: { meta: Obj } };
      expect(ai.proxy.meta).toMatchObject({ azure_deployment_id: "dep-2", azure_instance_id: "myres" });

      // Another deployment on the next request: Azure's own 404 comes back.
      const miss = await g.post("/", chat, { "x-deployment": "dep-9" });
      expect(miss.status).toBe(404);
      expect(azure.requests[n + 1].path).toBe("/openai/deployments/dep-9/chat/completions");

      // Kong's message for an option.
      const none = await g.post("/", chat);
      expect(none.status).toBe(400);
      expect(errorOf(none).message).toBe("headers key x-deployment was not provided");
      expect(azure.requests.length).toBe(n + 2);
    }, { accessLog: LOG });
  });

  it("percent-encodes a deployment so it stays one path segment, and refuses '..'", async () => {
    await withGateway(azureCfg({ azure_deployment_id: "$(query_params.dep)" }), azure, async (g) => {
      const n = azure.requests.length;
      const r = await g.post("/?dep=a%2F..%2F..%2Fadmin%3Fx%3D1%23", chat);
      expect(r.status).toBe(404);
      expect(azure.requests[n].path).toBe("/openai/deployments/a%2F..%2F..%2Fadmin%3Fx%3D1%23/chat/completions");
      expect([...azure.requests[n].query.keys()]).toEqual(["dep", "api-version"]);
      const dots = await g.post("/?dep=..", chat);
      expect(dots.status).toBe(400);
      expect(errorOf(dots).message).toBe("model.options.azure_deployment_id (from query_params 'dep') must not be '.' or '..'");
      expect(azure.requests.length).toBe(n + 1);
    });
  });

  it("takes the instance and api-version from the request, refusing a host that is not a resource name", async () => {
    const cfg = azureCfg({ azure_instance: "$(headers.x-instance)", azure_api_version: "$(headers.x-api-version)" });
    await withGateway(cfg, azure, async (g) => {
      const n = azure.requests.length;
      const r = await g.post("/", chat, { "x-instance": "other-res", "x-api-version": "2024-10-21" });
      expect(r.status, r.body).toBe(200);
      expect(azure.requests[n].headers.host).toBe("other-res.openai.azure.com:443");
      expect(azure.requests[n].query.get("api-version")).toBe("2024-10-21");
      for (const bad of ["evil.com", "evil.com:80/x", "a@b", "-x"]) {
        const e = await g.post("/", chat, { "x-instance": bad, "x-api-version": "2024-10-21" });
        expect(e.status, bad).toBe(400);
        expect(errorOf(e).message).toContain("model.options.azure_instance (from headers 'x-instance') must be an Azure resource name");
      }
      expect(azure.requests.length).toBe(n + 1);
    });
  });

  it("takes upstream_path from a header, encoded, and refuses dot segments", async () => {
    await withGateway(openaiCfg("gpt-4o", { upstream_path: "$(headers.x-path)" }), openai, async (g) => {
      const n = openai.requests.length;
      const r = await g.post("/?keep=1", chat, { "x-path": "/v1/chat/completions" });
      expect(r.status, r.body).toBe(200);
      expect(openai.requests[n].path).toBe("/v1/chat/completions");
      expect(openai.requests[n].query.get("keep")).toBe("1");
      const q = await g.post("/", chat, { "x-path": "/v1/chat/completions?x=1" });
      expect(q.status).toBe(404); // '?' encoded: no such path, no injected query
      expect(openai.requests[n + 1].path).toBe("/v1/chat/completions%3Fx=1");
      const dots = await g.post("/", chat, { "x-path": "/v1/../admin" });
      expect(dots.status).toBe(400);
      expect(errorOf(dots).message).toBe("model.options.upstream_path (from headers 'x-path') must not contain '.' or '..' segments");
      const rel = await g.post("/", chat, { "x-path": "v1/chat/completions" });
      expect(errorOf(rel).message).toBe("model.options.upstream_path (from headers 'x-path') must start with /");
      expect(openai.requests.length).toBe(n + 2);
    });
  });

  it("takes upstream_url from a header, checked strictly", async () => {
    await withGateway(openaiCfg("gpt-4o", { upstream_url: "$(headers.x-upstream)" }), openai, async (g) => {
      const n = openai.requests.length;
      const r = await g.post("/", chat, { "x-upstream": "http://backend.internal:8080/v1/chat/completions" });
      expect(r.status, r.body).toBe(200);
      expect(openai.requests[n].path).toBe("/v1/chat/completions");
      expect(openai.requests[n].headers.host).toBe("backend.internal:8080");
      for (const bad of ["ftp://x/y", "http://user@evil/x", "http://x/a/../b", "http://x/a#f", "http://x/%zz", "http://x y/", "backend/v1"]) {
        const e = await g.post("/", chat, { "x-upstream": bad });
        expect(e.status, bad).toBe(400);
        expect(errorOf(e).message, bad).toContain("model.options.upstream_url (from headers 'x-upstream') is not a valid http(s) URL");
      }
      expect(openai.requests.length).toBe(n + 1);
    });
  });

  it("sends a templated anthropic_version header per request", async () => {
    const cfg = {
      route_type: "llm/v1/chat",
      auth: { header_name: "x-api-key", header_value: ANTHROPIC_DEFAULT_KEY },
      model: { provider: "anthropic", name: "claude-3-5-haiku-latest", options: { anthropic_version: "$(headers.x-anthropic-version)", max_tokens: 64 } },
    };
    await withGateway(cfg, anthropic, async (g) => {
      const n = anthropic.requests.length;
      const r = await g.post("/", chat, { "x-anthropic-version": "2023-06-01" });
      expect(r.status, r.body).toBe(200);
      expect(anthropic.requests[n].headers["anthropic-version"]).toBe("2023-06-01");
      expect(json(r).object).toBe("chat.completion");
    });
  });
});

describe("templates refused at load, naming the field", () => {
  const cases: [string, Obj, string][] = [
    ["uri_captures", openaiCfg("$(uri_captures.model)"), "field 'model.name': $(uri_captures.model) is not available under Envoy"],
    ["uri_captures in an option", azureCfg({ azure_deployment_id: "$(uri_captures.dep)" }), "field 'model.options.azure_deployment_id': $(uri_captures.dep) is not available under Envoy"],
    ["an unknown source", openaiCfg("$(cookies.model)"), "field 'model.name': source 'cookies' is not supported"],
    ["two dots", openaiCfg("$(headers.x.model)"), "field 'model.name': cannot parse expression for field '$(headers.x.model)'"],
    ["no dot", openaiCfg("$(model)"), "cannot parse expression for field '$(model)'"],
    ["an empty key", openaiCfg("$(headers.)"), "the key is empty"],
    ["no closing parenthesis", openaiCfg("$(headers.x-model"), "has no closing ')'"],
    ["text around the template", openaiCfg("gpt-$(headers.x-model)"), "field 'model.name': a template must be the whole value"],
    ["two templates", azureCfg({ azure_deployment_id: "$(headers.a)$(headers.b)" }), "field 'model.options.azure_deployment_id': a template must be the whole value"],
    ["a bad header name", openaiCfg("$(headers.x model)"), "'x model' is not a valid header name"],
    ["an enum option", { route_type: "llm/v1/chat", model: { provider: "mistral", options: { mistral_format: "$(headers.fmt)" } } }, "field 'model.options.mistral_format' cannot be a template"],
    ["a bad literal upstream_url next to a templated path", openaiCfg("m", { upstream_url: "ftp://x", upstream_path: "$(headers.p)" }), "field 'model.options.upstream_url' is not a valid http(s) URL"],
  ];
  it.each(cases)("%s", async (_name, config, message) => {
    await expect(proxyGateway(config, openai.port)).rejects.toThrow(message);
  });
});
