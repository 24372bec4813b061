// Issue 11, secrets: the credential ai-proxy inserts (from a {vault://env/…} reference) must
// never reach the client or a log, whatever the upstream echoes. Every provider runs behind the
// gateway with ai-metrics and the shipped access-log format; its simulator echoes the key it
// received in each way a provider or a proxy in front of it does (misbehave.ts), and every
// client response (status line, headers, body), the access log, the gateway's log lines (its
// stderr) and /stats are searched for the key. The error itself must still arrive, redacted.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execFileSync, spawn } from "node:child_process";
import { shippedLogFormat } from "./support/shipped-config.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildAiProxy, sseData } from "./ai-proxy-harness.ts";
import { bootstrapYaml, filter, startGateway, type RunningGateway } from "./support/gateway.ts";
import { send, type Reply } from "./support/client.ts";
import type { EchoWay, Simulator } from "./simulators/index.ts";
import { KEY_ENV, PROVIDER_CASES, type ProviderCase } from "./support/provider-cases.ts";

const ROOT = resolve(import.meta.dirname, "..");

/** The shipped access-log format (envoy/envoy.yaml), formatters included. */
function shippedAccessLog(): { json: Record<string, string>; formatters: Record<string, string> } {
  const fmt = shippedLogFormat();
  return { json: fmt.json_format, formatters: Object.fromEntries((fmt.formatters ?? []).map((f) => [f.name, f.typed_config["@type"]])) };
}

type Case = ProviderCase;
const CASES = PROVIDER_CASES;

const ERROR_WAYS: EchoWay[] = ["message", "type", "code", "detail", "text", "html"];
const STREAM_WAYS: EchoWay[] = ["sse-error", "split"];

interface Setup {
  c: Case;
  sim: Simulator;
  g: RunningGateway;
  logFile: string;
  replies: { what: string; r: Reply }[];
}

async function setup(c: Case): Promise<Setup> {
  const sim = await c.start(c.key);
  sim.setPacing({ delayMs: 1 });
  const logFile = join(mkdtempSync(join(tmpdir(), "aiproxy-secrets-")), "access.log");
  const al = shippedAccessLog();
  const g = await startGateway({
    filters: [
      {
        name: "ai-proxy",
        code: filter("ai-proxy"),
        config: { route_type: "llm/v1/chat", auth: c.auth, model: c.model(sim), logging: { log_statistics: true, log_payloads: true } },
        env: { [KEY_ENV]: c.key },
      },
      { name: "ai-metrics", code: filter("ai-metrics"), config: "" },
    ],
    routes: [{ prefix: "/", cluster: "upstream" }],
    clusters: { upstream: { port: sim.port } },
    accessLog: { path: logFile, json: al.json, formatters: al.formatters },
  });
  return { c, sim, g, logFile, replies: [] };
}

function chat(s: Setup, stream: boolean, what: string): Promise<Reply> {
  return send(s.g.url, {
    method: "POST",
    path: "/v1/chat/completions",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: "hello there friend" }], stream }),
  }).then((r) => {
    s.replies.push({ what, r });
    return r;
  });
}

/** Every byte of a reply the client saw: status, header names and values, body. */
function wire(r: Reply): string {
  return `${r.status}\n${Object.entries(r.headers)
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(", ") : v}`)
    .join("\n")}\n\n${r.body}`;
}

/** The key and the pieces of it long enough to identify it (halves: a split must not leak either). */
function leaks(text: string, key: string): string[] {
  const probes = [key, key.slice(0, Math.ceil(key.length / 2)), key.slice(Math.floor(key.length / 2))];
  return probes.filter((p) => text.includes(p));
}

beforeAll(() => {
  buildAiProxy();
  execFileSync(process.execPath, [resolve(ROOT, "scripts/build.mjs"), "ai-metrics"], { cwd: ROOT, stdio: "pipe" });
}, 300_000);

describe.each(CASES)("$name: the key the gateway holds never leaves it", (c) => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup(c);
  }, 60_000);
  afterAll(async () => {
    await s?.g.close();
    await s?.sim.close();
  });

  it("a normal answer works (the simulator accepts the vault key)", async () => {
    const r = await chat(s, false, "normal");
    expect(r.status, r.body).toBe(200);
    expect(s.sim.requests.at(-1)?.raw).toBeDefined();
  });

  it.each(ERROR_WAYS)("an upstream error echoing the key in its %s is forwarded, redacted", async (way) => {
    s.sim.misbehaveNext({ echo: way });
    const r = await chat(s, false, way);
    expect(leaks(wire(r), c.key)).toEqual([]);
    expect(r.status).toBe(way === "detail" ? 422 : way === "html" ? 502 : 401);
    const e = (JSON.parse(r.body) as { error: { message: string; type: string; code: unknown } }).error;
    // Not dropped: the rest of the upstream's error is still there, the key masked with '*'
    // (a provider whose error shape has no such field drops a key-bearing type or code).
    if (way === "type" || way === "code") expect(e.message).toBe("Invalid key.");
    else expect(e.message).toContain("*".repeat(c.key.length));
    if (way === "message" || way === "detail" || way === "text") expect(e.message).toContain("Incorrect API key provided: " + "*".repeat(c.key.length));
    if (way === "type" && e.type.startsWith("*")) expect(e.type).toBe("*".repeat(c.key.length));
  });

  it.each(STREAM_WAYS)("a stream error event echoing the key (%s) ends the stream with a redacted error event", async (way) => {
    s.sim.misbehaveNext({ echo: way });
    const r = await chat(s, true, way);
    expect(r.status).toBe(200);
    expect(leaks(wire(r), c.key)).toEqual([]);
    const data = sseData(r.body);
    expect(data).not.toContain("[DONE]");
    const last = JSON.parse(data.at(-1) ?? "{}") as { error?: { message: string } };
    expect(last.error?.message).toContain("Incorrect API key provided: " + "*".repeat(8));
  });

  it("a key echoed in response headers is masked in every header", async () => {
    for (const stream of [false, true]) {
      s.sim.misbehaveNext({ echo: "header" });
      const r = await chat(s, stream, `header stream=${stream}`);
      expect(r.status, r.body).toBe(200);
      expect(leaks(wire(r), c.key)).toEqual([]);
      expect(r.headers["x-echo-auth"]).toBe("*".repeat(c.key.length));
    }
  });

  it("a key echoed as the answer's model never reaches the body, the access log or a metric label", async () => {
    for (const stream of [false, true]) {
      s.sim.misbehaveNext({ echo: "model" });
      const r = await chat(s, stream, `model stream=${stream}`);
      expect(r.status, r.body).toBe(200);
      expect(leaks(wire(r), c.key)).toEqual([]);
    }
  });

  it("nothing the client got, no access-log line, no log line and no stat holds the key", async () => {
    expect(s.replies.length).toBeGreaterThanOrEqual(ERROR_WAYS.length + STREAM_WAYS.length + 5);
    for (const { what, r } of s.replies) expect(leaks(wire(r), c.key), what).toEqual([]);
    // The access log is written after each response ends.
    let log = "";
    for (let i = 0; i < 200 && log.split("\n").length <= s.replies.length; i++) {
      try {
        log = readFileSync(s.logFile, "utf8");
      } catch {
        /* not yet */
      }
      await new Promise((res) => setTimeout(res, 10));
    }
    expect(log.split("\n").filter((l) => l.trim()).length).toBe(s.replies.length);
    expect(leaks(log, c.key)).toEqual([]);
    // The gateway's log lines (its stderr): the upstream errors were logged, redacted.
    const lines = s.g.logs.map((l) => l.message).join("\n");
    expect(leaks(lines, c.key)).toEqual([]);
    for (const path of ["/stats", "/stats/prometheus"]) {
      const stats = await send(s.g.admin, { path });
      expect(stats.status).toBe(200);
      expect(stats.body).toContain("ai_llm_requests_total");
      expect(leaks(stats.body, c.key)).toEqual([]);
    }
    // The upstream did get it: the check above is not vacuous.
    expect(s.sim.requests.some((q) => JSON.stringify(q.headers).includes(c.key) || q.query.toString().includes(c.key))).toBe(true);
  });
});

describe("the aigw process: its stdout (the access log) and stderr hold no key", () => {
  // The local gateway as users run it (`aigw run`, log level info): every echo way at once.
  const c = PROVIDER_CASES[0];
  it("after every echo way, stream and not", async () => {
    const sim = await c.start(c.key);
    const al = shippedAccessLog();
    const yaml = bootstrapYaml({
      filters: [
        { name: "ai-proxy", code: filter("ai-proxy"), config: { route_type: "llm/v1/chat", auth: c.auth, model: c.model(sim), logging: { log_statistics: true, log_payloads: true } }, env: { [KEY_ENV]: c.key } },
        { name: "ai-metrics", code: filter("ai-metrics"), config: "" },
      ],
      routes: [{ prefix: "/", cluster: "upstream" }],
      clusters: { upstream: { port: sim.port } },
      accessLog: { path: "/dev/stdout", json: al.json, formatters: al.formatters },
    });
    const file = join(mkdtempSync(join(tmpdir(), "aiproxy-secrets-cli-")), "envoy.yaml");
    writeFileSync(file, yaml);
    const child = spawn(process.execPath, [join(ROOT, "bin/aigw.mjs"), "run", "--config", file], { cwd: ROOT });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b));
    try {
      const port = await new Promise<number>((res, rej) => {
        child.stderr.on("data", (b: Buffer) => {
          stderr += b;
          const m = /main on :(\d+)/.exec(stderr);
          if (m) res(Number(m[1]));
        });
        child.on("exit", () => rej(new Error(stderr)));
      });
      const base = `http://127.0.0.1:${port}`;
      let n = 0;
      for (const way of [...ERROR_WAYS, ...STREAM_WAYS, "header", "model"] as EchoWay[]) {
        for (const stream of way === "sse-error" || way === "split" ? [true] : ERROR_WAYS.includes(way) ? [false] : [false, true]) {
          sim.misbehaveNext({ echo: way });
          const r = await send(base, { method: "POST", path: "/v1/chat/completions", headers: { "content-type": "application/json" }, body: JSON.stringify({ messages: [{ role: "user", content: "hi" }], stream }) });
          expect(leaks(wire(r), c.key), way).toEqual([]);
          n++;
        }
      }
      for (let i = 0; i < 200 && stdout.split("\n").filter((l) => l.startsWith("{")).length < n; i++) await new Promise((res) => setTimeout(res, 10));
      expect(stdout.split("\n").filter((l) => l.startsWith("{")).length).toBe(n);
      expect(stderr).toContain("ai-proxy"); // the upstream failures were logged…
      expect(leaks(stdout, c.key)).toEqual([]);
      expect(leaks(stderr, c.key)).toEqual([]); // …without the key
    } finally {
      child.kill("SIGTERM");
      await sim.close();
    }
  }, 60_000);
});
