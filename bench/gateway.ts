// Requests/s and latency through the local gateway: router only vs one no-op wasm filter,
// against the echo upstream, with the upstream measured directly as the floor. And the
// scaling over worker threads: req/s at --concurrency 1 and 2 (benchScaling).
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { loadGenerator, runLoad, type LoadResult } from "./load.ts";
import { printTable, type Row } from "./table.ts";
import { cpuSeconds, ROOT, startEchoProcess, startGatewayProcess, startSimulatorProcess, type Proc } from "./processes.ts";
import { bootstrapYamlText, wasmFilterYaml } from "../test/support/envoy-yaml.ts";
import { chainChatBody, chainConfigs } from "./chain.ts";

function yaml(upstreamPort: number, wasm: string | null): string {
  return bootstrapYamlText({
    listener: "bench",
    statPrefix: "bench",
    admin: false,
    filters: wasm ? wasmFilterYaml("noop", wasm, "") : "",
    clusters: { echo: upstreamPort },
    // Envoy's "best practices for benchmarking Envoy" (docs, FAQ): generate_request_id off.
    generateRequestId: false,
  });
}

export async function benchGateway(durationMs: number): Promise<void> {
  const body = JSON.stringify({ model: "bench-model", messages: [{ role: "user", content: "hello there" }] });
  const echo = await startEchoProcess();
  const rows: Row[] = [];
  try {
    const targets: [string, number, () => Promise<void>][] = [["upstream directly", echo.port, async () => {}]];
    for (const [label, wasm] of [
      ["gateway, router only", null],
      ["gateway, noop wasm filter", join(ROOT, "build/noop.wasm")],
    ] as const) {
      const gw = await startGatewayProcess(yaml(echo.port, wasm));
      targets.push([label, gw.port, gw.stop]);
    }
    for (const [label, port] of targets) {
      for (const connections of [1, 32]) {
        const r = await runLoad({
          origin: `http://127.0.0.1:${port}`,
          path: "/v1/chat/completions",
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
          connections,
          durationMs,
          warmupRequests: 500,
          warmupMs: connections === 1 ? Number(process.env.BENCH_WARMUP_MS ?? 6000) : 0,
        });
        rows.push({ target: label, connections, requests: r.requests, "req/s": Math.round(r.rps), "p50 ms": r.p50Ms.toFixed(2), "p99 ms": r.p99Ms.toFixed(2), errors: r.errors });
      }
    }
    for (const [, , stop] of targets) await stop();
  } finally {
    await echo.stop();
  }
  printTable(`Local gateway throughput (${durationMs} ms per run, closed loop, load generator ${loadGenerator()}, gateway --concurrency 1)`, rows);
}

/** The ai-proxy configuration envoy/envoy.yaml ships for OpenAI (log_statistics on), its key inlined. */
function shippedOpenAiProxyConfig(): string {
  type Filter = { name: string; typed_config?: { config?: { configuration?: { value?: string } } } };
  const y = parse(readFileSync(join(ROOT, "envoy/envoy.yaml"), "utf8")) as { static_resources: { listeners: { filter_chains: { filters: { typed_config: { http_filters: Filter[] } }[] }[] }[] } };
  const filters = y.static_resources.listeners.flatMap((l) => l.filter_chains.flatMap((c) => c.filters.flatMap((f) => f.typed_config.http_filters ?? [])));
  const value = filters.find((f) => f.name === "ai-proxy-openai")?.typed_config?.config?.configuration?.value;
  if (!value) throw new Error("envoy/envoy.yaml: no ai-proxy-openai filter configuration");
  return value.replace("{vault://env/OPENAI_API_KEY}", "sk-test-openai");
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[(s.length - 1) >> 1]!;
}

/**
 * Throughput over worker threads: each configuration at --concurrency 1 and 2, 32 connections,
 * in interleaved rounds (the machine's speed drifts; a round measures both back to back). The
 * load generator runs on the same 2 cores as the gateway's threads and the upstream, so a second
 * worker can only show what it adds where the gateway's own CPU per request dominates.
 */
export async function benchScaling(durationMs: number): Promise<void> {
  const rounds = Number(process.env.BENCH_SCALING_ROUNDS ?? 3);
  const warmupMs = Number(process.env.BENCH_WARMUP_MS ?? 6000);
  const connections = 32;
  const echo = await startEchoProcess();
  const sim = await startSimulatorProcess();
  const body = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello there" }] });
  // The three prompt filters with the examples' configs: the chain bench's, in front of the echo
  // upstream. On a 32 KB chat they cost the gateway more CPU per request than the load generator
  // and the upstream spend, so this row shows what a second worker adds when the gateway is the bottleneck.
  const prompts = chainConfigs().slice(0, 3);
  const configs = [
    { label: "noop wasm filter", upstream: echo, body, yaml: yaml(echo.port, join(ROOT, "build/noop.wasm")) },
    {
      label: "ai-proxy (shipped OpenAI config)",
      upstream: sim,
      body,
      yaml: bootstrapYamlText({ listener: "bench", statPrefix: "bench", admin: false, filters: wasmFilterYaml("ai-proxy", join(ROOT, "build/ai-proxy.wasm"), shippedOpenAiProxyConfig(), { rootId: "ai-proxy" }), clusters: { sim: sim.port }, generateRequestId: false }),
    },
    {
      label: "template → decorator → guard, 32 KB chat (the gateway the bottleneck)",
      upstream: echo,
      body: chainChatBody(32 * 1024),
      yaml: bootstrapYamlText({ listener: "bench", statPrefix: "bench", admin: false, filters: prompts.map((f) => wasmFilterYaml(f.name, join(ROOT, "build", `${f.name}.wasm`), f.config, { rootId: f.name })).join(""), clusters: { echo: echo.port }, generateRequestId: false }),
    },
  ];
  const rows: Row[] = [];
  try {
    for (const c of configs) {
      const gws: [number, Proc][] = [];
      try {
        for (const n of [1, 2]) gws.push([n, await startGatewayProcess(c.yaml, n)]);
        // Each run with the gateway's CPU time over it: the cores its threads got.
        const load = async (gw: Proc, ms: number): Promise<LoadResult & { cores: number }> => {
          const [cpu0, t0] = [cpuSeconds(gw.pid!), performance.now()];
          const r = await runLoad({ origin: `http://127.0.0.1:${gw.port}`, path: "/v1/chat/completions", method: "POST", headers: { "content-type": "application/json" }, body: c.body, connections, durationMs: ms, warmupRequests: 200, expectStatus: 200 });
          return { ...r, cores: (cpuSeconds(gw.pid!) - cpu0) / ((performance.now() - t0) / 1000) };
        };
        for (const [, gw] of gws) await load(gw, warmupMs);
        const runs = new Map<number, (LoadResult & { cores: number })[]>(gws.map(([n]) => [n, []]));
        for (let r = 0; r < rounds; r++) for (const [n, gw] of gws) runs.get(n)!.push(await load(gw, durationMs));
        const one = runs.get(1)!;
        for (const [n] of gws) {
          const rs = runs.get(n)!;
          const mid = rs.find((x) => x.rps === median(rs.map((y) => y.rps)))!;
          const speedup = rs.map((x, i) => x.rps / one[i]!.rps);
          rows.push({
            config: c.label,
            "--concurrency": n,
            "req/s": Math.round(mid.rps),
            "p50 ms": mid.p50Ms.toFixed(2),
            "p99 ms": mid.p99Ms.toFixed(2),
            errors: rs.reduce((e, x) => e + x.errors, 0),
            "gateway CPU (cores)": mid.cores.toFixed(2),
            "req per gateway CPU-ms": (mid.rps / mid.cores / 1000).toFixed(2),
            "× of --concurrency 1": median(speedup).toFixed(2),
            "req/s of each round": rs.map((x) => Math.round(x.rps)).join(" "),
          });
        }
      } finally {
        for (const [, gw] of gws) await gw.stop();
      }
    }
  } finally {
    await echo.stop();
    await sim.stop();
  }
  printTable(
    `Gateway scaling over worker threads (${connections} connections, ${durationMs} ms per run, ${rounds} interleaved rounds, median; load generator ${loadGenerator()} shares the machine's ${availableParallelism()} cores with the gateway's threads and the upstream: the gateway's CPU column shows the cores its threads got)`,
    rows,
  );
}
