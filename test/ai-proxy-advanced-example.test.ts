// examples/ai-proxy-advanced/envoy.yaml run as shipped, but for where its two provider clusters
// point (each provider's public host becomes a local simulator, plain HTTP) and the wasm path.
// Keys come from the environment, as the README tells users (host_env_keys).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type RunningGateway } from "./support/gateway.ts";
import { startAnthropic, startOpenAI, type Simulator } from "./simulators/index.ts";
import { openaiClient } from "./support/client.ts";
import { KEYS } from "./support/ai-proxy-advanced.ts";
import { pointClustersAt } from "./support/envoy-yaml.ts";

const ROOT = join(import.meta.dirname, "..");
const EXAMPLE = readFileSync(join(ROOT, "examples/ai-proxy-advanced/envoy.yaml"), "utf8");

/** The example with its provider clusters sent to the simulators (no TLS, no network). */
function localized(ports: Record<string, number>): string {
  return pointClustersAt(EXAMPLE, ports).replaceAll("filename: build/", `filename: ${ROOT}/build/`);
}

describe("examples/ai-proxy-advanced/envoy.yaml", () => {
  let oa: Simulator;
  let an: Simulator;
  let gw: RunningGateway;
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    execFileSync(process.execPath, [join(ROOT, "scripts/build.mjs"), "ai-proxy-advanced"], { cwd: ROOT, stdio: "pipe" });
    for (const [k, v] of Object.entries(KEYS)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    oa = await startOpenAI();
    an = await startAnthropic();
    gw = await startGateway(localized({ openai: oa.port, anthropic: an.port }));
  }, 300_000);

  afterAll(async () => {
    await gw?.close();
    await oa?.close();
    await an?.close();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  const base = (listener: string) => `http://127.0.0.1:${gw.gw.ports.get(listener)}`;

  it("priority: OpenAI answers; on 429, 5xx or a stream's 503 Anthropic answers in OpenAI's format", async () => {
    const client = openaiClient(base("priority"));
    const ask = () => client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello there" }] });
    expect((await ask()).model).toBe("gpt-4o-mini");
    expect(oa.requests.at(-1)!.headers.host).toBe("api.openai.com:443");
    for (const status of [429, 500, 503]) {
      oa.failNext(status);
      const r = await ask();
      expect(r.choices[0]!.message.content).toBe("echo: hello there");
      expect(r.model).toMatch(/^claude-3-5-haiku/);
    }
    expect(an.requests.length).toBe(3);
    expect(an.requests.every((q) => q.headers["x-api-key"] === KEYS.ANTHROPIC_API_KEY && q.headers.host === "api.anthropic.com:443")).toBe(true);
    oa.failNext(503);
    const s = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "stream me" }], stream: true });
    let text = "";
    for await (const c of s) text += c.choices[0]?.delta?.content ?? "";
    expect(text).toBe("echo: stream me");
    expect(an.requests.length).toBe(4);
  });

  it("round-robin: 3:1 between OpenAI and Anthropic", async () => {
    const o0 = oa.requests.length;
    const a0 = an.requests.length;
    const client = openaiClient(base("round-robin"));
    for (let i = 0; i < 8; i++) await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    expect([oa.requests.length - o0, an.requests.length - a0]).toEqual([6, 2]);
  });
});
