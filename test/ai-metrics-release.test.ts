// ai-metrics exports neither proxy_on_done nor proxy_on_delete: its on_log is the last callback
// of a stream and drops the stream's context there (filters/ai-metrics/index.ts). Over many
// streams its linear memory must stay flat, and every stream must still be counted once.
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { HeaderMap } from "../host/http/header-map.ts";
import { FilterManager, type DownstreamSink } from "../host/http/filter-manager.ts";
import { BufferInstance } from "../host/proxy/buffer.ts";
import { StreamInfo } from "../host/proxy/stream-info.ts";
import { ProxyWasmRuntime } from "../host/proxy/runtime.ts";
import { StatsStore } from "../host/stats/store.ts";
import { filter } from "./support/gateway.ts";
import { AnsweringUpstream } from "./support/answering-upstream.ts";

const ROOT = resolve(import.meta.dirname, "..");

beforeAll(() => {
  execFileSync(process.execPath, [resolve(ROOT, "scripts/build.mjs"), "ai-metrics"], { cwd: ROOT, stdio: "pipe" });
}, 180_000);

const sink: DownstreamSink = { encodeHeaders() {}, encodeData() {}, encodeTrailers() {}, reset() {}, readDisable() {} };

describe("ai-metrics' stream contexts", () => {
  it("are dropped in on_log: memory stays flat and every stream is counted", async () => {
    const stats = new StatsStore({});
    const runtime = new ProxyWasmRuntime({ concurrency: 1, stats, logLevel: 4, onLog: () => {}, clusters: { has: () => false, callout: () => ({ promise: new Promise(() => {}), cancel() {} }) } });
    const plugin = await runtime.loadPlugin({
      name: "ai-metrics",
      rootId: "ai-metrics",
      vmId: "ai-metrics",
      runtime: "envoy.wasm.runtime.v8",
      configuration: Buffer.from('{"ai_metrics": true, "genai_metrics": false}'),
      vmConfiguration: new Uint8Array(0),
      codeFile: filter("ai-metrics"),
      environment: {},
      failOpen: false,
      allowOnHeadersStopIteration: false,
    });
    const one = () => {
      const info = new StreamInfo(1, { address: "127.0.0.1", port: 1 }, { address: "127.0.0.1", port: 2 });
      const fm = new FilterManager(info, sink, 1 << 20);
      fm.addFilter(plugin.createStreamContext(0));
      fm.addFilter(new AnsweringUpstream({ headers: [[":status", "200"]], body: "{}", onHeaders: () => info.filterState.setWasm("ai.provider_name", Buffer.from("openai")) }));
      fm.decodeHeaders(null, new HeaderMap([[":method", "POST"], [":path", "/v1/chat/completions"]]), false);
      fm.decodeData(null, new BufferInstance(Buffer.from("{}")), true);
      expect(fm.destroyed).toBe(true);
    };
    try {
      for (let i = 0; i < 2000; i++) one();
      const vm = plugin.vm(0);
      const before = vm.memory.size;
      // A context kept per stream (a few dozen bytes each) would grow memory by pages here.
      for (let i = 0; i < 40_000; i++) one();
      expect(vm.memory.size).toBe(before);
      const requests = [...stats.counters.values()].filter((c) => c.name.startsWith("wasmcustom.ai_llm_requests_total"));
      expect(requests.map((c) => c.value)).toEqual([42_000]);
    } finally {
      runtime.close();
    }
  }, 120_000);
});
