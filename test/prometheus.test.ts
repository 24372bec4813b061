// A real Prometheus server (Debian's `prometheus` package) scrapes the local gateway's admin
// /stats/prometheus, where ai-metrics put the AI series of requests sent through ai-proxy to
// the OpenAI simulator; the test reads them back through Prometheus's HTTP query API.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { filter, startGateway, type RunningGateway } from "./support/gateway.ts";
import { send, type Reply } from "./support/client.ts";
import { OPENAI_DEFAULT_KEY, startOpenAI, type Simulator } from "./simulators/index.ts";
import { needing } from "./support/test-programs.ts";

const ROOT = resolve(import.meta.dirname, "..");
const PROMETHEUS = "/usr/bin/prometheus";
const MODEL = "gpt-4o-mini";
const PRICE = { input_cost: 0.15, output_cost: 0.6 };

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

let sim: Simulator;
let gw: RunningGateway;
let prom: ChildProcess | null = null;
let promUrl = "";
let promLog = "";
let dir = "";
const told = { requests: 0, prompt: 0, completion: 0, total: 0, nano: 0 };

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.on("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a ? a.port : 0;
      s.close(() => done(port));
    });
  });
}

async function query(q: string): Promise<Sample[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = (await res.json()) as { status: string; data?: { result: Sample[] }; error?: string };
  if (body.status !== "success") throw new Error(`query ${q}: ${body.error ?? res.status}`);
  return body.data!.result;
}

/** Polls until Prometheus answers `q` with at least one sample (a scrape has landed). */
async function waitFor(q: string, deadlineMs: number): Promise<Sample[]> {
  const end = Date.now() + deadlineMs;
  let last: unknown = null;
  while (Date.now() < end) {
    if (prom?.exitCode !== null) throw new Error(`prometheus exited (${prom?.exitCode}):\n${promLog}`);
    try {
      const r = await query(q);
      if (r.length > 0) return r;
    } catch (e) {
      last = e; // not ready yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no samples for ${q} after ${deadlineMs} ms (last error: ${String(last)})\nprometheus log:\n${promLog}`);
}

function usageOf(r: Reply): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  const data = r.body.startsWith("{") ? [r.body] : r.body.split("\n\n").map((e) => e.replace(/^data: /, "")).filter((d) => d.startsWith("{"));
  const u = data.map((d) => (JSON.parse(d) as { usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null }).usage).filter((x) => !!x);
  expect(u).toHaveLength(1);
  return u[0]!;
}

const prometheus = needing(PROMETHEUS, "a real Prometheus scraping the gateway's /stats/prometheus");

beforeAll(async () => {
  if (prometheus.missing) return;
  execFileSync(process.execPath, [resolve(ROOT, "scripts/build.mjs"), "ai-proxy", "ai-metrics"], { cwd: ROOT, stdio: "pipe" });
  sim = await startOpenAI();
  const shipped = parse(readFileSync(resolve(ROOT, "envoy/envoy.yaml"), "utf8")) as { stats_config: unknown };
  gw = await startGateway({
    filters: [
      {
        name: "ai-proxy",
        code: filter("ai-proxy"),
        config: {
          route_type: "llm/v1/chat",
          auth: { header_name: "Authorization", header_value: `Bearer ${OPENAI_DEFAULT_KEY}` },
          model: { provider: "openai", name: MODEL, options: { upstream_url: `${sim.url}/v1/chat/completions`, ...PRICE } },
        },
      },
      { name: "ai-metrics", code: filter("ai-metrics"), config: "" },
    ],
    routes: [{ prefix: "/", cluster: "upstream" }],
    clusters: { upstream: { port: sim.port } },
    extra: stringify({ stats_config: shipped.stats_config }),
  });
  // Two plain and two streamed answers before the first scrape.
  for (const stream of [false, true, false, true]) {
    const body = { messages: [{ role: "user", content: `tell me about scraping ${stream ? "streams" : "answers"} now` }], ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}) };
    const r = await send(gw.url, { method: "POST", path: "/v1/chat/completions", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    expect(r.status, r.body).toBe(200);
    const u = usageOf(r);
    told.requests++;
    told.prompt += u.prompt_tokens;
    told.completion += u.completion_tokens;
    told.total += u.total_tokens;
    told.nano += Math.round((u.prompt_tokens * PRICE.input_cost + u.completion_tokens * PRICE.output_cost) * 1000);
  }

  dir = mkdtempSync(join(tmpdir(), "aigw-prometheus-"));
  const config = join(dir, "prometheus.yml");
  writeFileSync(
    config,
    stringify({
      global: { scrape_interval: "1s", evaluation_interval: "1s" },
      scrape_configs: [{ job_name: "gateway", metrics_path: "/stats/prometheus", static_configs: [{ targets: [`127.0.0.1:${gw.gw.adminPort}`] }] }],
    }),
  );
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prom = spawn(PROMETHEUS, [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"], { stdio: ["ignore", "pipe", "pipe"] });
  prom.stdout?.on("data", (c: Buffer) => (promLog += c.toString()));
  prom.stderr?.on("data", (c: Buffer) => (promLog += c.toString()));
  await waitFor('up{job="gateway"} == 1', 60_000);
}, 120_000);

afterAll(async () => {
  if (prom && prom.exitCode === null) {
    const p = prom;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGTERM");
    await exited;
  }
  await gw?.close();
  await sim?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

const num = (s: Sample) => Number(s.value[1]);

describe.skipIf(prometheus.missing)(prometheus.title, () => {
  it("has the token series with Kong's labels and the exact counts", async () => {
    const samples = await waitFor(`ai_llm_tokens_total{ai_provider="openai",ai_model="${MODEL}"}`, 30_000);
    const byType = Object.fromEntries(samples.map((s) => [s.metric.token_type, num(s)]));
    expect(byType).toEqual({ prompt_tokens: told.prompt, completion_tokens: told.completion, total_tokens: told.total });
    const labels = samples.find((s) => s.metric.token_type === "total_tokens")!.metric;
    // Prometheus drops labels with empty values (cache_status, vector_db, … and workspace here).
    expect(labels).toEqual({ __name__: "ai_llm_tokens_total", ai_provider: "openai", ai_model: MODEL, token_type: "total_tokens", instance: `127.0.0.1:${gw.gw.adminPort}`, job: "gateway" });
  });

  it("has the request series by mode and status class, and the cost", async () => {
    const samples = await waitFor(`ai_llm_requests_total{ai_provider="openai",ai_model="${MODEL}"}`, 30_000);
    expect(samples.map((s) => [s.metric.request_mode, s.metric.status_class, num(s)]).sort()).toEqual([
      ["oneshot", "2xx", 2],
      ["stream", "2xx", 2],
    ]);
    const cost = await waitFor(`sum(ai_llm_cost_nanodollars_total{ai_provider="openai",ai_model="${MODEL}"})`, 30_000);
    expect(num(cost[0]!)).toBe(told.nano);
  });

  it("has the OpenTelemetry GenAI histograms under their Prometheus names", async () => {
    const usage = await waitFor(`gen_ai_client_token_usage_count{gen_ai_provider_name="openai",gen_ai_request_model="${MODEL}"}`, 30_000);
    expect(usage.map((s) => [s.metric.gen_ai_token_type, s.metric.gen_ai_operation_name, num(s)]).sort()).toEqual([
      ["input", "chat", told.requests],
      ["output", "chat", told.requests],
    ]);
    const inf = await waitFor(`gen_ai_client_operation_duration_milliseconds_bucket{gen_ai_provider_name="openai",le="+Inf"}`, 30_000);
    expect(inf.map(num)).toEqual([told.requests]);
    const latency = await waitFor(`sum(ai_llm_provider_latency_ms_count{ai_provider="openai"})`, 30_000);
    expect(num(latency[0]!)).toBe(told.requests);
  });
});

describe.skipIf(prometheus.missing)(needing(PROMETHEUS, "examples/grafana on the same Prometheus").title, () => {
  interface Panel {
    title: string;
    targets?: { expr: string }[];
  }

  it("ships a Prometheus config that promtool accepts", () => {
    const out = execFileSync("/usr/bin/promtool", ["check", "config", resolve(ROOT, "examples/grafana/prometheus.yml")], { encoding: "utf8" });
    expect(out).toContain("SUCCESS");
  });

  it("runs every dashboard query, and the ones without an error filter have data", async () => {
    // Two scrapes at least, so rate() has a window to work with.
    await waitFor(`count_over_time(ai_llm_requests_total{ai_provider="openai"}[1m]) >= 2`, 30_000);
    const dash = JSON.parse(readFileSync(resolve(ROOT, "examples/grafana/dashboards/ai-gateway.json"), "utf8")) as { panels: Panel[] };
    const targets = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })));
    expect(targets.length).toBeGreaterThanOrEqual(15);
    const empty: string[] = [];
    for (const { title, expr } of targets) {
      // Grafana's variables, as the dashboard resolves them with "All" selected.
      const q = expr.replaceAll("$__rate_interval", "1m").replaceAll("$__range", "5m").replaceAll("$provider", ".*").replaceAll("$model", ".*");
      const result = await query(q); // throws on a PromQL error
      if (result.length === 0 && !expr.includes('status_class!="2xx"')) empty.push(title);
    }
    expect(empty).toEqual([]);
    const providers = (await (await fetch(`${promUrl}/api/v1/label/ai_provider/values`)).json()) as { data: string[] };
    expect(providers.data).toContain("openai");
  });
});
