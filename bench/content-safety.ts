// ai-azure-content-safety: the time the filter adds, with Azure taken out. The filter runs in
// the host's filter manager in front of a canned upstream; its text:analyze calls are answered
// by an in-process stand-in on the next microtask, so what is measured is the filter's own work
// (reading the prompt or the events, writing Azure's request, reading its answer, holding and
// releasing events) plus the host's, never a network or Azure's latency.
// - INPUT: per request (1 KB and 32 KB chat prompts; 32 KB is three text:analyze calls).
// - OUTPUT, streamed: per event (a 200-event answer delivered one event per upstream chunk).
// "wasm µs (wall)" is wall time inside the VM's calls; "added CPU µs" is this process's CPU time
// per request (or event) minus the same run without the filter (CPU time, so other processes on
// a shared machine do not count); each is the median of BENCH_ROUNDS interleaved rounds. The
// "V8 JSON floor" is JSON.parse + JSON.stringify of the same bytes, for scale.
import { join } from "node:path";
import { setImmediate as tick } from "node:timers/promises";
import { HeaderMap } from "../host/http/header-map.ts";
import { FilterManager, type DecoderFilterCallbacks, type DownstreamSink, type HttpFilter } from "../host/http/filter-manager.ts";
import { BufferInstance } from "../host/proxy/buffer.ts";
import { StreamInfo } from "../host/proxy/stream-info.ts";
import { ProxyWasmRuntime } from "../host/proxy/runtime.ts";
import type { CalloutResult } from "../host/proxy/vm-services.ts";
import { StatsStore } from "../host/stats/store.ts";
import { DataStatus, HeadersStatus, TrailersStatus } from "../host/abi/enums.ts";
import type { WasmPluginConfig } from "../host/envoy/bootstrap-types.ts";
import { printTable, type Row } from "./table.ts";
import { ROOT } from "./processes.ts";
import { clockOverheadNs, wasmNs } from "./timing.ts";

const WASM = process.env.CS_WASM ?? join(ROOT, "build/ai-azure-content-safety.wasm");
const AZURE_ANSWER = Buffer.from(JSON.stringify({ blocklistsMatch: [], categoriesAnalysis: [{ category: "Hate", severity: 0 }, { category: "Violence", severity: 0 }] }));

function chatBody(bytes: number): string {
  const messages: { role: string; content: string }[] = [{ role: "system", content: "You are a helpful assistant." }];
  let i = 0;
  while (JSON.stringify({ model: "gpt-4o-mini", messages }).length < bytes) {
    messages.push({ role: i % 2 ? "assistant" : "user", content: `Message ${i++}: the quick brown fox jumps over the lazy dog, and then "quotes" and \\ slashes.` });
  }
  return JSON.stringify({ model: "gpt-4o-mini", messages });
}

const COMPLETION = JSON.stringify({ id: "chatcmpl-1", object: "chat.completion", created: 1735689600, model: "gpt-4o-mini", choices: [{ index: 0, message: { role: "assistant", content: "Hello! How can I help you today?" }, finish_reason: "stop" }] });

function sseEvents(n: number): string[] {
  const chunk = (delta: object, finish: string | null) => `data: ${JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1735689600, model: "gpt-4o-mini", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const out = [chunk({ role: "assistant", content: "" }, null)];
  for (let i = 0; i < n - 3; i++) out.push(chunk({ content: ` word${i}` }, null));
  out.push(chunk({}, "stop"));
  out.push("data: [DONE]\n\n");
  return out;
}

/** The terminal filter: answers once the request ended, one chunk per macrotask when `paced`. */
class CannedUpstream implements HttpFilter {
  private cb!: DecoderFilterCallbacks;
  constructor(private readonly reply: { headers: [string, string][]; chunks: string[]; paced: boolean }) {}
  setDecoderFilterCallbacks(cb: DecoderFilterCallbacks): void {
    this.cb = cb;
  }
  decodeHeaders(_h: HeaderMap, end: boolean): HeadersStatus {
    if (end) void this.respond();
    return HeadersStatus.StopIteration;
  }
  decodeData(data: BufferInstance, end: boolean): DataStatus {
    data.drain(data.length);
    if (end) void this.respond();
    return DataStatus.StopIterationNoBuffer;
  }
  decodeTrailers(): TrailersStatus {
    void this.respond();
    return TrailersStatus.StopIteration;
  }
  private async respond(): Promise<void> {
    this.cb.encodeHeaders(new HeaderMap([[":status", "200"], ...this.reply.headers]), false);
    const n = this.reply.chunks.length;
    for (let i = 0; i < n; i++) {
      if (this.reply.paced) await tick();
      this.cb.encodeData(new BufferInstance(Buffer.from(this.reply.chunks[i]!)), i === n - 1);
    }
  }
}

const nullSink: DownstreamSink = { encodeHeaders() {}, encodeData() {}, encodeTrailers() {}, reset() {}, readDisable() {} };

interface Case {
  name: string;
  config: Record<string, unknown>;
  body: string;
  reply: { headers: [string, string][]; chunks: string[]; paced: boolean };
  /** Divide per-request times by this (events per stream). */
  per: number;
  unit: string;
}

export async function benchContentSafety(): Promise<void> {
  let calls = 0;
  const runtime = new ProxyWasmRuntime({
    concurrency: 1,
    stats: new StatsStore({}),
    logLevel: 4,
    onLog: () => {},
    clusters: {
      has: (n) => n === "cs.bench",
      callout: () => {
        calls++;
        return { promise: Promise.resolve<CalloutResult>({ kind: "response", headers: new HeaderMap([[":status", "200"], ["content-type", "application/json"]]), body: AZURE_ANSWER, trailers: new HeaderMap() }), cancel() {} };
      },
    },
  });
  const base = { content_safety_url: "https://cs.bench/contentsafety/text:analyze", content_safety_key: "bench-key", categories: [{ name: "Hate", rejection_level: 2 }, { name: "Violence", rejection_level: 4 }] };
  const json: [string, string][] = [["content-type", "application/json"]];
  const sse: [string, string][] = [["content-type", "text/event-stream"]];
  const events = sseEvents(200);
  const cases: Case[] = [
    { name: "INPUT, chat prompt 1 KB", config: base, body: chatBody(1024), reply: { headers: json, chunks: [COMPLETION], paced: false }, per: 1, unit: "request" },
    { name: "INPUT, chat prompt 32 KB (3 calls)", config: base, body: chatBody(32 * 1024), reply: { headers: json, chunks: [COMPLETION], paced: false }, per: 1, unit: "request" },
    { name: "OUTPUT, stream of 200 events", config: { ...base, guarding_mode: "OUTPUT" }, body: chatBody(512), reply: { headers: sse, chunks: events, paced: true }, per: events.length, unit: "event" },
  ];
  const rows: Row[] = [];
  const iterations = Number(process.env.BENCH_CS_ITERATIONS ?? 1000);
  for (const c of cases) {
    const cfg: WasmPluginConfig = { name: "cs", rootId: "cs", vmId: `cs-${rows.length}`, runtime: "envoy.wasm.runtime.v8", configuration: Buffer.from(JSON.stringify(c.config)), vmConfiguration: new Uint8Array(0), codeFile: WASM, environment: {}, failOpen: false, allowOnHeadersStopIteration: false };
    const plugin = await runtime.loadPlugin(cfg);
    const vm = plugin.vm(0);
    const run = async (withFilter: boolean): Promise<void> => {
      const fm = new FilterManager(new StreamInfo(1, { address: "127.0.0.1", port: 1 }, { address: "127.0.0.1", port: 2 }), nullSink, 1 << 30);
      if (withFilter) fm.addFilter(plugin.createStreamContext(0));
      fm.addFilter(new CannedUpstream(c.reply));
      fm.decodeHeaders(null, new HeaderMap([[":method", "POST"], [":path", "/v1/chat/completions"], [":authority", "gw"], ["content-type", "application/json"], ["content-length", String(c.body.length)]]), false);
      fm.decodeData(null, new BufferInstance(Buffer.from(c.body)), true);
      for (let spins = 0; !fm.destroyed; spins++) {
        if (spins > 100000) throw new Error(`${c.name}: the stream did not complete`);
        await tick();
      }
      if (fm.streamInfo.responseCode !== 200) throw new Error(`${c.name}: status ${fm.streamInfo.responseCode}`);
    };
    // CPU time of this process (user + system), not wall time: on a shared machine wall time
    // counts the other processes' turns on the CPU too.
    const measure = async (withFilter: boolean, n: number): Promise<number> => {
      const c0 = process.cpuUsage();
      for (let i = 0; i < n; i++) await run(withFilter);
      const d = process.cpuUsage(c0);
      return (d.user + d.system) / n;
    };
    const n = c.reply.paced ? Math.max(50, Math.floor(iterations / 20)) : iterations;
    // Warm-up: V8 tiers the module's hot functions up before anything is measured.
    const warmEnd = Date.now() + 500;
    for (let i = 0; i < 50 || Date.now() < warmEnd; i++) await run(true);
    // Interleaved rounds, median of each: the machines this runs on are shared, and a round
    // that lost the CPU to another process says nothing about the filter.
    const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
    const withR: number[] = [];
    const withoutR: number[] = [];
    const wasmR: number[] = [];
    let callsPer = 0;
    for (let r = 0; r < rounds; r++) {
      calls = 0;
      vm.profile = true;
      vm.profileNs = 0n;
      vm.profileCalls = 0;
      withR.push(await measure(true, n));
      wasmR.push(wasmNs(vm, clockOverheadNs()) / n / 1000);
      vm.profile = false;
      callsPer = calls / n;
      withoutR.push(await measure(false, n));
    }
    // The floor, measured in the same process and moment (so shared-machine load hits both):
    // V8 parsing the same request and events and writing Azure's request.
    const f0 = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      const req = JSON.parse(c.body) as { messages: { content: string }[] };
      if (c.unit === "request") JSON.stringify({ text: req.messages.map((m) => m.content + "\n\n").join(""), categories: ["Hate", "Violence"] });
      else for (const e of c.reply.chunks) if (e !== "data: [DONE]\n\n") JSON.stringify(JSON.parse(e.slice(6)));
    }
    const fd = process.cpuUsage(f0);
    const floorUs = (fd.user + fd.system) / n;
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const withUs = median(withR);
    const withoutUs = median(withoutR);
    const wasmUs = median(wasmR);
    rows.push({
      case: c.name,
      per: c.unit,
      "Azure calls": callsPer,
      "wasm µs (wall)": wasmUs / c.per,
      "added CPU µs": (withUs - withoutUs) / c.per,
      "V8 JSON floor CPU µs": floorUs / c.per,
      "added ÷ floor": (withUs - withoutUs) / floorUs,
    });
  }
  runtime.close();
  printTable("ai-azure-content-safety: time added per request (INPUT) and per streamed event (OUTPUT), Azure answering at once (its own time excluded)", rows);
}
