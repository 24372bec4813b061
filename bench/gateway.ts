// Requests/s and latency through the local gateway: router only vs one no-op wasm filter,
// against the echo upstream, with the upstream measured directly as the floor.
import { join } from "node:path";
import { runLoad } from "./load.ts";
import { printTable, type Row } from "./table.ts";
import { ROOT, startEchoProcess, startGatewayProcess } from "./processes.ts";

function yaml(upstreamPort: number, wasm: string | null): string {
  const filter = wasm
    ? `
          - name: noop
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: noop
                root_id: noop
                vm_config: { vm_id: noop, runtime: envoy.wasm.runtime.v8, code: { local: { filename: ${JSON.stringify(wasm)} } } }`
    : "";
  return `
static_resources:
  listeners:
  - name: bench
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: bench
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: echo }
          http_filters:${filter}
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
  clusters:
  - name: echo
    connect_timeout: 1s
    load_assignment:
      cluster_name: echo
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${upstreamPort} } } }
`;
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
        });
        rows.push({ target: label, connections, requests: r.requests, "req/s": Math.round(r.rps), "p50 ms": r.p50Ms.toFixed(2), "p99 ms": r.p99Ms.toFixed(2), errors: r.errors });
      }
    }
    for (const [, , stop] of targets) await stop();
  } finally {
    await echo.stop();
  }
  printTable(`Local gateway throughput (${durationMs} ms per run, closed loop, gateway --concurrency 1)`, rows);
}
