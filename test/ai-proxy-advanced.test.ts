// ai-proxy-advanced through the local gateway, with the openai SDK as the client and provider
// simulators (or scripted servers) as upstreams. The layout is the example's
// (test/support/ai-proxy-advanced.ts): the router's retry policy, run by
// host/gateway/upstream-tries.ts after source/common/router/router.cc and retry_state_impl.cc,
// re-runs the cluster's upstream filter per try (source/common/router/upstream_request.cc), and
// that filter reads the try number (upstream.request_attempt_count,
// source/extensions/filters/common/expr/context.cc) to take its target.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { startAnthropic, startOpenAI, type Simulator } from "./simulators/index.ts";
import { openaiClient, send } from "./support/client.ts";
import { ALL_CRITERIA, anthropicTarget, hostOf, KEYS, openaiTarget, startAdvanced, type Host } from "./support/ai-proxy-advanced.ts";
import { filter, type RunningGateway } from "./support/gateway.ts";
import { closedPort } from "./support/upstream.ts";

const ROOT = join(import.meta.dirname, "..");
beforeAll(() => {
  execFileSync(process.execPath, [join(ROOT, "scripts/build.mjs"), "ai-proxy-advanced", "ai-metrics"], { cwd: ROOT, stdio: "pipe" });
}, 300_000);

let gw: RunningGateway | null = null;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await gw?.close();
  gw = null;
  await Promise.all(closers.splice(0).map((c) => c()));
});

async function openai(): Promise<Simulator> {
  const s = await startOpenAI();
  closers.push(() => s.close());
  return s;
}
async function anthropic(): Promise<Simulator> {
  const s = await startAnthropic();
  closers.push(() => s.close());
  return s;
}

async function start(config: unknown, hosts: Host[], o: { accessLog?: { path: string; json: Record<string, string> } } = {}): Promise<string> {
  gw = await startAdvanced(config, hosts, { env: KEYS, ...o });
  return gw.url;
}

const ask = (base: string, text = "hello there") => openaiClient(base).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: text }] });

async function askStream(base: string, text = "hello there"): Promise<string> {
  const s = await openaiClient(base).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: text }], stream: true });
  let out = "";
  for await (const c of s) out += c.choices[0]?.delta?.content ?? "";
  return out;
}


/** A server that accepts requests and never answers (a timing-out provider). */
async function hanging(): Promise<string> {
  const sockets = new Set<import("node:net").Socket>();
  const s = http.createServer(() => {});
  s.on("connection", (c) => sockets.add(c));
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  closers.push(async () => {
    for (const c of sockets) c.destroy();
    await new Promise<void>((r) => s.close(() => r()));
  });
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

describe("failover across providers (openai SDK)", () => {
  for (const stream of [false, true]) {
    const mode = stream ? "streamed" : "plain";
    const answer = async (base: string) => (stream ? askStream(base) : (await ask(base)).choices[0]!.message.content);

    it(`${mode}: 429 and 5xx from OpenAI fail over to Anthropic; the client gets OpenAI's format`, async () => {
      const oa = await openai();
      const an = await anthropic();
      const base = await start({ balancer: { algorithm: "priority", failover_criteria: ALL_CRITERIA }, targets: [openaiTarget(oa.url, { weight: 100 }), anthropicTarget(an.url, { weight: 50 })] }, [hostOf(oa.url), hostOf(an.url)]);
      for (const status of [429, 500, 502, 503, 504]) {
        oa.failNext(status);
        expect(await answer(base)).toBe("echo: hello there");
      }
      expect(oa.requests.length).toBe(5);
      expect(an.requests.length).toBe(5);
      // Each try carried its own provider's credential, never the other's.
      expect(an.requests.every((r) => r.headers["x-api-key"] === "sk-ant-test" && r.headers.authorization === undefined)).toBe(true);
      expect(oa.requests.every((r) => r.headers.authorization === "Bearer sk-test-openai" && r.headers["x-api-key"] === undefined)).toBe(true);
      // Without a failure, the top priority answers.
      expect(await answer(base)).toBe("echo: hello there");
      expect(oa.requests.length).toBe(6);
    });

    it(`${mode}: a refused connection and a timeout fail over (error, timeout)`, async () => {
      const an = await anthropic();
      const dead = `http://127.0.0.1:${await closedPort()}`;
      const slow = await hanging();
      const base = await start(
        { balancer: { algorithm: "priority", failover_criteria: ["error", "timeout"], read_timeout: 300 }, targets: [openaiTarget(dead, { weight: 100 }), openaiTarget(slow, { weight: 90 }), anthropicTarget(an.url, { weight: 50 })] },
        [hostOf(dead), hostOf(slow), hostOf(an.url)],
      );
      expect(await answer(base)).toBe("echo: hello there");
      expect(an.requests.length).toBe(1);
    });
  }

  it("streamed fallback arrives incrementally: the first chunk reaches the client before the upstream sends the last", async () => {
    const oa = await openai();
    // An Anthropic-format upstream that sends its first events, then waits for the client.
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const gated = http.createServer((req, res) => {
      req.resume();
      req.on("end", async () => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        const ev = (type: string, data: unknown) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...(data as object) })}\n\n`);
        ev("message_start", { message: { id: "msg_1", type: "message", role: "assistant", model: "claude-3-5-haiku-latest", content: [], usage: { input_tokens: 2, output_tokens: 1 } } });
        ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } });
        ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: "first" } });
        await released;
        ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: " last" } });
        ev("content_block_stop", { index: 0 });
        ev("message_delta", { delta: { stop_reason: "end_turn" }, usage: { output_tokens: 2 } });
        ev("message_stop", {});
        res.end();
      });
    });
    await new Promise<void>((r) => gated.listen(0, "127.0.0.1", r));
    closers.push(() => new Promise<void>((r) => gated.close(() => r())));
    const gurl = `http://127.0.0.1:${(gated.address() as AddressInfo).port}`;
    const base = await start({ balancer: { algorithm: "priority", failover_criteria: ALL_CRITERIA }, targets: [openaiTarget(oa.url, { weight: 100 }), anthropicTarget(gurl, { weight: 50 })] }, [hostOf(oa.url), hostOf(gurl)]);
    oa.failNext(503);
    const s = await openaiClient(base).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], stream: true });
    let text = "";
    for await (const c of s) {
      const d = c.choices[0]?.delta?.content ?? "";
      text += d;
      // Only once "first" is at the client does the upstream send the rest: buffering would hang here.
      if (text.includes("first")) release();
    }
    expect(text).toBe("first last");
  });

  it("a 400 from the provider is returned, not failed over", async () => {
    const oa = await openai();
    const an = await anthropic();
    const base = await start({ balancer: { algorithm: "priority", failover_criteria: ALL_CRITERIA }, targets: [openaiTarget(oa.url, { weight: 100 }), anthropicTarget(an.url, { weight: 50 })] }, [hostOf(oa.url), hostOf(an.url)]);
    oa.failNext(400);
    const err = await ask(base).catch((e: unknown) => e as { status: number; error: { message: string } });
    expect((err as { status: number }).status).toBe(400);
    expect(an.requests.length).toBe(0);
  });

  it("POST without non_idempotent does not fail over on an HTTP status, only on error/timeout", async () => {
    const oa = await openai();
    const an = await anthropic();
    const base = await start({ balancer: { algorithm: "priority", failover_criteria: ["error", "timeout", "http_429"] }, targets: [openaiTarget(oa.url, { weight: 100 }), anthropicTarget(an.url, { weight: 50 })] }, [hostOf(oa.url), hostOf(an.url)]);
    oa.failNext(429);
    const err = (await ask(base).catch((e: unknown) => e)) as { status: number };
    expect(err.status).toBe(429);
    expect(an.requests.length).toBe(0);
  });

  it("every target failing: the last failure, in OpenAI's shape; the record names the target and tries", async () => {
    const oa = await openai();
    const an = await anthropic();
    const log = join(mkdtempSync(join(tmpdir(), "aipa-")), "access.log");
    const base = await start(
      { balancer: { algorithm: "priority", failover_criteria: ALL_CRITERIA }, targets: [openaiTarget(oa.url, { weight: 100, description: "primary" }), anthropicTarget(an.url, { weight: 50, description: "fallback" })] },
      [hostOf(oa.url), hostOf(an.url)],
      { accessLog: { path: log, json: { target: "%FILTER_STATE(wasm.ai.target:PLAIN)%", tries: "%FILTER_STATE(wasm.ai.tries:PLAIN)%", provider: "%FILTER_STATE(wasm.ai.provider_name:PLAIN)%", status: "%RESPONSE_CODE%" } } },
    );
    oa.failNext(500);
    an.failNext(503);
    const r = await send(base, { method: "POST", path: "/v1/chat/completions", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] }) });
    expect(r.status).toBe(503);
    const body = JSON.parse(r.body) as { error: { message: string; type: string } };
    expect(typeof body.error.message).toBe("string");
    expect(r.headers["x-ai-proxy-advanced-failover"]).toBeUndefined();
    // A served one: the record says which target served after how many tries.
    oa.failNext(429);
    await ask(base);
    await gw!.close();
    gw = null;
    const lines = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, string>);
    expect(lines[0]).toMatchObject({ target: "fallback", tries: "2", provider: "anthropic", status: 503 });
    expect(lines[1]).toMatchObject({ target: "fallback", tries: "2", provider: "anthropic", status: 200 });
  });

  it("ai-metrics after it counts the serving provider and model, not the failed try", async () => {
    const oa = await openai();
    const an = await anthropic();
    const metrics = `
          - name: ai-metrics
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: ai-metrics
                root_id: ai-metrics
                configuration: { "@type": type.googleapis.com/google.protobuf.StringValue, value: '{"ai_metrics": true, "genai_metrics": false}' }
                vm_config: { vm_id: ai-metrics, runtime: envoy.wasm.runtime.v8, code: { local: { filename: ${JSON.stringify(filter("ai-metrics"))} } } }`;
    gw = await startAdvanced({ balancer: { algorithm: "priority", failover_criteria: ALL_CRITERIA }, targets: [openaiTarget(oa.url, { weight: 100 }), anthropicTarget(an.url, { weight: 50 })] }, [hostOf(oa.url), hostOf(an.url)], { env: KEYS, filtersAfter: metrics });
    oa.failNext(429);
    await ask(gw.url);
    const stats = await (await fetch(`${gw.admin}/stats`)).text();
    const requests = stats.split("\n").filter((l) => l.includes("ai_llm_requests_total"));
    expect(requests.length).toBe(1);
    expect(requests[0]).toMatch(/provider=\.=anthropic;\.;/);
    expect(requests[0]).toMatch(/model=\.=claude-3-5-haiku/);
    expect(requests[0]).toMatch(/: 1$/);
  });

  it("the circuit breaker's counts are shared by the worker VMs (shared data)", async () => {
    const oa = await openai();
    const an = await anthropic();
    gw = await startAdvanced(
      { balancer: { algorithm: "priority", failover_criteria: ALL_CRITERIA, max_fails: 1, fail_timeout: 60000 }, targets: [openaiTarget(oa.url, { weight: 100 }), anthropicTarget(an.url, { weight: 50 })] },
      [hostOf(oa.url), hostOf(an.url)],
      { env: KEYS, concurrency: 2 },
    );
    const post = () => send(gw!.url, { method: "POST", path: "/v1/chat/completions", headers: { "content-type": "application/json" }, body: '{"messages":[{"role":"user","content":"x"}]}' });
    oa.failNext(503);
    expect((await post()).status).toBe(200); // worker 0: OpenAI fails, Anthropic answers
    expect((await post()).status).toBe(200); // worker 1 (a new connection): OpenAI already left out
    expect([oa.requests.length, an.requests.length]).toEqual([1, 2]);
  });
});
