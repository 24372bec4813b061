// ai-proxy benchmarks:
// 1. Wasm time per request (1 KB and 32 KB chat requests, a 200-event stream), measured inside
//    the host's VM calls, next to V8's own JSON.parse + JSON.stringify of the same bytes (the floor).
// 2. Requests/s and added latency through the gateway with ai-proxy, router only, the simulator
//    directly, and Portkey in front of the same simulator, 1 and 32 connections, one table.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { HeaderMap } from "../host/http/header-map.ts";
import { FilterManager, type DecoderFilterCallbacks, type DownstreamSink, type HttpFilter } from "../host/http/filter-manager.ts";
import { BufferInstance } from "../host/proxy/buffer.ts";
import { StreamInfo } from "../host/proxy/stream-info.ts";
import { ProxyWasmRuntime, type WasmPlugin } from "../host/proxy/runtime.ts";
import { StatsStore } from "../host/stats/store.ts";
import { DataStatus, HeadersStatus, TrailersStatus } from "../host/abi/enums.ts";
import type { WasmPluginConfig } from "../host/envoy/bootstrap-types.ts";
import { loadGenerator, runLoad, type LoadResult } from "./load.ts";
import { printTable, type Row } from "./table.ts";
import { ROOT, cpuUsOf, rssOf, startGatewayProcess, startNodeFloorProcess, startSimulatorProcess } from "./processes.ts";
import { startPortkeyProcess } from "./portkey.ts";
import { bootstrapYamlText, wasmFilterYaml } from "../test/support/envoy-yaml.ts";
import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { clockOverheadNs, wasmNs } from "./timing.ts";

const AI_PROXY = process.env.AI_PROXY_WASM ?? join(ROOT, "build/ai-proxy.wasm");

export function chatBody(bytes: number, stream = false): string {
  const messages: { role: string; content: string }[] = [{ role: "system", content: "You are a helpful assistant." }];
  let i = 0;
  while (JSON.stringify({ model: "gpt-4o-mini", stream, messages }).length < bytes) {
    messages.push({ role: i % 2 ? "assistant" : "user", content: `Message ${i++}: the quick brown fox jumps over the lazy dog, and then "quotes" and \\ slashes.` });
  }
  return JSON.stringify({ model: "gpt-4o-mini", stream, messages });
}

export const COMPLETION = JSON.stringify({
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1735689600,
  model: "gpt-4o-mini-2024-07-18",
  choices: [{ index: 0, message: { role: "assistant", content: "Hello! How can I help you today?" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 25, completion_tokens: 9, total_tokens: 34 },
});

function sseEvents(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    out.push(`data: ${JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1735689600, model: "gpt-4o-mini", choices: [{ index: 0, delta: { content: ` word${i}` }, finish_reason: null }] })}\n\n`);
  }
  out.push(`data: ${JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1735689600, model: "gpt-4o-mini", choices: [], usage: { prompt_tokens: 10, completion_tokens: n, total_tokens: n + 10 } })}\n\n`);
  out.push("data: [DONE]\n\n");
  return out;
}

/** The terminal filter: answers with a canned upstream response once the request ended. */
export class CannedUpstream implements HttpFilter {
  private cb!: DecoderFilterCallbacks;
  constructor(private readonly reply: { headers: [string, string][]; chunks: string[] }) {}
  setDecoderFilterCallbacks(cb: DecoderFilterCallbacks): void {
    this.cb = cb;
  }
  decodeHeaders(_h: HeaderMap, end: boolean): HeadersStatus {
    if (end) this.respond();
    return HeadersStatus.StopIteration;
  }
  decodeData(data: BufferInstance, end: boolean): DataStatus {
    data.drain(data.length);
    if (end) this.respond();
    return DataStatus.StopIterationNoBuffer;
  }
  decodeTrailers(): TrailersStatus {
    this.respond();
    return TrailersStatus.StopIteration;
  }
  private respond(): void {
    this.cb.encodeHeaders(new HeaderMap([[":status", "200"], ...this.reply.headers]), false);
    const n = this.reply.chunks.length;
    this.reply.chunks.forEach((c, i) => this.cb.encodeData(new BufferInstance(Buffer.from(c)), i === n - 1));
  }
}

export const nullSink: DownstreamSink = { encodeHeaders() {}, encodeData() {}, encodeTrailers() {}, reset() {}, readDisable() {} };

/** ai-proxy with the config a user ships (log_statistics on), in `runtime`. */
export function loadAiProxy(runtime: ProxyWasmRuntime): Promise<WasmPlugin> {
  const config: WasmPluginConfig = {
    name: "ai-proxy",
    rootId: "ai-proxy",
    vmId: "ai-proxy",
    runtime: "envoy.wasm.runtime.v8",
    configuration: Buffer.from(JSON.stringify({ route_type: "llm/v1/chat", auth: { header_name: "Authorization", header_value: "Bearer sk-bench" }, model: { provider: "openai", name: "gpt-4o-mini" }, logging: { log_statistics: true } })),
    vmConfiguration: new Uint8Array(0),
    codeFile: AI_PROXY,
    environment: {},
    failOpen: false,
    allowOnHeadersStopIteration: false,
  };
  return runtime.loadPlugin(config);
}

export function benchRuntime(): ProxyWasmRuntime {
  return new ProxyWasmRuntime({ concurrency: 1, stats: new StatsStore({}), logLevel: 4, onLog: () => {}, clusters: { has: () => false, callout: () => ({ promise: new Promise(() => {}), cancel() {} }) } });
}

async function wasmTimes(iterations: number): Promise<Row[]> {
  const runtime = benchRuntime();
  const plugin = await loadAiProxy(runtime);
  const vm = plugin.vm(0);
  const cases = [
    { name: "chat request 1 KB", body: chatBody(1024), reply: { headers: [["content-type", "application/json"]] as [string, string][], chunks: [COMPLETION] } },
    { name: "chat request 32 KB", body: chatBody(32 * 1024), reply: { headers: [["content-type", "application/json"]] as [string, string][], chunks: [COMPLETION] } },
    { name: "stream, 200 events", body: chatBody(1024, true), reply: { headers: [["content-type", "text/event-stream"]] as [string, string][], chunks: sseEvents(200) } },
  ];
  const rows: Row[] = [];
  for (const c of cases) {
    const run = () => {
      const fm = new FilterManager(new StreamInfo(1, { address: "127.0.0.1", port: 1 }, { address: "127.0.0.1", port: 2 }), nullSink, 1 << 30);
      fm.addFilter(plugin.createStreamContext(0));
      fm.addFilter(new CannedUpstream(c.reply));
      fm.decodeHeaders(null, new HeaderMap([[":method", "POST"], [":path", "/v1/chat/completions"], [":authority", "gw"], ["content-type", "application/json"], ["content-length", String(c.body.length)]]), false);
      fm.decodeData(null, new BufferInstance(Buffer.from(c.body)), true);
      if (!fm.destroyed) throw new Error(`${c.name}: the stream did not complete (status ${fm.streamInfo.responseCode})`);
    };
    // Warm-up: V8 tiers wasm functions up (Liftoff to TurboFan) as they get hot; half a
    // second of traffic gets every hot function there, as in a gateway that is serving.
    const warmEnd = Date.now() + 500;
    for (let i = 0; i < 200 || Date.now() < warmEnd; i++) run();
    vm.profile = true;
    vm.profileNs = 0n;
    vm.profileCalls = 0;
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    for (let i = 0; i < iterations; i++) run();
    const wall = Number(process.hrtime.bigint() - t0) / iterations / 1000;
    // CPU time: unlike wall time, it does not count the time other processes held the core.
    const used = process.cpuUsage(c0);
    const cpu = (used.user + used.system) / iterations;
    const wasm = wasmNs(vm, clockOverheadNs()) / iterations / 1000;
    vm.profile = false;
    // The floor: V8 parsing and re-serializing the same request and response bytes.
    const f0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) {
      JSON.stringify(JSON.parse(c.body));
      for (const chunk of c.reply.chunks) {
        const data = chunk.startsWith("data: ") ? chunk.slice(6).trim() : chunk;
        if (data !== "[DONE]") JSON.stringify(JSON.parse(data));
      }
    }
    const floor = Number(process.hrtime.bigint() - f0) / iterations / 1000;
    rows.push({ case: c.name, "request bytes": c.body.length, "wasm µs/req": wasm.toFixed(1), "host+wasm µs/req": wall.toFixed(1), "host+wasm CPU µs/req": cpu.toFixed(1), "V8 JSON floor µs": floor.toFixed(1), "wasm ÷ floor": (wasm / floor).toFixed(2) });
  }
  runtime.close();
  return rows;
}

/** The key the bench's simulator accepts, given to the gateway as the shipped config's OPENAI_API_KEY. */
export const SIM_KEY = "sk-test-openai";

/**
 * The `ai-proxy-openai` entry of envoy/envoy.yaml's http_filters, as a user ships it (its
 * configuration, vm_config and host_env_keys unchanged), enabled, with the code file the bench
 * measures. Emitted as a JSON flow mapping, which is YAML.
 */
export function shippedAiProxyFilterYaml(): string {
  const doc = parseYaml(readFileSync(join(ROOT, "envoy/envoy.yaml"), "utf8")) as {
    static_resources: { listeners: { filter_chains: { filters: { typed_config: { http_filters?: { name: string; disabled?: boolean; typed_config: { config: { vm_config: { code: { local: { filename: string } } } } } }[] } }[] }[] }[] };
  };
  for (const l of doc.static_resources.listeners)
    for (const fc of l.filter_chains)
      for (const f of fc.filters)
        for (const h of f.typed_config.http_filters ?? []) {
          if (h.name !== "ai-proxy-openai") continue;
          const entry = structuredClone(h);
          delete entry.disabled;
          entry.typed_config.config.vm_config.code.local.filename = AI_PROXY;
          return `\n          - ${JSON.stringify(entry)}`;
        }
  throw new Error("no ai-proxy-openai filter in envoy/envoy.yaml");
}

/** The environment the shipped config reads its key from (vm_config host_env_keys). */
export const SHIPPED_ENV = { OPENAI_API_KEY: SIM_KEY };

export function gatewayYaml(simPort: number, filters: string): string {
  return bootstrapYamlText({
    listener: "bench",
    statPrefix: "bench",
    admin: false,
    filters,
    clusters: { sim: simPort },
    // Envoy's "best practices for benchmarking Envoy" (docs, FAQ): generate_request_id off.
    generateRequestId: false,
  });
}

/** Warm-up per target before any measured run (see LoadOptions.warmupMs). */
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 6000);
/**
 * Measured rounds per connection count. Each round measures every target once, in turn, and a
 * target's row is its median round: on this shared 2-core VM the speed of the whole machine
 * drifts by tens of percent over a minute, and interleaving gives every target the same drift.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

interface Target {
  label: string;
  port: number;
  /** The server's process, for its CPU time and RSS (none for the simulator's own row: it is the simulator's). */
  pid?: number;
  headers: Record<string, string>;
  stop: () => Promise<void>;
}

function median<T>(xs: T[], key: (x: T) => number): T {
  const sorted = [...xs].sort((a, b) => key(a) - key(b));
  return sorted[(sorted.length - 1) >> 1];
}

/** One measured run, with the CPU the target's process spent on it. */
interface Run extends LoadResult {
  /** CPU µs (user + system, all threads) of the target's process per request; NaN when unknown. */
  cpuUsPerRequest: number;
}

/** A memory sample: a process's RSS after it has served `requests` requests. */
interface MemorySample {
  requests: number;
  rssMb: number;
}

/** aigw's default --concurrency, from its own help text (the bench runs the gateway with it). */
export function defaultConcurrency(): string {
  const help = execFileSync(process.execPath, [join(ROOT, "bin/aigw.mjs"), "run", "--help"], { encoding: "utf8" });
  return /--concurrency N.*\(default (\d+)\)/.exec(help)?.[1] ?? "?";
}

/** The chain's filters (bench/chain.ts, the examples' configs) in order, with the shipped ai-proxy in ai-proxy's place. */
async function chainFiltersYaml(): Promise<string> {
  // Imported here: chain.ts imports this module, and its top level needs this module's exports.
  const { chainConfigs, pluginConfig } = await import("./chain.ts");
  return chainConfigs()
    .map((f) => (f.name === "ai-proxy" ? shippedAiProxyFilterYaml() : wasmFilterYaml(f.name, pluginConfig(f.name, f.config).codeFile, f.config)))
    .join("");
}

const AI = "gateway, ai-proxy";
const CHAIN = "gateway, full chain";
const PORTKEY = "Portkey 1.15.2";
const DIRECT = "simulator directly";
const FLOOR = "Node floor: node:http + undici, nothing else";
/** The issue's targets per connection count: req/s ÷ Portkey's at least this, added latency at most a third of Portkey's. */
const GOAL: Record<number, number> = { 1: 3.5, 32: 5 };

interface ThroughputResult {
  rows: Row[];
  summary: Row[];
  memory: Row[];
}

async function throughput(durationMs: number): Promise<ThroughputResult> {
  const sim = await startSimulatorProcess();
  // One body for every target: a ~1 KB chat that the chain's guard allows.
  const body = (await import("./chain.ts")).chainChatBody(1024);
  const rows: Row[] = [];
  const summary: Row[] = [];
  const targets: Target[] = [{ label: DIRECT, port: sim.port, pid: sim.pid, headers: { authorization: `Bearer ${SIM_KEY}` }, stop: async () => {} }];
  const served = new Map<string, number>();
  const memory = new Map<string, MemorySample[]>();
  let servedInAll = 0;
  const sampleMemory = (t: Target) => {
    const rss = t.pid === undefined ? null : rssOf(t.pid);
    if (rss === null) return;
    const curve = memory.get(t.label) ?? [];
    // The simulator answers every target's requests.
    curve.push({ requests: t.label === DIRECT ? servedInAll : (served.get(t.label) ?? 0), rssMb: rss / 2 ** 20 });
    memory.set(t.label, curve);
  };
  try {
    const floor = await startNodeFloorProcess(sim.port);
    targets.push({ label: FLOOR, port: floor.port, pid: floor.pid, headers: { authorization: `Bearer ${SIM_KEY}` }, stop: floor.stop });
    const router = await startGatewayProcess(gatewayYaml(sim.port, ""), "default");
    targets.push({ label: "gateway, router only", port: router.port, pid: router.pid, headers: { authorization: `Bearer ${SIM_KEY}` }, stop: router.stop });
    const ai = await startGatewayProcess(gatewayYaml(sim.port, shippedAiProxyFilterYaml()), "default", { env: SHIPPED_ENV });
    targets.push({ label: AI, port: ai.port, pid: ai.pid, headers: {}, stop: ai.stop });
    // Portkey between the two gateways it is compared with, so each pair runs back to back.
    const pk = await startPortkeyProcess();
    targets.push({ label: PORTKEY, port: pk.port, pid: pk.pid, headers: { authorization: `Bearer ${SIM_KEY}`, "x-portkey-provider": "openai", "x-portkey-custom-host": `http://127.0.0.1:${sim.port}/v1` }, stop: pk.stop });
    const chain = await startGatewayProcess(gatewayYaml(sim.port, await chainFiltersYaml()), "default", { env: SHIPPED_ENV });
    targets.push({ label: CHAIN, port: chain.port, pid: chain.pid, headers: {}, stop: chain.stop });
    for (const t of targets) sampleMemory(t);
    const load = async (t: Target, connections: number, ms: number): Promise<Run> => {
      let cpu0: number | null = null;
      const r = await runLoad({
        origin: `http://127.0.0.1:${t.port}`,
        path: "/v1/chat/completions",
        method: "POST",
        headers: { "content-type": "application/json", ...t.headers },
        body,
        connections,
        durationMs: ms,
        warmupRequests: 100,
        expectStatus: 200,
        onMeasureStart: () => void (cpu0 = t.pid === undefined ? null : cpuUsOf(t.pid)),
      });
      const cpu1 = t.pid === undefined ? null : cpuUsOf(t.pid);
      // Requests counted in the runs (wrk's discarded warm-up second is not).
      served.set(t.label, (served.get(t.label) ?? 0) + r.requests);
      servedInAll += r.requests;
      sampleMemory(t);
      if (t.label !== DIRECT) sampleMemory(targets[0]!);
      const cpuUsPerRequest = cpu0 !== null && cpu1 !== null && r.requests > 0 ? (cpu1 - cpu0) / r.requests : NaN;
      return { ...r, cpuUsPerRequest };
    };
    // Warm-up: 8 connections, then one 1-connection run (the first run after a change of
    // load is slow for every target here), both left out.
    for (const t of targets) {
      await load(t, 8, WARMUP_MS);
      await load(t, 1, durationMs);
    }
    const roundRuns = new Map<string, Run[]>();
    for (const connections of [1, 32]) {
      const runs = new Map<string, Run[]>(targets.map((t) => [t.label, []]));
      for (let round = 0; round < ROUNDS; round++) {
        const line: string[] = [];
        // Every other round in reverse order: a machine that speeds up or slows down during a
        // round favours neither side of a pair.
        for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
          const r = await load(t, connections, durationMs);
          runs.get(t.label)!.push(r);
          line.push(`${t.label} ${Math.round(r.rps)}`);
        }
        // Every round as it finishes: a long run shows its progress, and a stalled round is visible.
        console.log(`ai-proxy bench, ${connections} connection(s), round ${round + 1}/${ROUNDS}: ${line.join(", ")} req/s`);
      }
      for (const t of targets) roundRuns.set(`${t.label}@${connections}`, runs.get(t.label)!);
    }
    for (const t of targets) {
      for (const connections of [1, 32]) {
        const all = roundRuns.get(`${t.label}@${connections}`)!;
        const r = median(all, (x) => x.rps);
        const direct = median(roundRuns.get(`${DIRECT}@${connections}`)!, (x) => x.rps);
        const cpu = median(all, (x) => x.cpuUsPerRequest).cpuUsPerRequest;
        rows.push({
          target: t.label,
          connections,
          requests: r.requests,
          "req/s": Math.round(r.rps),
          "p50 ms": r.p50Ms.toFixed(2),
          "p99 ms": r.p99Ms.toFixed(2),
          "added p50 ms": t.label === DIRECT ? "-" : (r.p50Ms - direct.p50Ms).toFixed(2),
          "CPU µs/req": Number.isNaN(cpu) ? "-" : cpu.toFixed(0),
          errors: r.errors,
          "req/s of each round": all.map((x) => Math.round(x.rps)).join(" "),
        });
      }
    }
    // The issue's targets: at least 3.5× Portkey's throughput at 1 connection and 5× at 32, with
    // at most a third of its added latency. Judged per round: a round measures every target back
    // to back, so the ratio of the pair cancels the machine's drift between rounds, which the
    // ratio of two median rows (shown too) does not. The verdict takes the median round.
    // The floor's row says what any Node host could reach against Portkey here.
    for (const label of [AI, CHAIN, FLOOR]) {
      for (const connections of [1, 32]) {
        const at = (l: string) => roundRuns.get(`${l}@${connections}`)!;
        const [direct, a, p] = [at(DIRECT), at(label), at(PORTKEY)];
        const throughputX = a.map((r, i) => r.rps / p[i]!.rps);
        const latencyShare = a.map((r, i) => (r.p50Ms - direct[i]!.p50Ms) / (p[i]!.p50Ms - direct[i]!.p50Ms));
        // What a request costs each process in CPU time: less noisy than req/s on a shared machine,
        // and what bounds throughput once the cores are busy.
        const cpuX = a.map((r, i) => p[i]!.cpuUsPerRequest / r.cpuUsPerRequest);
        const mid = (xs: number[]) => median(xs, (x) => x);
        const [am, pm, dm] = [median(a, (x) => x.rps), median(p, (x) => x.rps), median(direct, (x) => x.rps)];
        const goal = GOAL[connections]!;
        summary.push({
          gateway: label,
          connections,
          "req/s ÷ Portkey": mid(throughputX).toFixed(2),
          "req/s ratio, each round": throughputX.map((x) => x.toFixed(2)).join(" "),
          "added latency ÷ Portkey": mid(latencyShare).toFixed(2),
          "latency ratio, each round": latencyShare.map((x) => x.toFixed(2)).join(" "),
          "same from the median rows": `${(am.rps / pm.rps).toFixed(2)}, ${((am.p50Ms - dm.p50Ms) / (pm.p50Ms - dm.p50Ms)).toFixed(2)}`,
          "Portkey's CPU/req ÷ this": Number.isNaN(mid(cpuX)) ? "-" : mid(cpuX).toFixed(2),
          goal: label === AI ? `≥${goal}, ≤0.33: ${mid(throughputX) >= goal && mid(latencyShare) <= 1 / 3 ? "met" : "NOT met"}` : "-",
        });
      }
    }
  } finally {
    for (const t of targets) await t.stop();
    await sim.stop();
  }
  const memoryRows: Row[] = [];
  for (const [label, curve] of memory) {
    const first = curve[0]!;
    const last = curve[curve.length - 1]!;
    const peak = Math.max(...curve.map((c) => c.rssMb));
    memoryRows.push({
      process: label === DIRECT ? "simulator (serves every target)" : label,
      "requests counted": last.requests,
      "RSS MB at start": first.rssMb.toFixed(0),
      "RSS MB at end": last.rssMb.toFixed(0),
      "peak MB": peak.toFixed(0),
      "RSS MB after each run (requests counted so far)": thin(curve).map((c) => `${c.rssMb.toFixed(0)} (${Math.round(c.requests / 1000)}k)`).join(" "),
    });
  }
  return { rows, summary, memory: memoryRows };
}

/** At most 12 samples of a curve, first and last kept, so the table stays readable. */
function thin<T>(xs: T[]): T[] {
  if (xs.length <= 12) return xs;
  const out: T[] = [];
  for (let i = 0; i < 12; i++) out.push(xs[Math.round((i * (xs.length - 1)) / 11)]!);
  return out;
}

export async function benchAiProxy(durationMs: number): Promise<void> {
  // The load runs first: this process is the load generator, and the in-process wasm runs
  // leave it with a heap and JIT state that slowed every target's round trip.
  const concurrency = defaultConcurrency();
  const { rows, summary, memory } = await throughput(durationMs);
  printTable(
    `ai-proxy: throughput and added latency (1 KB chat request, closed loop, load generator ${loadGenerator()}, gateway at aigw's default --concurrency ${concurrency}, the load generator and the simulator share this machine's ${cpus().length} cores; ai-proxy is envoy/envoy.yaml's ai-proxy-openai filter as shipped, the full chain is template → decorator → guard → that ai-proxy → ai-metrics with the examples' configs; each target warmed ${WARMUP_MS} ms at 8 connections and ${durationMs} ms at 1, then ${ROUNDS} interleaved rounds of ${durationMs} ms, median round shown; CPU µs/req is the target process's own user+system time)`,
    rows,
  );
  printTable("gateway vs Portkey (median of the per-round ratios)", summary);
  printTable("memory: RSS of each process over the bench's requests (counted: the runs' requests, without wrk's discarded warm-up seconds)", memory);
  printTable("ai-proxy: wasm time per request (in-process, after warm-up; the bench clock's reads taken off the wasm figure)", await wasmTimes(2000));
}

/** The canned JSON answer, with a mark (phase k done since a time) between the callbacks it drives. */
class MarkedUpstream implements HttpFilter {
  private cb!: DecoderFilterCallbacks;
  since = 0n;
  constructor(private readonly mark: (k: number, since: bigint) => bigint) {}
  setDecoderFilterCallbacks(cb: DecoderFilterCallbacks): void {
    this.cb = cb;
  }
  decodeHeaders(): HeadersStatus {
    return HeadersStatus.StopIteration;
  }
  decodeData(data: BufferInstance, end: boolean): DataStatus {
    data.drain(data.length);
    if (!end) return DataStatus.StopIterationNoBuffer;
    let t = this.mark(1, this.since);
    this.cb.encodeHeaders(new HeaderMap([[":status", "200"], ["content-type", "application/json"]]), false);
    t = this.mark(2, t);
    this.cb.encodeData(new BufferInstance(Buffer.from(COMPLETION)), true);
    this.mark(3, t);
    return DataStatus.StopIterationNoBuffer;
  }
  decodeTrailers(): TrailersStatus {
    return TrailersStatus.StopIteration;
  }
}

/**
 * Where a request's Wasm time goes: µs per callback (host calls included), each its best round,
 * for the 1 KB and 32 KB chats and a canned JSON answer.
 */
async function callbackTimes(rounds: number): Promise<Row[]> {
  const runtime = benchRuntime();
  const plugin = await loadAiProxy(runtime);
  const vm = plugin.vm(0);
  const phases = ["request headers", "request body", "response headers", "response body"];
  const rows: Row[] = [];
  for (const [name, body, iterations] of [["chat request 1 KB", chatBody(1024), 200], ["chat request 32 KB", chatBody(32 * 1024), 20]] as const) {
    const ns = [0n, 0n, 0n, 0n];
    const mark = (k: number, since: bigint): bigint => {
      ns[k]! += vm.profileNs - since;
      return vm.profileNs;
    };
    const upstream = new MarkedUpstream(mark);
    const run = () => {
      const fm = new FilterManager(new StreamInfo(1, { address: "127.0.0.1", port: 1 }, { address: "127.0.0.1", port: 2 }), nullSink, 1 << 30);
      fm.addFilter(plugin.createStreamContext(0));
      fm.addFilter(upstream);
      const t0 = vm.profileNs;
      fm.decodeHeaders(null, new HeaderMap([[":method", "POST"], [":path", "/v1/chat/completions"], [":authority", "gw"], ["content-type", "application/json"], ["content-length", String(body.length)]]), false);
      upstream.since = mark(0, t0);
      fm.decodeData(null, new BufferInstance(Buffer.from(body)), true);
    };
    vm.profile = true;
    const warmEnd = Date.now() + 500;
    while (Date.now() < warmEnd) run();
    const best = phases.map(() => Infinity);
    for (let r = 0; r < rounds; r++) {
      ns.fill(0n);
      for (let i = 0; i < iterations; i++) run();
      ns.forEach((v, k) => (best[k] = Math.min(best[k]!, Number(v) / iterations / 1000)));
    }
    vm.profile = false;
    const row: Row = { case: name };
    phases.forEach((p, k) => (row[`${p} µs`] = best[k]!.toFixed(1)));
    row["sum µs"] = best.reduce((a, b) => a + b, 0).toFixed(1);
    rows.push(row);
  }
  runtime.close();
  return rows;
}

export async function benchAiProxyWasmOnly(): Promise<void> {
  printTable("ai-proxy: wasm time per request (in-process, after warm-up; the bench clock's reads taken off the wasm figure)", await wasmTimes(2000));
  printTable("ai-proxy: wasm µs per callback, host calls included (best of 15 rounds; the request body callback validates and translates, the response body one reads usage and writes the analytics record)", await callbackTimes(15));
}
