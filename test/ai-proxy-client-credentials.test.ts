// Issue 11, secrets point 3: without auth.allow_override a client's own credential never
// reaches the provider, wherever it is put: `Authorization`, `api-key`, `x-api-key`,
// `x-goog-api-key`, `Proxy-Authorization`, `?key=` (Gemini takes it as a key), `?api-key=`
// (any case, percent-encoded names too), or a top-level body `api_key` (escaped names too).
// Also here: on the preserve route the body passes through untranslated, and a key the
// upstream echoes split across chunks is still masked.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildAiProxy, proxyGateway, type ProxyGateway } from "./ai-proxy-harness.ts";
import { startGemini, startOpenAI, type Simulator } from "./simulators/index.ts";
import { KEY_ENV } from "./support/provider-cases.ts";

const KEY = "sk-proj-SECRETgateway0123456789abcdef";
const CLIENT = "client-own-key-0123456789";
const auth = (allowOverride: boolean) => ({ header_name: "Authorization", header_value: `Bearer {vault://env/${KEY_ENV}}`, allow_override: allowOverride });
const QUERY = `?key=${CLIENT}&api-key=${CLIENT}&API-KEY=${CLIENT}&k%65y=${CLIENT}&other=1`;
const HEADERS = { "proxy-authorization": `Basic ${CLIENT}`, "x-api-key": CLIENT, "api-key": CLIENT, "x-goog-api-key": CLIENT };
const BODY = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"api_key":"${CLIENT}","api\\u005fkey":"${CLIENT}"}`;
// The translated routes refuse a body with a needlessly escaped or duplicate member name (400,
// lib/json/names.ts, issue 11's guard point), so they get the plain spelling; the preserve
// route passes bodies through and strips both spellings.
const PLAIN_BODY = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"api_key":"${CLIENT}"}`;

let sim: Simulator;
beforeAll(async () => {
  buildAiProxy();
  sim = await startOpenAI({ apiKey: KEY });
}, 300_000);
afterAll(async () => {
  await sim?.close();
});

async function withGateway(config: Record<string, unknown>, fn: (g: ProxyGateway) => Promise<void>): Promise<void> {
  const g = await proxyGateway(config, sim.port, { env: { [KEY_ENV]: KEY } });
  try {
    await fn(g);
  } finally {
    await g.close();
  }
}

describe.each(["llm/v1/chat", "preserve"])("route_type %s", (route) => {
  const body = route === "preserve" ? BODY : PLAIN_BODY;
  it("without allow_override: only the gateway's key reaches the provider", async () => {
    await withGateway({ route_type: route, auth: auth(false), model: { provider: "openai", name: route === "preserve" ? undefined : "gpt-4o-mini" } }, async (g) => {
      const n = sim.requests.length;
      const r = await g.send({ method: "POST", path: `/v1/chat/completions${QUERY}`, headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT}`, ...HEADERS }, body });
      expect(r.status, r.body).toBe(200);
      const up = sim.requests[n];
      expect(up.headers["authorization"]).toBe(`Bearer ${KEY}`);
      expect(JSON.stringify(up.headers)).not.toContain(CLIENT);
      expect([...up.query.entries()]).toEqual([["other", "1"]]);
      expect(up.raw).not.toContain(CLIENT);
      expect(up.body).toMatchObject({ messages: [{ role: "user", content: "hi" }] });
    });
  });

  it("with allow_override: the client's credentials are kept", async () => {
    await withGateway({ route_type: route, auth: auth(true), model: { provider: "openai", name: route === "preserve" ? undefined : "gpt-4o-mini" } }, async (g) => {
      const n = sim.requests.length;
      await g.send({ method: "POST", path: `/v1/chat/completions${QUERY}`, headers: { "content-type": "application/json", ...HEADERS }, body });
      const up = sim.requests[n];
      expect(up.headers["proxy-authorization"]).toBe(`Basic ${CLIENT}`);
      expect(up.query.get("key")).toBe(CLIENT);
      expect(up.raw).toContain(`"api_key":"${CLIENT}"`);
    });
  });
});

describe("route_type llm/v1/chat, an escaped api_key", () => {
  it("is refused as ambiguous and never reaches the provider", async () => {
    await withGateway({ route_type: "llm/v1/chat", auth: auth(false), model: { provider: "openai", name: "gpt-4o-mini" } }, async (g) => {
      const n = sim.requests.length;
      const r = await g.send({ method: "POST", path: "/v1/chat/completions", headers: { "content-type": "application/json" }, body: BODY });
      expect(r.status).toBe(400);
      expect(r.body).toContain("request body is ambiguous: member name 'api\\\\u005fkey'");
      expect(r.body).not.toContain(CLIENT);
      expect(sim.requests.length).toBe(n);
    });
  });
});

describe("preserve route", () => {
  it("a body that is not JSON passes through untouched", async () => {
    await withGateway({ route_type: "preserve", auth: auth(false), model: { provider: "openai" } }, async (g) => {
      const n = sim.requests.length;
      await g.send({ method: "POST", path: "/v1/files", headers: { "content-type": "text/plain" }, body: `api_key=${CLIENT}` });
      expect(sim.requests[n].raw).toBe(`api_key=${CLIENT}`);
    });
  });

  it("a key the upstream echoes in a passed-through stream, split across writes, is masked", async () => {
    await withGateway({ route_type: "preserve", auth: auth(false), model: { provider: "openai" } }, async (g) => {
      sim.setPacing({ delayMs: 5 });
      sim.misbehaveNext({ echo: "split" });
      const r = await g.post("/v1/chat/completions", { model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "hi" }] });
      sim.setPacing({ delayMs: 2 });
      expect(r.status).toBe(200);
      expect(r.body).not.toContain(KEY.slice(0, KEY.length / 2));
      expect(r.body).not.toContain(KEY.slice(KEY.length / 2));
      expect(r.body).toContain(`Incorrect API key provided: ${"*".repeat(KEY.length)}.`);
    });
  });
});

describe("gemini with a query credential", () => {
  it("a client's ?key= is replaced by the gateway's, never sent alongside it", async () => {
    const gem = await startGemini({ apiKey: KEY });
    const g = await proxyGateway({ route_type: "llm/v1/chat", auth: { param_name: "key", param_value: `{vault://env/${KEY_ENV}}`, param_location: "query" }, model: { provider: "gemini", name: "gemini-2.0-flash" } }, gem.port, {
      env: { [KEY_ENV]: KEY },
    });
    try {
      const r = await g.send({ method: "POST", path: `/v1/chat/completions?key=${CLIENT}&KEY=${CLIENT}`, headers: { "content-type": "application/json", "x-goog-api-key": CLIENT }, body: PLAIN_BODY.replace("gpt-4o-mini", "gemini-2.0-flash") });
      expect(r.status, r.body).toBe(200);
      const up = gem.requests.at(-1)!;
      expect(up.query.getAll("key")).toEqual([KEY]);
      expect(up.query.toString()).not.toContain(CLIENT);
      expect(up.headers["x-goog-api-key"]).toBeUndefined();
    } finally {
      await g.close();
      await gem.close();
    }
  });
});

describe("repeated request headers (the filter reads the map once and changes only what differs)", () => {
  it("drops every copy of a client credential and leaves one content-type", async () => {
    await withGateway({ route_type: "llm/v1/chat", auth: auth(false), model: { provider: "openai", name: "gpt-4o-mini" } }, async (g) => {
      const n = sim.requests.length;
      // Node sends one header line per array element.
      const headers = { "content-type": ["application/json", "application/json"], authorization: [`Bearer ${CLIENT}`, `Bearer ${CLIENT}2`], "x-api-key": [CLIENT, CLIENT], "accept-encoding": ["gzip", "br"] } as unknown as Record<string, string>;
      const r = await g.send({ method: "POST", path: "/v1/chat/completions", headers, body: PLAIN_BODY });
      expect(r.status, r.body).toBe(200);
      const up = sim.requests[n];
      expect(up.headers["authorization"]).toBe(`Bearer ${KEY}`);
      expect(up.headers["content-type"]).toBe("application/json");
      expect(up.headers["accept-encoding"]).toBeUndefined();
      expect(JSON.stringify(up.headers)).not.toContain(CLIENT);
    });
  });
});
