// ai-rate-limiting-advanced with strategy cluster against a real Envoy global rate limit
// service: envoyproxy/ratelimit (Go module, pinned in scripts/install-test-servers.sh) over
// Debian's redis-server, reached with proxy_grpc_call through the local gateway's gRPC client.
// Also the host's gRPC semantics the filter relies on (Envoy source/extensions/common/wasm/
// context.cc grpcCall / onGrpcReceiveWrapper / onGrpcCloseWrapper; proxy-wasm-cpp-host
// src/exports.cc makes the call on the root context): a success is one on_grpc_receive, a
// failure one on_grpc_close with Envoy's status (connect failure and timeout are the router's
// 503/504 local replies, UNAVAILABLE via source/common/grpc/status.cc httpToGrpcStatus).
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server, type Socket } from "node:net";
import { startOpenAI, type Simulator } from "./simulators/index.ts";
import type { RunningGateway } from "./support/gateway.ts";
import { chat, chatBody, startLimiterGateway } from "./support/rate-limit.ts";
import { freePort, RATELIMIT_BIN, REDIS_BIN, rlsClusterYaml, startRateLimitService, type RateLimitService } from "./support/ratelimit-service.ts";
import { needing } from "./support/test-programs.ts";

const servers = (title: string) => needing([REDIS_BIN, RATELIMIT_BIN], title);

let sim: Simulator;
let rls: RateLimitService;
let g: RunningGateway | null = null;
let ns = 0;

beforeAll(async () => {
  if (servers("").missing) return;
  sim = await startOpenAI();
  rls = await startRateLimitService();
}, 60_000);
afterAll(async () => {
  await sim?.close();
  await rls?.stop();
});
afterEach(async () => {
  await g?.close();
  g = null;
});

const HOUR = 3600;

async function gateway(limiter: Record<string, unknown>, o: { port?: number; http2?: boolean; concurrency?: number } = {}): Promise<RunningGateway> {
  // A namespace per test: the service's counters live in one Redis for the whole file.
  g = await startLimiterGateway(
    sim,
    {
      strategy: "cluster",
      window_type: "fixed",
      identifier: "ip",
      namespace: `t${++ns}-${Date.now()}`,
      ...limiter,
      rate_limit_service: { cluster: "rls", timeout_ms: 2000, ...((limiter.rate_limit_service as object) ?? {}) },
    },
    { extra: rlsClusterYaml("rls", o.port ?? rls.grpcPort, o.http2 ?? true), concurrency: o.concurrency },
  );
  return g;
}

const remaining = (h: Record<string, unknown>) => h["x-ai-ratelimit-remaining-hour-openai"];

describe.skipIf(servers("").missing)(servers("strategy cluster (envoyproxy/ratelimit + redis-server)").title, () => {
  it("Kong's sequential behaviour with reservations off: check, then the real usage at completion", async () => {
    const gw = await gateway({ llm_providers: [{ name: "openai", limit: 12, window_size: HOUR }], reservation: { enabled: false } });
    const seen: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await chat(gw.url, chatBody(2));
      expect(r.status).toBe(200);
      expect(r.headers["x-ai-ratelimit-limit-hour-openai"]).toBe("12");
      seen.push(remaining(r.headers));
      // The charge is a fire-and-forget call from on_done: let it land.
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(seen).toEqual(["12", "7", "2"]);
    const d = await chat(gw.url, chatBody(2));
    expect(d.status).toBe(429);
    expect(d.body).toBe('{"message":"AI token rate limit exceeded for provider(s): openai"}');
    const reset = Number(d.headers["x-ai-ratelimit-reset-hour-openai"]);
    const expected = HOUR - (Math.floor(Date.now() / 1000) % HOUR);
    expect(Math.abs(reset - expected)).toBeLessThanOrEqual(2);
    expect(d.headers["retry-after"]).toBe(String(reset));
  });

  it("reserves the bound at admission and reports only the excess at completion (the service has no refunds)", async () => {
    const gw = await gateway({ llm_providers: [{ name: "openai", limit: 100000, window_size: HOUR }], reservation: { completion_tokens: 10 } });
    const body = chatBody(2);
    const a = await chat(gw.url, body);
    expect(a.status).toBe(200);
    await new Promise((res) => setTimeout(res, 50));
    const b = await chat(gw.url, body);
    // The first request's reservation (body bytes + 10) stays counted: it was above its usage (5).
    expect(remaining(b.headers)).toBe(String(100000 - (Buffer.byteLength(body) + 10)));
  });

  it("40 concurrent requests on two worker VMs: admitted bounds stay within the limit plus one request", async () => {
    const limit = 1000;
    const gw = await gateway({ llm_providers: [{ name: "openai", limit, window_size: HOUR }] }, { concurrency: 2 });
    sim.setPacing({ delayMs: 5 });
    try {
      const body = chatBody(20, { stream: true, stream_options: { include_usage: true }, max_tokens: 21 });
      const bound = Buffer.byteLength(body) + 21;
      const replies = await Promise.all(Array.from({ length: 40 }, () => chat(gw.url, body)));
      const admitted = replies.filter((r) => r.status === 200).length;
      expect(admitted).toBeGreaterThanOrEqual(1);
      expect(admitted + replies.filter((r) => r.status === 429).length).toBe(40);
      expect(admitted * bound).toBeLessThanOrEqual(limit + bound);
    } finally {
      sim.setPacing({ delayMs: 2 });
    }
  });

  it("Kong's rule: a request is denied only when the count is already over the limit", async () => {
    const gw = await gateway({ llm_providers: [{ name: "openai", limit: 5, window_size: HOUR }], reservation: { enabled: false } });
    expect((await chat(gw.url, chatBody(2))).status).toBe(200); // count 0 → 5
    await new Promise((res) => setTimeout(res, 50));
    expect((await chat(gw.url, chatBody(2))).status).toBe(200); // 5 is not over 5 → 10
    await new Promise((res) => setTimeout(res, 50));
    expect((await chat(gw.url, chatBody(2))).status).toBe(429);
  });
});

describe.skipIf(servers("").missing)(servers("the service failing (gRPC through the host)").title, () => {
  let silent: Server;
  let silentPort = 0;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    // Accepts TCP and never answers: the call times out.
    silent = createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
    silentPort = (silent.address() as { port: number }).port;
  });
  afterAll(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => silent.close(() => r()));
  });

  it.each([
    ["a closed port", async () => ({ port: await freePort() })],
    ["a server that never answers (timeout)", async () => ({ port: silentPort })],
    ["a cluster without HTTP/2", async () => ({ http2: false })],
  ] as [string, () => Promise<{ port?: number; http2?: boolean }>][])("%s: the request passes, or gets 500 with failure_mode_deny", async (_n, where) => {
    const o = await where();
    let gw = await gateway({ llm_providers: [{ name: "openai", limit: 1, window_size: HOUR }], rate_limit_service: { timeout_ms: 300 } }, o);
    expect((await chat(gw.url, chatBody(2))).status).toBe(200);
    expect(gw.logs.some((l) => /rate limit service answered gRPC status 14/.test(l.message))).toBe(true);
    await g!.close();
    gw = await gateway({ llm_providers: [{ name: "openai", limit: 1, window_size: HOUR }], rate_limit_service: { timeout_ms: 300, failure_mode_deny: true } }, o);
    const d = await chat(gw.url, chatBody(2));
    expect(d.status).toBe(500);
  });

  it("refuses what the service cannot count, naming the field", async () => {
    const refused = async (c: Record<string, unknown>) => {
      try {
        await gateway(c);
      } catch (e) {
        return (e as Error).message;
      }
      throw new Error("accepted");
    };
    expect(await refused({ llm_providers: [{ name: "openai", limit: 1, window_size: HOUR }], window_type: "sliding" })).toContain("field 'window_type': 'sliding' is not available with strategy 'cluster'");
    expect(await refused({ llm_providers: [{ name: "openai", limit: 1, window_size: 120 }] })).toContain("window_size 120 is not a unit");
    expect(await refused({ llm_providers: [{ name: "openai", limit: 1, window_size: HOUR }], tokens_count_strategy: "cost" })).toContain("'cost' is not available with strategy 'cluster'");
  });
});
