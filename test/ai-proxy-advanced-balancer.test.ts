// ai-proxy-advanced's balancer (Kong's algorithms, reference §3.2) and circuit breaker (§3.3),
// with the openai SDK as the client, and its configuration checks.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { parseBootstrap } from "../host/envoy/bootstrap.ts";
import { Gateway } from "../host/gateway/gateway.ts";
import type { LogLine } from "../host/proxy/runtime.ts";
import { startAnthropic, startOpenAI, type Simulator } from "./simulators/index.ts";
import { openaiClient, send } from "./support/client.ts";
import { advancedYaml, ALL_CRITERIA, anthropicTarget, hostOf, KEYS, openaiTarget, startAdvanced, type Host } from "./support/ai-proxy-advanced.ts";
import { startGateway, type RunningGateway } from "./support/gateway.ts";

const ROOT = join(import.meta.dirname, "..");
beforeAll(() => {
  execFileSync(process.execPath, [join(ROOT, "scripts/build.mjs"), "ai-proxy-advanced"], { cwd: ROOT, stdio: "pipe" });
}, 300_000);

let gw: RunningGateway | null = null;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await gw?.close();
  gw = null;
  await Promise.all(closers.splice(0).map((c) => c()));
});

async function sims(n: number): Promise<Simulator[]> {
  const out: Simulator[] = [];
  for (let i = 0; i < n; i++) {
    const s = await startOpenAI();
    closers.push(() => s.close());
    out.push(s);
  }
  return out;
}

async function start(config: unknown, hosts: Host[]): Promise<string> {
  gw = await startAdvanced(config, hosts, { env: KEYS });
  return gw.url;
}

/** An OpenAI-format upstream that answers "slow" once `ready()` resolves for the request, reporting `tokens` of completion. */
async function scripted(ready: () => Promise<void>, tokens = 1): Promise<string> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", async () => {
      await ready();
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ id: "x", object: "chat.completion", created: 1, model: "gpt-4o-mini", choices: [{ index: 0, message: { role: "assistant", content: "slow" }, finish_reason: "stop" }], usage: { prompt_tokens: 2, completion_tokens: tokens, total_tokens: tokens + 2 } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const ask = (base: string, headers: Record<string, string> = {}) =>
  openaiClient(base).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello there" }] }, { headers });

describe("balancer algorithms", () => {
  it("weighted round-robin spreads requests by weight (3:1)", async () => {
    const [a, b] = await sims(2);
    const base = await start({ balancer: { algorithm: "round-robin" }, targets: [openaiTarget(a!.url, { weight: 3 }), openaiTarget(b!.url, { weight: 1 })] }, [hostOf(a!.url), hostOf(b!.url)]);
    for (let i = 0; i < 40; i++) await ask(base);
    expect([a!.requests.length, b!.requests.length]).toEqual([30, 10]);
  });

  it("priority: the top weight group takes all traffic, round-robin inside it; the next group only when it all fails", async () => {
    const [a, b, c] = await sims(3);
    const base = await start(
      { balancer: { algorithm: "priority", failover_criteria: ALL_CRITERIA }, targets: [openaiTarget(a!.url, { weight: 100 }), openaiTarget(b!.url, { weight: 100 }), openaiTarget(c!.url, { weight: 10 })] },
      [hostOf(a!.url), hostOf(b!.url), hostOf(c!.url)],
    );
    for (let i = 0; i < 10; i++) await ask(base);
    expect([a!.requests.length, b!.requests.length, c!.requests.length]).toEqual([5, 5, 0]);
    a!.failNext(503);
    b!.failNext(503);
    const r = await ask(base);
    expect(r.choices[0]!.message.content).toBe("echo: hello there");
    expect(c!.requests.length).toBe(1);
  });

  it("lowest-latency moves traffic to the fast target", async () => {
    const [fast] = await sims(1);
    const slow = await scripted(() => new Promise((r) => setTimeout(r, 120)));
    let slowCount = 0;
    const base = await start({ balancer: { algorithm: "lowest-latency", latency_strategy: "e2e" }, targets: [openaiTarget(slow), openaiTarget(fast!.url)] }, [hostOf(slow), hostOf(fast!.url)]);
    for (let i = 0; i < 20; i++) if ((await ask(base)).choices[0]!.message.content === "slow") slowCount++;
    expect(fast!.requests.length).toBeGreaterThanOrEqual(17);
    expect(slowCount).toBeGreaterThanOrEqual(1); // it was measured once
    expect(slowCount).toBeLessThanOrEqual(3);
  });

  it("lowest-usage moves traffic to the target that spends fewer tokens", async () => {
    const [thrifty] = await sims(1);
    const costly = await scripted(async () => {}, 5000);
    let costlyCount = 0;
    const base = await start({ balancer: { algorithm: "lowest-usage", tokens_count_strategy: "completion-tokens" }, targets: [openaiTarget(costly), openaiTarget(thrifty!.url)] }, [hostOf(costly), hostOf(thrifty!.url)]);
    for (let i = 0; i < 20; i++) if ((await ask(base)).choices[0]!.message.content === "slow") costlyCount++;
    expect(costlyCount).toBeGreaterThanOrEqual(1);
    expect(costlyCount).toBeLessThanOrEqual(3);
    expect(thrifty!.requests.length).toBeGreaterThanOrEqual(17);
  });

  it("consistent-hashing keeps a key on one target, and spreads different keys", async () => {
    const [a, b] = await sims(2);
    const base = await start({ balancer: { algorithm: "consistent-hashing", hash_on_header: "X-User" }, targets: [openaiTarget(a!.url), openaiTarget(b!.url)] }, [hostOf(a!.url), hostOf(b!.url)]);
    for (let i = 0; i < 10; i++) await ask(base, { "x-user": "alice" });
    expect([a!.requests.length, b!.requests.length].sort()).toEqual([0, 10]);
    for (let i = 0; i < 40; i++) await ask(base, { "x-user": `user-${i}` });
    expect(Math.min(a!.requests.length, b!.requests.length)).toBeGreaterThan(0);
    const before = [a!.requests.length, b!.requests.length];
    await ask(base, { "x-user": "alice" });
    expect([a!.requests.length - before[0]!, b!.requests.length - before[1]!]).toEqual(a!.requests.length > before[0]! ? [1, 0] : [0, 1]);
  });
});

describe("least-connections and unavailable targets", () => {
  it("least-connections sends requests to the target with the most spare capacity", async () => {
    const [fast] = await sims(1);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const slow = await scripted(() => held);
    const base = await start({ balancer: { algorithm: "least-connections" }, targets: [openaiTarget(slow), openaiTarget(fast!.url)] }, [hostOf(slow), hostOf(fast!.url)]);
    const first = ask(base); // equal capacity: the first goes to targets[0] and stays in flight
    await new Promise((r) => setTimeout(r, 150));
    for (let i = 0; i < 3; i++) expect((await ask(base)).choices[0]!.message.content).toBe("echo: hello there");
    release();
    expect((await first).choices[0]!.message.content).toBe("slow");
    expect(fast!.requests.length).toBe(3);
  });

  it("a target whose key is not in the environment is left out; with none left, the answer says which variable", async () => {
    const [a, b] = await sims(2);
    const noKey = openaiTarget(a!.url, { auth: { header_name: "Authorization", header_value: "Bearer {vault://env/MISSING_KEY_FOR_TEST}" } });
    const base = await start({ balancer: { algorithm: "round-robin" }, targets: [noKey, openaiTarget(b!.url)] }, [hostOf(a!.url), hostOf(b!.url)]);
    for (let i = 0; i < 4; i++) await ask(base);
    expect([a!.requests.length, b!.requests.length]).toEqual([0, 4]);
    await gw!.close();
    const base2 = await start({ targets: [noKey] }, [hostOf(a!.url)]);
    const r = await send(base2, { method: "POST", path: "/v1/chat/completions", headers: { "content-type": "application/json" }, body: '{"messages":[{"role":"user","content":"x"}]}' });
    expect(r.status).toBe(500);
    expect(JSON.parse(r.body).error.message).toMatch(/environment variable MISSING_KEY_FOR_TEST is not set/);
  });
});

describe("circuit breaker (max_fails, fail_timeout)", () => {
  it("leaves a target out once it reached max_fails, and answers 500 'failed to get peer' when all are out", async () => {
    const [a] = await sims(1);
    const an = await startAnthropic();
    closers.push(() => an.close());
    const base = await start(
      { balancer: { algorithm: "priority", failover_criteria: ALL_CRITERIA, max_fails: 1, fail_timeout: 60000 }, targets: [openaiTarget(a!.url, { weight: 100 }), anthropicTarget(an.url, { weight: 50 })] },
      [hostOf(a!.url), hostOf(an.url)],
    );
    a!.failNext(503);
    await ask(base);
    expect([a!.requests.length, an.requests.length]).toEqual([1, 1]);
    await ask(base); // the top target's breaker is open: straight to the fallback
    expect([a!.requests.length, an.requests.length]).toEqual([1, 2]);
    an.failNext(500);
    const last = await send(base, { method: "POST", path: "/v1/chat/completions", headers: { "content-type": "application/json" }, body: '{"messages":[{"role":"user","content":"x"}]}' });
    expect(last.status).toBe(500); // the fallback's own failure, returned (no peer left to try)
    const none = await send(base, { method: "POST", path: "/v1/chat/completions", headers: { "content-type": "application/json" }, body: '{"messages":[{"role":"user","content":"x"}]}' });
    expect(none.status).toBe(500);
    expect(JSON.parse(none.body)).toMatchObject({ error: { message: "failed to get peer" } });
    expect([a!.requests.length, an.requests.length]).toEqual([1, 3]);
  });
});

describe("shared state", () => {
  it("the listener's filter and the upstream filter share breaker state when their JSON is laid out differently", async () => {
    const [a, b] = await sims(2);
    const config = { balancer: { algorithm: "priority", failover_criteria: ALL_CRITERIA, max_fails: 1, fail_timeout: 60000 }, targets: [openaiTarget(a!.url, { weight: 100 }), openaiTarget(b!.url, { weight: 50 })] };
    const yaml = advancedYaml(config, [hostOf(a!.url), hostOf(b!.url)], { env: KEYS }).replace(
      "configuration: *targets",
      `configuration: { "@type": type.googleapis.com/google.protobuf.StringValue, value: ${JSON.stringify(JSON.stringify(config, null, 2))} }`,
    );
    gw = await startGateway(yaml);
    a!.failNext(503);
    await ask(gw.url);
    await ask(gw.url);
    expect([a!.requests.length, b!.requests.length]).toEqual([1, 2]);
  });
});

describe("configuration", () => {
  async function refused(config: unknown): Promise<string> {
    const logs: LogLine[] = [];
    const yaml = advancedYaml(config, [{ authority: "127.0.0.1:1", port: 1 }], { env: KEYS });
    await expect(Gateway.load(parseBootstrap(yaml, "t.yaml"), { concurrency: 1, onLog: (l) => logs.push(l) })).rejects.toThrow();
    return logs.map((l) => l.message).join("\n");
  }
  const t = openaiTarget("http://127.0.0.1:1");

  it("refuses bad configuration at load, naming the field", async () => {
    expect(await refused({ targets: [t], balancer: { algorithm: "semantic" } })).toMatch(/field 'balancer.algorithm' semantic is not supported: it needs an embeddings model and a vector database/);
    expect(await refused({ targets: [t], balancer: { algorithm: "fastest" } })).toMatch(/field 'balancer.algorithm' must be one of/);
    expect(await refused({ targets: [] })).toMatch(/field 'targets' must have at least one target/);
    expect(await refused({ targets: [{ ...t, weight: 0 }] })).toMatch(/field 'targets\[0\].weight' must be between 1 and 65535/);
    expect(await refused({ targets: [t, { ...t, model: { provider: "nope" } }] })).toMatch(/field 'targets\[1\].model.provider' must be one of/);
    expect(await refused({ targets: [t], balancer: { failover_criteria: ["http_418"] } })).toMatch(/field 'balancer.failover_criteria\[0\]' must be one of/);
    expect(await refused({ targets: [t], balancer: { retries: -1 } })).toMatch(/field 'balancer.retries' must be between 0 and 32767/);
    expect(await refused({ targets: [{ ...t, auth: { header_name: "Authorization", header_value: "x", allow_override: true } }] })).toMatch(/targets\[0\].auth.allow_override' cannot be true/);
    expect(await refused({ targets: [t], acls: { allow: [] } })).toMatch(/field 'acls' is not supported/);
  });
});
