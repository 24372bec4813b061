// Proves the benchmark tooling: the echo upstream measured directly, without the gateway.
// Run: npx tsx bench/upstream-direct.ts [durationMs]

import { startEchoUpstream } from "./upstream.ts";
import { runLoad } from "./load.ts";
import { printTable, type Row } from "./table.ts";

const durationMs = Number(process.argv[2] ?? 3000);
const upstream = await startEchoUpstream();
const body = JSON.stringify({ model: "bench-model", messages: [{ role: "user", content: "hi" }] });
const rows: Row[] = [];
try {
  for (const connections of [1, 16, 64]) {
    const r = await runLoad({
      origin: `http://127.0.0.1:${upstream.port}`,
      path: "/v1/chat/completions",
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      connections,
      durationMs,
      warmupRequests: 200,
    });
    rows.push({ target: "echo upstream (direct)", connections, requests: r.requests, rps: Math.round(r.rps), "p50 ms": r.p50Ms, "p99 ms": r.p99Ms, errors: r.errors });
  }
} finally {
  await upstream.close();
}
printTable(`Direct upstream, ${durationMs} ms per run, closed loop`, rows);
