// Requests/s and latency through the local gateway: router only vs one no-op wasm filter,
// against the echo upstream, with the upstream measured directly as the floor.
import { join } from "node:path";
import { loadGenerator, runLoad } from "./load.ts";
import { printTable, type Row } from "./table.ts";
import { ROOT, startEchoProcess, startGatewayProcess } from "./processes.ts";
import { bootstrapYamlText, wasmFilterYaml } from "../test/support/envoy-yaml.ts";

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
