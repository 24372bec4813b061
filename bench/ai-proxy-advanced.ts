// ai-proxy-advanced: what a failover costs, in one run against the same simulators.
// 1. Latency of a chat request served by the first target, and of one whose first target
//    answers 503 so the second (another provider) serves it: the added latency of one failover
//    (the router's back-off, Envoy's default base 25 ms with full jitter, is part of it).
// 2. Time to first token of a streamed request, direct and after one failover.
// Sequential requests on one connection, medians.
import http from "node:http";
import { parseBootstrap } from "../host/envoy/bootstrap.ts";
import { Gateway } from "../host/gateway/gateway.ts";
import { startAnthropic, startOpenAI } from "../test/simulators/index.ts";
import { advancedYaml, ALL_CRITERIA, anthropicTarget, hostOf, KEYS, openaiTarget } from "../test/support/ai-proxy-advanced.ts";
import { printTable, type Row } from "./table.ts";

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** Sends a chat request; resolves with ms to the first body byte after headers and ms to the end. */
function timed(port: number, stream: boolean): Promise<{ firstMs: number; totalMs: number; status: number }> {
  const body = JSON.stringify({ model: "gpt-4o-mini", stream, messages: [{ role: "user", content: "the quick brown fox jumps over the lazy dog" }] });
  const t0 = process.hrtime.bigint();
  const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: "/v1/chat/completions", method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
      let first = -1;
      res.on("data", (c: Buffer) => {
        // the first content delta (streams) or the first byte (plain)
        if (first < 0 && (!stream || c.toString().includes('"content"'))) first = ms();
      });
      res.on("end", () => resolve({ firstMs: first, totalMs: ms(), status: res.statusCode ?? 0 }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

export async function benchAiProxyAdvanced(durationMs: number): Promise<void> {
  const oa = await startOpenAI({ pacing: { delayMs: 1, splitWrites: false } });
  const an = await startAnthropic({ pacing: { delayMs: 1, splitWrites: false } });
  for (const [k, v] of Object.entries(KEYS)) process.env[k] = v;
  const config = { balancer: { algorithm: "priority", failover_criteria: ALL_CRITERIA }, targets: [openaiTarget(oa.url, { weight: 100 }), anthropicTarget(an.url, { weight: 50 })] };
  const yaml = advancedYaml(config, [hostOf(oa.url), hostOf(an.url)], { env: KEYS });
  const gw = await Gateway.start(parseBootstrap(yaml, "bench.yaml"), { ephemeralPorts: true, concurrency: 1, onLog: () => {} });
  const port = gw.ports.get("main")!;
  const n = Math.max(20, Math.round(durationMs / 25));
  const cases = [
    { name: "plain, served by the first target", stream: false, fail: false },
    { name: "plain, one failover (503 → Anthropic)", stream: false, fail: true },
    { name: "stream, served by the first target", stream: true, fail: false },
    { name: "stream, one failover (503 → Anthropic)", stream: true, fail: true },
  ];
  const samples = cases.map(() => ({ first: [] as number[], total: [] as number[] }));
  for (let w = 0; w < 20; w++) await timed(port, w % 2 === 0); // warm-up
  // Interleaved, so load on the machine hits every case alike.
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < cases.length; c++) {
      if (cases[c]!.fail) oa.failNext(503);
      const r = await timed(port, cases[c]!.stream);
      if (r.status !== 200) throw new Error(`bench: ${cases[c]!.name} answered ${r.status}`);
      samples[c]!.first.push(r.firstMs);
      samples[c]!.total.push(r.totalMs);
    }
  }
  const rows: Row[] = cases.map((c, i) => ({
    request: c.name,
    "median total ms": median(samples[i]!.total),
    "median first token ms": c.stream ? median(samples[i]!.first) : "",
  }));
  rows.push({ request: "added by one failover, plain", "median total ms": median(samples[1]!.total) - median(samples[0]!.total), "median first token ms": "" });
  rows.push({ request: "added by one failover, stream (TTFT)", "median total ms": "", "median first token ms": median(samples[3]!.first) - median(samples[2]!.first) });
  printTable(`ai-proxy-advanced failover (local gateway, ${n} requests per case, sequential)`, rows);
  await gw.close();
  await oa.close();
  await an.close();
  agent.destroy();
}
