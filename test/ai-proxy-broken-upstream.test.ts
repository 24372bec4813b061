// Issue 11, "a broken upstream never looks like success", for every provider: a stream the
// upstream ends before its end marker ends with an OpenAI-shaped error event and no [DONE],
// and ai-metrics counts it as an error; a mid-stream error event is forwarded as one; a 204,
// a redirect, an empty 200 or a stream answering stream:false becomes an OpenAI-shaped 502
// without the upstream's Location; usage figures outside [0, 2^31] are absent and logged; the
// model the gateway writes into x-ai-gateway-llm-model is checked before the provider is called.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { buildAiProxy, proxyGateway, sseData, waitForLog, type ProxyGateway } from "./ai-proxy-harness.ts";
import { send, type Reply } from "./support/client.ts";
import type { Simulator } from "./simulators/index.ts";
import { KEY_ENV, PROVIDER_CASES } from "./support/provider-cases.ts";

const ROOT = resolve(import.meta.dirname, "..");
const CUT_SHORT = { error: { message: "upstream stream ended before its end marker", type: "api_error", code: null } };

beforeAll(() => {
  buildAiProxy();
  execFileSync(process.execPath, [resolve(ROOT, "scripts/build.mjs"), "ai-metrics"], { cwd: ROOT, stdio: "pipe" });
}, 300_000);

function chat(g: ProxyGateway, body: Record<string, unknown>): Promise<Reply> {
  return g.post("/v1/chat/completions", { messages: [{ role: "user", content: "hello there friend" }], ...body });
}

/** ai_llm_requests_total by status_class, from /stats (Envoy's text form keeps the tag delimiters in the name). */
async function requestsByClass(g: ProxyGateway): Promise<Record<string, number>> {
  const r = await send(g.admin, { path: "/stats" });
  const out: Record<string, number> = {};
  for (const line of r.body.split("\n")) {
    if (!line.includes("ai_llm_requests_total")) continue;
    const m = /status_class=\.=([a-z0-9]+);\.;.*: (\d+)$/.exec(line);
    if (m) out[m[1]] = (out[m[1]] ?? 0) + Number(m[2]);
  }
  return out;
}

describe.each(PROVIDER_CASES)("$name", (c) => {
  let sim: Simulator;
  let g: ProxyGateway;
  beforeAll(async () => {
    sim = await c.start(c.key);
    sim.setPacing({ delayMs: 1 });
    g = await proxyGateway({ route_type: "llm/v1/chat", auth: c.auth, model: c.model(sim) }, sim.port, {
      env: { [KEY_ENV]: c.key },
      metrics: true,
      accessLog: { status: "%RESPONSE_CODE%", error: "%FILTER_STATE(wasm.ai.error_type:PLAIN)%", prompt: "%FILTER_STATE(wasm.ai.prompt_tokens:PLAIN)%" },
    });
  }, 60_000);
  afterAll(async () => {
    await g?.close();
    await sim?.close();
  });

  it("a complete stream still ends with [DONE]", async () => {
    const r = await chat(g, { stream: true });
    expect(r.status, r.body).toBe(200);
    expect(sseData(r.body).at(-1)).toBe("[DONE]");
  });

  it("a stream cut before its end marker ends with an error event, no [DONE], and counts as an error", async () => {
    const before = await requestsByClass(g);
    sim.misbehaveNext({ truncate: true });
    const r = await chat(g, { stream: true });
    expect(r.status).toBe(200);
    const data = sseData(r.body);
    expect(data).not.toContain("[DONE]");
    expect(JSON.parse(data.at(-1)!)).toEqual(CUT_SHORT);
    expect(data.length).toBeGreaterThan(1); // what came before the cut was forwarded
    const after = await requestsByClass(g);
    expect((after["5xx"] ?? 0) - (before["5xx"] ?? 0)).toBe(1);
    expect(g.errors().some((l) => l.includes("upstream stream failed: upstream stream ended before its end marker"))).toBe(true);
    const log = await waitForLog(g, 2);
    expect(log.at(-1)).toMatchObject({ status: 200, error: "upstream_stream_error" });
  });

  it("a stream whose upstream connection drops before its end marker counts as an error (upstream_stream_incomplete)", async () => {
    // ai-proxy records it in on_log (the response never completed), which Envoy runs after the
    // access log: ai-metrics, whose on_log follows, counts it.
    const before = await requestsByClass(g);
    sim.misbehaveNext({ truncate: true, reset: true });
    const r = await chat(g, { stream: true });
    // Envoy resets the client's stream too: whatever arrived, it holds no [DONE].
    expect(sseData(r.body)).not.toContain("[DONE]");
    let after = await requestsByClass(g);
    for (let i = 0; i < 100 && (after["5xx"] ?? 0) === (before["5xx"] ?? 0); i++) {
      await new Promise((res) => setTimeout(res, 10));
      after = await requestsByClass(g);
    }
    expect((after["5xx"] ?? 0) - (before["5xx"] ?? 0)).toBe(1);
    expect(g.errors().some((l) => l.includes("upstream stream ended before its end marker"))).toBe(true);
  });

  it("a mid-stream error event is forwarded as an OpenAI error event, without [DONE]", async () => {
    sim.misbehaveNext({ echo: "sse-error" });
    const r = await chat(g, { stream: true });
    const data = sseData(r.body);
    expect(data).not.toContain("[DONE]");
    const last = JSON.parse(data.at(-1)!) as { error: { message: string; type: string } };
    expect(last.error.type).toBe("api_error");
    expect(last.error.message).toMatch(/^Incorrect API key provided: \*+\./);
  });

  const broken: [string, Parameters<Simulator["misbehaveNext"]>[0], string][] = [
    ["a 204", { status: 204 }, "upstream answered with no content (status 204)"],
    ["a 302 with a Location", { status: 302, headers: { location: "https://elsewhere.example/steal?key=x" } }, "upstream answered with a redirect (status 302)"],
    ["a 301 with a body", { status: 301, headers: { location: "/moved" }, body: "moved" }, "upstream answered with a redirect (status 301)"],
    ["an empty 200 (content-length: 0)", { status: 200 }, "upstream answered with an empty body (status 200)"],
  ];
  it.each(broken)("%s becomes an OpenAI-shaped 502 without the upstream's Location", async (_, m, message) => {
    const n = sim.requests.length;
    sim.misbehaveNext(m);
    const r = await chat(g, {});
    expect(sim.requests.length).toBe(n + 1);
    expect(r.status).toBe(502);
    expect(r.headers["location"]).toBeUndefined();
    expect(r.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(r.body)).toEqual({ error: { message, type: "api_error", code: null } });
  });

  it("an empty chunked 200 (its status already sent) carries the error in the body and counts as an error", async () => {
    const before = await requestsByClass(g);
    sim.misbehaveNext({ status: 200, chunked: true });
    const r = await chat(g, {});
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ error: { message: "upstream answered with an empty body", type: "api_error", code: null } });
    const after = await requestsByClass(g);
    expect((after["5xx"] ?? 0) - (before["5xx"] ?? 0)).toBe(1);
  });

  it(c.alwaysStreams ? "a stream answering stream:false is aggregated (the provider always streams)" : "a stream answering stream:false becomes a 502", async () => {
    sim.misbehaveNext({ streamAlways: true });
    const r = await chat(g, { stream: false });
    if (c.alwaysStreams) {
      expect(r.status, r.body).toBe(200);
      expect(JSON.parse(r.body)).toMatchObject({ object: "chat.completion" });
    } else {
      expect(r.status).toBe(502);
      expect(JSON.parse(r.body)).toEqual({ error: { message: "upstream answered a request with stream=false with a stream (text/event-stream)", type: "api_error", code: null } });
    }
  });

  it("usage above 2^31 or negative is treated as absent, and logged", async () => {
    // Every provider's count fields, whatever their names: the first becomes 2^32, the rest -5.
    let first = true;
    sim.misbehaveNext({
      rewrite: (s) =>
        s.replace(/"(prompt_tokens|completion_tokens|total_tokens|input_tokens|output_tokens|promptTokenCount|candidatesTokenCount|totalTokenCount|prompt_eval_count|eval_count)":\s*\d+/g, (_, k: string) => {
          const v = first ? "4294967296" : "-5";
          first = false;
          return `"${k}":${v}`;
        }),
    });
    const warned = g.errors().length;
    const r = await chat(g, {});
    expect(r.status, r.body).toBe(200);
    const log = await waitForLog(g, 1);
    const prompt = Number(log.at(-1)?.prompt);
    expect(prompt).toBeGreaterThanOrEqual(0);
    expect(prompt).toBeLessThan(2 ** 31);
    expect(g.errors().slice(warned).some((l) => l.includes("reported a token count below 0 or above 2^31"))).toBe(true);
  });
});

describe("the model written into x-ai-gateway-llm-model is checked at request time", () => {
  const c = PROVIDER_CASES[0];
  let sim: Simulator;
  let g: ProxyGateway;
  beforeAll(async () => {
    sim = await c.start(c.key);
    g = await proxyGateway({ route_type: "llm/v1/chat", auth: c.auth, model: { provider: "openai" } }, sim.port, { env: { [KEY_ENV]: c.key } });
  }, 60_000);
  afterAll(async () => {
    await g?.close();
    await sim?.close();
  });

  const bad: [string, string][] = [
    ["CR LF", "gpt-4o\r\nx-injected: 1"],
    ["NUL", "gpt\u0000x"],
    ["non-Latin-1", "模型"],
    ["Latin-1 but not ASCII", "gpt-é"],
    ["a tab", "gpt\t4o"],
    ["an outer space", " gpt-4o"],
    ["257 bytes", "m".repeat(257)],
    ["100 KB", "m".repeat(100_000)],
  ];
  it.each(bad)("%s: 400 naming the field, the provider not called", async (_, model) => {
    const n = sim.requests.length;
    const r = await g.post("/v1/chat/completions", { model, messages: [{ role: "user", content: "hi" }] });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toEqual({
      error: { message: "'model' must be 1 to 256 bytes of visible ASCII (inner spaces allowed): the gateway returns it in the x-ai-gateway-llm-model header", type: "invalid_request_error", code: null },
    });
    expect(sim.requests.length).toBe(n);
  });

  it("256 bytes of visible ASCII, inner spaces included, pass", async () => {
    for (const model of ["m".repeat(256), "ft:gpt-4o mini"]) {
      const r = await g.post("/v1/chat/completions", { model, messages: [{ role: "user", content: "hi" }] });
      expect(r.status, r.body).toBe(200);
      expect(r.headers["x-ai-gateway-llm-model"]).toBe(`openai/${model}`);
    }
  });

  it("without model_name_header the model is not a header value and is not checked", async () => {
    const g2 = await proxyGateway({ route_type: "llm/v1/chat", auth: c.auth, model: { provider: "openai" }, model_name_header: false }, sim.port, { env: { [KEY_ENV]: c.key } });
    try {
      const r = await g2.post("/v1/chat/completions", { model: "模型", messages: [{ role: "user", content: "hi" }] });
      expect(r.status, r.body).toBe(200);
      expect(r.headers["x-ai-gateway-llm-model"]).toBeUndefined();
    } finally {
      await g2.close();
    }
  });
});
