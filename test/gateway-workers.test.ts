// The gateway on worker threads (aigw run): every worker accepts on the listener's one socket,
// shared data and queues are process-wide across threads, stats are aggregated for the admin.
// Envoy: workers share worker 0's listen socket without reuse_port (source/docs/listener.md);
// shared data and queues are process-wide (source/extensions/common/wasm/context.cc, over
// proxy-wasm-cpp-host shared_data.cc / shared_queue.cc); counters and gauges are process-wide
// atomics, histograms per thread merged (source/common/stats/thread_local_store.cc).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { startWorkerGateway, testFilter, type RunningGateway, type WasmFilterSpec } from "./support/gateway.ts";
import type { WorkerGateway } from "../host/gateway/workers.ts";
import { startUpstream, type TestUpstream } from "./support/upstream.ts";
import { send } from "./support/client.ts";
import { enters, probeLines, until } from "./support/probe.ts";
import { formsYaml, RESPONSE_HEADERS, wasmEntry } from "./support/wasm-forms.ts";
import { chat, chatBody, limiterYaml } from "./support/rate-limit.ts";
import { startOpenAI } from "./simulators/index.ts";

const PROBE = testFilter("probe");
let gw: RunningGateway<WorkerGateway> | null = null;
const ups: TestUpstream[] = [];

afterEach(async () => {
  await gw?.close();
  gw = null;
  await Promise.all(ups.splice(0).map((u) => u.close()));
});

async function setup(config: unknown, extra?: Partial<WasmFilterSpec>): Promise<RunningGateway<WorkerGateway>> {
  const up = await startUpstream();
  ups.push(up);
  gw = await startWorkerGateway({ filters: [{ name: "probe", code: PROBE, config, ...extra }], clusters: { upstream: { port: up.port } } }, { concurrency: 2 });
  return gw;
}

/** Sends requests, each on a new connection, 10 at a time, until `done` (at most 300). */
async function sendUntil(g: RunningGateway<WorkerGateway>, done: () => boolean, parallel = 10): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < 30 && !done(); i++) {
    const rs = await Promise.all(Array.from({ length: parallel }, () => send(g.url, { path: "/" })));
    statuses.push(...rs.map((r) => r.status));
  }
  return statuses;
}

const workersSeen = (g: RunningGateway<WorkerGateway>, cb: string) => new Set(enters(g, cb).map((l) => l.worker));

describe("worker threads", () => {
  it("every worker thread accepts connections on the listener's socket", async () => {
    const g = await setup({ on_request_headers: [] });
    const statuses = await sendUntil(g, () => workersSeen(g, "on_request_headers").size === 2);
    expect(workersSeen(g, "on_request_headers")).toEqual(new Set([0, 1]));
    expect(statuses.every((s) => s === 200)).toBe(true);
    // Every request was served once, by one worker.
    expect(enters(g, "on_request_headers").length).toBe(statuses.length);
  });

  it("shared data is process-wide: one CAS sequence across both threads", async () => {
    // Each request: set "c" expecting cas 1. The first succeeds (an absent key takes any cas),
    // the second too (the key's cas is then 1), every later one is CAS_MISMATCH on any thread.
    const g = await setup({ on_request_headers: [["set_shared_data", "c", "v", 1]] });
    const sets = () => probeLines(g).filter((l) => l.op === "set_shared_data");
    await sendUntil(g, () => new Set(sets().filter((l) => l.status === 8).map((l) => l.worker)).size === 2, 4);
    const statuses = sets().map((l) => l.status);
    expect(statuses.filter((s) => s === 0).length).toBe(2);
    expect(statuses.filter((s) => s === 8).length).toBe(statuses.length - 2);
    expect(new Set(sets().filter((l) => l.status === 8).map((l) => l.worker))).toEqual(new Set([0, 1]));
  });

  it("get returns what another thread set, with the process-wide cas", async () => {
    const g = await setup({ on_request_headers: [["get_shared_data", "k"], ["set_shared_data", "k", "v", 0]] });
    await sendUntil(g, () => workersSeen(g, "on_request_headers").size === 2, 1);
    const gets = probeLines(g).filter((l) => l.op === "get_shared_data");
    // Requests were sequential: each get sees the previous request's set, whichever thread made it.
    expect(gets[0]!.status).toBe(1);
    for (let i = 1; i < gets.length; i++) expect(gets[i]!.raw).toMatch(new RegExp(`cas=${i}\\b`));
  });

  it("a queue registered on one thread is woken by an enqueue on the other", async () => {
    // Each worker's root context registers "q" at configure; the last registration takes the
    // wake-ups (cpp-host registerSharedQueue). Requests on either thread enqueue.
    const g = await setup({
      on_configure: [["register_queue", "q"]],
      on_request_headers: [["resolve_queue", "", "q"], ["enqueue", 1, "item"]],
      on_queue_ready: [["dequeue", 1]],
    });
    await sendUntil(g, () => workersSeen(g, "on_request_headers").size === 2, 4);
    const enqueued = probeLines(g).filter((l) => l.op === "enqueue");
    expect(enqueued.every((l) => l.status === 0)).toBe(true);
    await until(() => probeLines(g).filter((l) => l.cb === "on_queue_ready" && l.op === "dequeue" && l.status === 0).length === enqueued.length);
    // One thread is woken, for enqueues made on both.
    const woken = workersSeen(g, "on_queue_ready");
    expect(woken.size).toBe(1);
    expect(new Set(enqueued.map((l) => l.worker))).toEqual(new Set([0, 1]));
    const dequeued = probeLines(g).filter((l) => l.cb === "on_queue_ready" && l.op === "dequeue" && l.status === 0);
    expect(dequeued.every((l) => l.value === "item" && woken.has(l.worker))).toBe(true);
  });

  it("aggregates stats: counters and gauges shared, histograms merged", async () => {
    const g = await setup({
      on_request_headers: [
        ["define_metric", 0, "probe_requests"],
        ["define_metric", 1, "probe_gauge"],
        ["define_metric", 2, "probe_hist"],
        ["increment_metric", "probe_requests", 1],
        ["record_metric", "probe_gauge", 7],
        ["record_metric", "probe_hist", 42],
      ],
    });
    const statuses = await sendUntil(g, () => workersSeen(g, "on_request_headers").size === 2, 4);
    const n = statuses.length;
    const prom = await (await fetch(`${g.admin}/stats/prometheus`)).text();
    expect(prom).toMatch(new RegExp(`^probe_requests\\{\\} ${n}$`, "m"));
    // A gauge is one value for the process (set to 7 on both threads: 7, not 14).
    expect(prom).toMatch(/^probe_gauge\{\} 7$/m);
    expect(prom).toMatch(new RegExp(`^probe_hist_count\\{\\} ${n}$`, "m"));
    // The gateway's own counters, from both workers' connection managers.
    const text = await (await fetch(`${g.admin}/stats`)).text();
    expect(text).toMatch(new RegExp(`^http\\.ingress_http\\.downstream_rq_total: ${n}$`, "m"));
    expect(text).toMatch(new RegExp(`^cluster\\.upstream\\.upstream_rq_200: ${n}$`, "m"));
    expect(text).toMatch(/^wasmcustom\.probe_hist: P0\(nan,42\)/m);
  });

  // Envoy's main thread fetches remote code once (createWasm, source/extensions/common/wasm/wasm.cc)
  // and every worker clones the VM from it.
  it("fetches remote code once, on the main thread, for every worker", async () => {
    const bytes = readFileSync(RESPONSE_HEADERS);
    const up = await startUpstream((_req, res) => {
      res.writeHead(200);
      res.end(bytes);
    });
    ups.push(up);
    const sha = createHash("sha256").update(bytes).digest("hex");
    const code = `code:
                    remote:
                      http_uri: { uri: "http://wasm.example/rh.wasm", cluster: wasm_server, timeout: 5s }
                      sha256: "${sha}"`;
    const entry = wasmEntry({ filter: "stamp", config: { headers: { "x-stamp": "remote" } } }).replace(`code: { local: { filename: ${JSON.stringify(RESPONSE_HEADERS)} } }`, code);
    gw = await startWorkerGateway(formsYaml([{ name: "main", filters: entry }], { wasm_server: up.port }), { concurrency: 2 });
    expect(up.received.length).toBe(1);
    const rs = await Promise.all(Array.from({ length: 20 }, () => send(gw!.url, { path: "/" })));
    expect(rs.every((r) => r.headers["x-stamp"] === "remote")).toBe(true);
  });

  // The rate limiter's reservations (ai-rate-limiting-advanced, shared data with CAS) with its
  // VMs on two threads that really run at once: 40 streamed requests against a limit of 10
  // requests' worth admit no more than the limit plus one request's bound.
  it("ai-rate-limiting-advanced's reservations hold with VMs on two threads", async () => {
    const sim = await startOpenAI();
    sim.setPacing({ delayMs: 5 });
    try {
      const limit = 1000;
      const limiter = { window_type: "fixed", identifier: "ip", llm_providers: [{ name: "openai", limit, window_size: 3600 }], reservation: { enabled: true } };
      gw = await startWorkerGateway(limiterYaml(sim, limiter), { concurrency: 2 });
      const body = chatBody(20, { stream: true, stream_options: { include_usage: true }, max_tokens: 21 });
      const bound = Buffer.byteLength(body) + 21;
      const replies = await Promise.all(Array.from({ length: 40 }, () => chat(gw!.url, body)));
      const admitted = replies.filter((r) => r.status === 200).length;
      expect(admitted + replies.filter((r) => r.status === 429).length).toBe(40);
      expect(admitted).toBeGreaterThanOrEqual(1);
      expect(admitted * bound).toBeLessThanOrEqual(limit + bound);
    } finally {
      await gw?.close();
      gw = null;
      await sim.close();
    }
  });
});
