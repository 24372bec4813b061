// ai-rate-limiting-advanced (local strategy) in front of ai-proxy and ai-metrics, against the
// OpenAI simulator (usage = words: a chat of N words costs N prompt tokens and N+1 completion
// tokens, "echo: w0 …"). Kong's sequential behaviour, headers and denial body (reference
// kong-ai-plugins.md §9), every tokens_count_strategy, both window types, the identifiers,
// streamed usage, reservations under concurrency on two worker VMs, hostile requests and
// refused configurations.
//
// Envoy order relied on: on_log of every filter, then on_done/on_delete (ConnectionManagerImpl::
// doDeferredStreamDestroy calls filter_manager_.log() before destroyFilters(); Wasm Context::
// onDestroy calls on_done then on_delete: source/common/http/conn_manager_impl.cc,
// source/extensions/common/wasm/context.cc), so the limiter settles in on_done after ai-proxy's
// on_log. Shared data is one store per vm_id with compare-and-swap (proxy-wasm-cpp-host
// src/shared_data.cc).
import { afterEach, beforeAll, afterAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { startOpenAI, type Simulator } from "./simulators/index.ts";
import { parseBootstrap } from "../host/envoy/bootstrap.ts";
import { Gateway } from "../host/gateway/gateway.ts";
import { testFilter, type RunningGateway } from "./support/gateway.ts";
import { send } from "./support/client.ts";
import { chat, chatBody, counterBase, setSlot, slotKey, slotValue, startLimiterGateway } from "./support/rate-limit.ts";
import { wasmFilterYaml } from "./support/envoy-yaml.ts";

const HOUR = 3600;
let sim: Simulator;
let g: RunningGateway | null = null;

beforeAll(async () => {
  sim = await startOpenAI();
});
afterAll(async () => {
  await sim.close();
});
afterEach(async () => {
  await g?.close();
  g = null;
});

const providers = (limit: number | number[], window_size: number | number[] = HOUR) => [{ name: "openai", limit, window_size }];

async function gateway(limiter: Record<string, unknown>, o: Parameters<typeof startLimiterGateway>[2] = {}): Promise<RunningGateway> {
  g = await startLimiterGateway(sim, { window_type: "fixed", identifier: "ip", ...limiter }, o);
  return g;
}

const remaining = (h: Record<string, unknown>, w = "hour", p = "openai") => h[`x-ai-ratelimit-remaining-${w}-${p}`];

describe("Kong's sequential behaviour", () => {
  it("counts each answer's tokens after it, denies once the count is over the limit, with Kong's body and headers", async () => {
    const gw = await gateway({ llm_providers: providers(12) });
    const before = sim.requests.length;
    // 2 words: 2 prompt + 3 completion = 5 tokens each.
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await chat(gw.url, chatBody(2));
      expect(r.status).toBe(200);
      expect(r.headers["x-ai-ratelimit-limit-hour-openai"]).toBe("12");
      seen.push(String(remaining(r.headers)));
    }
    // Remaining is what was left before each request: 12, 7, 2 (10 used: not over 12).
    expect(seen).toEqual(["12", "7", "2"]);
    const d = await chat(gw.url, chatBody(2));
    expect(d.status).toBe(429);
    expect(d.body).toBe('{"message":"AI token rate limit exceeded for provider(s): openai"}');
    expect(d.headers["content-type"]).toMatch(/^application\/json/);
    expect(d.headers["x-ai-ratelimit-limit-hour-openai"]).toBe("12");
    expect(d.headers["x-ai-ratelimit-remaining-hour-openai"]).toBe("0");
    const reset = Number(d.headers["x-ai-ratelimit-reset-hour-openai"]);
    const expected = HOUR - (Math.floor(Date.now() / 1000) % HOUR);
    expect(Math.abs(reset - expected)).toBeLessThanOrEqual(2);
    expect(d.headers["x-ai-ratelimit-retry-after-hour-openai"]).toBe(String(reset));
    expect(d.headers["x-ai-ratelimit-reset"]).toBe(String(reset));
    expect(d.headers["x-ai-ratelimit-retry-after"]).toBe(String(reset));
    expect(d.headers["retry-after"]).toBe(String(reset));
    // The provider was never called for the denied request.
    expect(sim.requests.length - before).toBe(3);
  });

  it("sends error_code and error_message, hides the providers and the headers when asked", async () => {
    const gw = await gateway({ llm_providers: providers(0), error_code: 403, error_message: "slow down", error_hide_providers: true, hide_client_headers: true });
    expect((await chat(gw.url, chatBody(2))).status).toBe(200); // 0 used: not over 0
    const d = await chat(gw.url, chatBody(2));
    expect(d.status).toBe(403);
    expect(d.body).toBe('{"message":"slow down"}');
    expect(Object.keys(d.headers).filter((k) => k.startsWith("x-ai-ratelimit"))).toEqual([]);
    expect(d.headers["retry-after"]).toMatch(/^\d+$/);
  });

  it("adds retry_after_jitter_max seconds at most to Retry-After", async () => {
    const gw = await gateway({ llm_providers: providers(0), retry_after_jitter_max: 5 });
    await chat(gw.url, chatBody(2));
    const d = await chat(gw.url, chatBody(2));
    const reset = Number(d.headers["x-ai-ratelimit-reset"]);
    const retry = Number(d.headers["retry-after"]);
    expect(retry - reset).toBeGreaterThanOrEqual(0);
    expect(retry - reset).toBeLessThanOrEqual(5);
  });

  it("checks the windows of every configured provider and names each denied one (3.15 arrays)", async () => {
    const gw = await gateway({ llm_providers: [{ name: "openai", limit: [4, 1000], window_size: [60, HOUR] }, { name: "azure", limit: 1, window_size: 60 }] });
    const r = await chat(gw.url, chatBody(2));
    expect(r.status).toBe(200);
    for (const k of ["limit-minute-openai", "limit-hour-openai", "limit-minute-azure"]) expect(r.headers[`x-ai-ratelimit-${k}`]).toBeDefined();
    // openai served it: 5 tokens in openai's windows, none in azure's.
    const d = await chat(gw.url, chatBody(2));
    expect(d.status).toBe(429);
    expect(d.body).toBe('{"message":"AI token rate limit exceeded for provider(s): openai"}');
    expect(d.headers["x-ai-ratelimit-remaining-hour-openai"]).toBe("995");
    expect(d.headers["x-ai-ratelimit-remaining-minute-azure"]).toBe("1");
    expect(d.headers["x-ai-ratelimit-reset-minute-openai"]).toBeDefined();
    expect(d.headers["x-ai-ratelimit-reset-hour-openai"]).toBeUndefined();
  });

  it("leaves Kong's 429 to the client unchanged through ai-proxy, and ai-metrics counts the denial without a provider latency sample", async () => {
    const gw = await gateway({ llm_providers: providers(1) });
    await chat(gw.url, chatBody(2));
    for (let i = 0; i < 2; i++) expect((await chat(gw.url, chatBody(2))).body).toBe('{"message":"AI token rate limit exceeded for provider(s): openai"}');
    const stats = await (await fetch(`${gw.admin}/stats`)).text();
    expect(stats).toMatch(/ai_llm_rate_limited_total;\.;ai_provider=\.=openai;\.;workspace=\.=;\.;: 2\b/);
    const req = stats.split("\n").filter((l) => l.includes("ai_llm_requests_total"));
    expect(req.reduce((n, l) => n + Number(l.split(": ")[1]), 0)).toBe(1);
    const lat = await (await fetch(`${gw.admin}/stats/prometheus`)).text();
    const count = lat.split("\n").filter((l) => /^ai_llm_provider_latency_ms\S*_count[{ ]/.test(l));
    expect(count.reduce((n, l) => n + Number(l.split(" ").pop()), 0)).toBe(1);
  });
});

describe("tokens_count_strategy", () => {
  // 2 words: 2 prompt, 3 completion, 5 total; cost with input 1e6 and output 2e6 per 1M tokens: 2 + 6 = 8.
  const strategies = [
    ["total_tokens", 5, {}],
    ["prompt_tokens", 2, {}],
    ["completion_tokens", 3, {}],
    ["cost", 8, { input_cost: 1_000_000, output_cost: 2_000_000 }],
  ] as [string, number, Record<string, unknown>][];

  async function expectCharge(strategy: string, per: number, proxyOptions: Record<string, unknown>, afterProxy?: string): Promise<void> {
    const gw = await gateway({ llm_providers: providers(100), tokens_count_strategy: strategy }, { proxyOptions, afterProxy });
    const a = await chat(gw.url, chatBody(2));
    const b = await chat(gw.url, chatBody(2));
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(remaining(a.headers)).toBe("100");
    expect(remaining(b.headers)).toBe(String(100 - per));
  }

  it.each(strategies)("%s charges %d per request", (strategy, per, proxyOptions) => expectCharge(strategy, per, proxyOptions));

  // The limiter reads ai-proxy's record in `ai.facts` (one host call); without one it reads the
  // individual `ai.*` keys, as from a producer that writes only those. A probe after ai-proxy
  // empties `ai.facts` in its on_log (Envoy runs every filter's on_log before any on_done: see
  // the file's head), and every strategy must charge what it charges from the record.
  it.each(strategies)("%s charges %d per request from the keys when ai.facts is empty", (strategy, per, proxyOptions) =>
    expectCharge(strategy, per, proxyOptions, wasmFilterYaml("facts-eraser", testFilter("probe"), { on_log: [["set_property", ["ai.facts"], ""]] })),
  );

  it("cost is fractional in Remaining", async () => {
    const gw = await gateway({ llm_providers: providers(1), tokens_count_strategy: "cost" }, { proxyOptions: { input_cost: 0.5, output_cost: 0.5 } });
    await chat(gw.url, chatBody(2));
    const b = await chat(gw.url, chatBody(2));
    expect(remaining(b.headers)).toBe(String(1 - 0.0000025));
  });
});

describe("windows", () => {
  const id = "header:alice";
  const now = () => Math.floor(Date.now() / 1000);

  it("sliding: the previous window counts by the share of it still inside the span", async () => {
    const gw = await gateway({ llm_providers: providers(10000), window_type: "sliding", identifier: "header", header_name: "x-user" });
    const base = counterBase("ai-rate-limiting-advanced", "openai", HOUR, id);
    const start = now() - (now() % HOUR);
    setSlot(gw, slotKey(base, start - HOUR, HOUR), start - HOUR, 3600);
    const r = await chat(gw.url, chatBody(2), { "x-user": "alice" });
    const elapsed = now() - start;
    // rate = 3600 × (3600 − elapsed) / 3600 = 3600 − elapsed.
    expect(Math.abs(Number(remaining(r.headers)) - (10000 - (3600 - elapsed)))).toBeLessThanOrEqual(2);
    // Read from the previous window's slot, charged to this one's: the request's 5 tokens land
    // in this window and the previous window keeps its count.
    expect(slotValue(gw, slotKey(base, start, HOUR))).toEqual({ start, count: 5 });
    expect(slotValue(gw, slotKey(base, start - HOUR, HOUR))).toEqual({ start: start - HOUR, count: 3600 });
  });

  it("fixed: the previous window does not count", async () => {
    const gw = await gateway({ llm_providers: providers(10000), identifier: "header", header_name: "x-user" });
    const base = counterBase("ai-rate-limiting-advanced", "openai", HOUR, id);
    const start = now() - (now() % HOUR);
    setSlot(gw, slotKey(base, start - HOUR, HOUR), start - HOUR, 3600);
    const r = await chat(gw.url, chatBody(2), { "x-user": "alice" });
    expect(remaining(r.headers)).toBe("10000");
    // This window's slot was the other parity: it holds this request's 5 tokens.
    expect(slotValue(gw, slotKey(base, start, HOUR))).toEqual({ start, count: 5 });
  });

  it("a window that ends while the request is in flight: the reservation leaves the old window, the usage goes to the new one", async () => {
    // An upstream that answers only once the second the request was admitted in is over.
    const usage = { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 };
    const late = http.createServer((q, res) => {
      q.resume();
      q.on("end", () => {
        setTimeout(() => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ id: "c1", object: "chat.completion", created: 1, model: "gpt-4o-mini", choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }], usage }));
        }, 1100 - (Date.now() % 1000));
      });
    });
    await new Promise<void>((r) => late.listen(0, "127.0.0.1", () => r()));
    const port = (late.address() as AddressInfo).port;
    try {
      g = await startLimiterGateway({ url: `http://127.0.0.1:${port}`, port }, { llm_providers: providers(100000, 1), window_type: "fixed", identifier: "header", header_name: "x-user" });
      const base = counterBase("ai-rate-limiting-advanced", "openai", 1, id);
      // Sent early in a second, so that admission falls in it; the upstream answers early in the next.
      await new Promise((r) => setTimeout(r, 1050 - (Date.now() % 1000)));
      const admitted = now();
      const r = await chat(g.url, chatBody(2), { "x-user": "alice" });
      expect(r.status).toBe(200);
      const settled = now();
      // Windows of one second: the two slots differ in parity.
      expect(settled - admitted).toBe(1);
      expect(slotValue(g, slotKey(base, admitted, 1))).toEqual({ start: admitted, count: 0 });
      expect(slotValue(g, slotKey(base, settled, 1))).toEqual({ start: settled, count: 7 });
    } finally {
      await g?.close();
      g = null;
      late.closeAllConnections();
      await new Promise<void>((r) => late.close(() => r()));
    }
  });

  it("a slot holding an older window reads as empty and is reused (the store does not grow with time)", async () => {
    const gw = await gateway({ llm_providers: providers(100), identifier: "header", header_name: "x-user" });
    const base = counterBase("ai-rate-limiting-advanced", "openai", HOUR, id);
    const start = now() - (now() % HOUR);
    setSlot(gw, slotKey(base, start, HOUR), start - 2 * HOUR, 99999);
    const r = await chat(gw.url, chatBody(2), { "x-user": "alice" });
    expect(remaining(r.headers)).toBe("100");
    expect(slotValue(gw, slotKey(base, start, HOUR))).toEqual({ start, count: 5 });
  });

  it("a slot holding something other than a counter reads as empty and is overwritten", async () => {
    const gw = await gateway({ llm_providers: providers(100), identifier: "header", header_name: "x-user" });
    const base = counterBase("ai-rate-limiting-advanced", "openai", HOUR, id);
    const start = now() - (now() % HOUR);
    // Larger than a counter (and than the limiter's read buffer): 40 bytes of 0xff.
    gw.gw.runtime.sharedData.set("ai-rate-limiting-advanced", slotKey(base, start, HOUR), new Uint8Array(40).fill(0xff), 0);
    const r = await chat(gw.url, chatBody(2), { "x-user": "alice" });
    expect(remaining(r.headers)).toBe("100");
    expect(slotValue(gw, slotKey(base, start, HOUR))).toEqual({ start, count: 5 });
  });
});

describe("requestPrompt", () => {
  it("is charged the prompt bound (the body's bytes) when the body is read, with the Query-Cost header", async () => {
    const gw = await gateway({ llm_providers: [{ name: "requestPrompt", limit: 1000, window_size: HOUR }] });
    const body = chatBody(2);
    const a = await chat(gw.url, body);
    expect(a.headers["x-ai-ratelimit-query-cost-hour-requestprompt"]).toBe(String(Buffer.byteLength(body)));
    expect(a.headers["x-ai-ratelimit-remaining-hour-requestprompt"]).toBe("1000");
    const b = await chat(gw.url, body);
    // Not replaced by the usage at completion: Kong charges requestPrompt at access.
    expect(b.headers["x-ai-ratelimit-remaining-hour-requestprompt"]).toBe(String(1000 - Buffer.byteLength(body)));
  });
});

describe("examples/ai-rate-limiting-advanced", () => {
  it.each(["envoy.yaml", "envoy-cluster.yaml"])("%s loads and every filter accepts its configuration", async (file) => {
    const path = resolve(import.meta.dirname, "../examples/ai-rate-limiting-advanced", file);
    const gw = await Gateway.load(parseBootstrap(readFileSync(path, "utf8"), path), { concurrency: 1, logLevel: 4 });
    try {
      expect([...gw.plugins.keys()].map((f) => f.name)).toEqual(["ai-rate-limiting-advanced", "ai-proxy", "ai-metrics"]);
    } finally {
      await gw.close();
    }
  });
});

describe("identifiers", () => {
  async function twoClients(limiter: Record<string, unknown>, a: Record<string, string>, b: Record<string, string>, path?: string) {
    const gw = await gateway({ llm_providers: providers(100), ...limiter });
    const post = (h: Record<string, string>) => send(gw.url, { path: path ?? "/v1/chat/completions", headers: { "content-type": "application/json", ...h }, body: chatBody(2) });
    await post(a);
    const a2 = await post(a);
    const b1 = await post(b);
    return { a2: remaining(a2.headers), b1: remaining(b1.headers) };
  }

  it("header: one counter per value; without the header, the client IP", async () => {
    expect(await twoClients({ identifier: "header", header_name: "X-User" }, { "x-user": "a" }, { "x-user": "b" })).toEqual({ a2: "95", b1: "100" });
    expect(await twoClients({ identifier: "header", header_name: "x-user" }, {}, { "x-user": "b" })).toEqual({ a2: "95", b1: "100" });
  });

  it("ip: every client on one address shares a counter", async () => {
    expect(await twoClients({ identifier: "ip" }, { "x-user": "a" }, { "x-user": "b" })).toEqual({ a2: "95", b1: "90" });
  });

  it("consumer: x-consumer-id, else the credential", async () => {
    expect(await twoClients({ identifier: "consumer" }, { "x-consumer-id": "c1" }, { "x-consumer-id": "c2" })).toEqual({ a2: "95", b1: "100" });
    expect(await twoClients({ identifier: "consumer" }, { authorization: "Bearer k1" }, { authorization: "Bearer k2" })).toEqual({ a2: "95", b1: "100" });
  });

  it("credential: one counter per presented key, and the key is not stored", async () => {
    expect(await twoClients({ identifier: "credential" }, { authorization: "Bearer k1" }, { "x-api-key": "k2" })).toEqual({ a2: "95", b1: "100" });
    const keys = [...(g!.gw.runtime.sharedData as unknown as { data: Map<string, Map<string, unknown>> }).data.get("ai-rate-limiting-advanced")!.keys()];
    expect(keys.some((k) => k.includes("k1") || k.includes("k2"))).toBe(false);
  });

  it("path: the configured path when the request path equals it, else the client IP", async () => {
    expect(await twoClients({ identifier: "path", path: "/v1/chat/completions" }, {}, {}, "/v1/chat/completions?x=1")).toEqual({ a2: "95", b1: "90" });
  });

  it("service: the route's name", async () => {
    expect(await twoClients({ identifier: "service" }, {}, {})).toEqual({ a2: "95", b1: "90" });
  });
});

describe("streamed usage", () => {
  it("settles a stream with the usage ai-proxy recorded at its end", async () => {
    const gw = await gateway({ llm_providers: providers(100) });
    const s = await chat(gw.url, chatBody(3, { stream: true, stream_options: { include_usage: true } }));
    expect(s.status).toBe(200);
    expect(s.body).toContain("data: [DONE]");
    const r = await chat(gw.url, chatBody(2));
    expect(remaining(r.headers)).toBe(String(100 - 7)); // 3 prompt + 4 completion
  });

  it("a stream cut short before its usage is charged its reservation; a failed request is released", async () => {
    const gw = await gateway({ llm_providers: providers(100000), reservation: { completion_tokens: 50 } });
    sim.setPacing({ delayMs: 40 });
    try {
      const body = chatBody(20, { stream: true, stream_options: { include_usage: true }, max_tokens: 30 });
      await new Promise<void>((resolve) => {
        const ac = new AbortController();
        void fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body, signal: ac.signal })
          .then(async (res) => {
            const reader = res.body!.getReader();
            await reader.read();
            ac.abort();
          })
          .catch(() => {})
          .finally(() => setTimeout(resolve, 300));
      });
      const r = await chat(gw.url, chatBody(2));
      // The usage ai-proxy recorded for the cut stream: Kong's prompt estimate for a stream
      // (20 words × 1.8 = 36), the completion unknown; the reservation (body bytes + 30) is gone.
      expect(remaining(r.headers)).toBe(String(100000 - 36));
    } finally {
      sim.setPacing({ delayMs: 2 });
    }
    // A request that fails (a 400 from ai-proxy) releases its reservation.
    const r0 = Number(remaining((await chat(gw.url, chatBody(2))).headers));
    const bad = await chat(gw.url, JSON.stringify({ model: "gpt-4o-mini", messages: "nope" }));
    expect(bad.status).toBe(400);
    const r1 = Number(remaining((await chat(gw.url, chatBody(2))).headers));
    expect(r0 - r1).toBe(5);
  });
});

describe("a request cut short before any usage is known", () => {
  /**
   * The count a request to `path` leaves in its window when a provider accepts it and never
   * answers and the client leaves: its reservation (the provider may have started).
   */
  async function chargeWhenCutShort(path: string, body: string): Promise<{ start: number; count: number } | null> {
    const held: http.ServerResponse[] = [];
    const silent = http.createServer((_q, res) => void held.push(res));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
    const port = (silent.address() as AddressInfo).port;
    try {
      g = await startLimiterGateway({ url: `http://127.0.0.1:${port}`, port }, { llm_providers: providers(100000), window_type: "fixed", identifier: "ip", reservation: { completion_tokens: 50 } });
      const ac = new AbortController();
      const pending = fetch(`${g.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body, signal: ac.signal }).catch(() => null);
      await new Promise((r) => setTimeout(r, 200));
      ac.abort();
      await pending;
      await new Promise((r) => setTimeout(r, 200));
      const base = counterBase("ai-rate-limiting-advanced", "openai", HOUR, "ip:127.0.0.1");
      const now = Math.floor(Date.now() / 1000);
      return slotValue(g, slotKey(base, now - (now % HOUR), HOUR));
    } finally {
      for (const r of held) r.destroy();
      await g?.close();
      g = null;
      silent.closeAllConnections();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  }

  it("is charged its reservation (the provider may have started): the client leaves while the provider is silent", async () => {
    const body = chatBody(2, { max_tokens: 7 });
    expect((await chargeWhenCutShort("/v1/chat/completions", body))?.count).toBe(Buffer.byteLength(body) + 7);
  });

  // Without max_tokens the completion bound is reservation.completion_tokens, except for an
  // embeddings request, which completes nothing. The filter reads :path with the headers: Envoy
  // lets go of them once that callback answers Continue, before the body that decides the bound
  // (source/extensions/common/wasm/context.cc, Context::decodeHeaders: request_headers_ = nullptr).
  it.each([
    ["/v1/chat/completions", 50],
    ["/v1/embeddings", 0],
    ["/v1/embeddings?api-version=2024-10-21", 0],
    ["/openai/deployments/d/embeddings", 0],
  ])("a request to %s without max_tokens reserves %d completion tokens", async (path, completion) => {
    const body = chatBody(2);
    expect((await chargeWhenCutShort(path, body))?.count).toBe(Buffer.byteLength(body) + completion);
  });
});

describe("reservations under concurrency (two worker VMs)", () => {
  // 40 streamed requests at once against a limit of 10 requests' worth of real usage.
  async function burst(reserve: boolean) {
    const gw = await gateway({ llm_providers: providers(10 * 5 * 20), reservation: { enabled: reserve } }, { concurrency: 2 });
    sim.setPacing({ delayMs: 5 });
    try {
      const body = chatBody(20, { stream: true, stream_options: { include_usage: true }, max_tokens: 21 }); // 20 + 21 tokens
      const replies = await Promise.all(Array.from({ length: 40 }, () => chat(gw.url, body)));
      const admitted = replies.filter((r) => r.status === 200).length;
      expect(admitted + replies.filter((r) => r.status === 429).length).toBe(40);
      return { admitted, bound: Buffer.byteLength(body) + 21 };
    } finally {
      sim.setPacing({ delayMs: 2 });
    }
  }

  it("admits no more than the limit plus one request's bound; without reservations all 40 pass (the peers' overshoot)", async () => {
    const limit = 1000;
    const withRes = await burst(true);
    // Each reserved its bound: admitted only while reserved ≤ limit.
    expect(withRes.admitted * withRes.bound).toBeLessThanOrEqual(limit + withRes.bound);
    expect(withRes.admitted * 41).toBeLessThanOrEqual(limit + 41);
    expect(withRes.admitted).toBeGreaterThanOrEqual(1);
    await g!.close();
    g = null;
    const without = await burst(false);
    expect(without.admitted).toBe(40);
  });
});

describe("hostile requests", () => {
  it("a max_tokens of 2^40 reserves a clamped bound, gets ai-proxy's clear 400, and releases it", async () => {
    const gw = await gateway({ llm_providers: providers(100) });
    const r = await chat(gw.url, chatBody(2, { max_tokens: 2 ** 40 }));
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error.message).toContain("max_tokens");
    const n = await chat(gw.url, chatBody(2));
    expect(remaining(n.headers)).toBe("100");
  });

  it("a max_tokens of 2^30 (accepted by ai-proxy) holds the window while in flight, then settles to the real usage", async () => {
    const gw = await gateway({ llm_providers: providers(100) });
    const r = await chat(gw.url, chatBody(2, { max_tokens: 2 ** 30 }));
    expect(r.status).toBe(200);
    const n = await chat(gw.url, chatBody(2));
    expect(remaining(n.headers)).toBe("95");
  });

  it.each([[-1], [0], [1.5], ["10"], [null]])("max_tokens %j: ai-proxy's clear 400 or an answer, and an uncorrupted counter", async (mt) => {
    const gw = await gateway({ llm_providers: providers(100) });
    const r = await chat(gw.url, chatBody(2, { max_tokens: mt }));
    expect([200, 400]).toContain(r.status);
    if (r.status === 400) expect(JSON.parse(r.body).error.message).toContain("max_tokens");
    const n = await chat(gw.url, chatBody(2));
    expect(remaining(n.headers)).toBe(r.status === 200 ? "95" : "100");
  });

  it("invalid JSON, no body, a huge content-length: clear answers, the filter keeps working", async () => {
    const gw = await gateway({ llm_providers: providers(100) });
    expect((await chat(gw.url, "{not json")).status).toBe(400);
    expect((await send(gw.url, { path: "/v1/chat/completions", method: "POST" })).status).toBe(400);
    const ok = await chat(gw.url, chatBody(2));
    expect(ok.status).toBe(200);
    expect(remaining(ok.headers)).toBe("100");
  });
});

describe("configuration", () => {
  async function refused(config: unknown): Promise<string> {
    try {
      g = await startLimiterGateway(sim, config);
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
    throw new Error("configuration was accepted");
  }

  it.each([
    [{}, "field 'llm_providers' is required"],
    [{ llm_providers: [] }, "field 'llm_providers' must be a non-empty array"],
    [{ llm_providers: [{ name: "openia", limit: 1, window_size: 60 }] }, "field 'llm_providers[0].name' must be one of"],
    [{ llm_providers: [{ name: "openai", limit: [1, 2], window_size: [60] }] }, "'llm_providers[0].limit' and 'llm_providers[0].window_size' must have the same length"],
    [{ llm_providers: [{ name: "openai", limit: -1, window_size: 60 }] }, "field 'llm_providers[0].limit' must be a number from 0"],
    [{ llm_providers: [{ name: "openai", limit: 1, window_size: 0.5 }] }, "field 'llm_providers[0].window_size' must be an integer from 1"],
    [{ llm_providers: [{ name: "openai", limit: 1 }] }, "field 'llm_providers[0].window_size' is required"],
    [{ llm_providers: providers(1), strategy: "redis" }, "field 'strategy': 'redis' is not supported: use 'cluster'"],
    [{ llm_providers: providers(1), tokens_count_strategy: "words" }, "field 'tokens_count_strategy' must be one of"],
    [{ llm_providers: providers(1), identifier: "header" }, "field 'header_name' is required when identifier is 'header'"],
    [{ llm_providers: providers(1), identifier: "path" }, "field 'path' is required when identifier is 'path'"],
    [{ llm_providers: providers(1), identifier: "consumer-group" }, "'consumer-group' has no Envoy counterpart"],
    [{ llm_providers: providers(1), window_type: "rolling" }, "field 'window_type' must be 'sliding' or 'fixed'"],
    [{ llm_providers: providers(1), error_code: 99 }, "field 'error_code' must be an integer"],
    [{ llm_providers: providers(1), request_prompt_count_function: "return 1" }, "field 'request_prompt_count_function' is not supported"],
    [{ llm_providers: providers(1), reservation: { completion_tokens: -5 } }, "field 'reservation.completion_tokens' must be an integer"],
    [{ llm_providers: providers(1), limits: 3 }, "field 'limits' is not allowed"],
    ["{nope", "configuration is not valid JSON"],
  ] as [unknown, string][])("refuses %j", async (config, message) => {
    const m = await refused(config);
    expect(m).toContain("configuration refused: ");
    expect(m).toContain(message);
  });

  it("accepts Kong 3.9 numbers and 3.15 arrays", async () => {
    g = await startLimiterGateway(sim, { llm_providers: [{ name: "openai", limit: 10, window_size: 60 }, { name: "requestPrompt", limit: [1, 2], window_size: [60, 3600] }] });
    expect(g.url).toMatch(/^http/);
  });
});
