// ai-request-transformer and ai-response-transformer: Wasm time added per transformed request,
// measured inside the host's VM calls (so neither the LLM's own time nor the host's is counted),
// for 1 KB and 32 KB bodies. The LLM is a canned chat completion answered at once by the
// runtime's callout hook, so the numbers are the filter's own work: building the LLM request
// (escaping the body into it), reading the answer, and replacing the body.
import { HeaderMap } from "../host/http/header-map.ts";
import { FilterManager } from "../host/http/filter-manager.ts";
import { BufferInstance } from "../host/proxy/buffer.ts";
import { StreamInfo } from "../host/proxy/stream-info.ts";
import { ProxyWasmRuntime } from "../host/proxy/runtime.ts";
import { StatsStore } from "../host/stats/store.ts";
import type { CalloutResult } from "../host/proxy/vm-services.ts";
import type { WasmPluginConfig } from "../host/envoy/bootstrap-types.ts";
import { join } from "node:path";
import { printTable, type Row } from "./table.ts";
import { ROOT } from "./processes.ts";
import { CannedUpstream, nullSink } from "./ai-proxy.ts";
import { clockOverheadNs, wasmNs } from "./timing.ts";

/** A JSON document of about `bytes` bytes (an API's ordinary body). */
function apiBody(bytes: number): string {
  const items: { id: number; name: string; note: string }[] = [];
  while (JSON.stringify({ items }).length < bytes) items.push({ id: items.length, name: `item ${items.length}`, note: 'a "quoted" note with \\ and ünïcödé' });
  return JSON.stringify({ items });
}

/** The LLM's answer: a chat completion whose text is `text`. */
function completion(text: string): Uint8Array {
  return Buffer.from(
    JSON.stringify({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1735689600,
      model: "gpt-4o-mini",
      choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
      usage: { prompt_tokens: 300, completion_tokens: 280, total_tokens: 580 },
    }),
  );
}

async function wasmTimes(iterations: number): Promise<Row[]> {
  let answer = completion("");
  const runtime = new ProxyWasmRuntime({
    concurrency: 1,
    stats: new StatsStore({}),
    logLevel: 4,
    onLog: () => {},
    clusters: {
      has: () => true,
      callout: (): { promise: Promise<CalloutResult>; cancel(): void } => ({
        promise: Promise.resolve({ kind: "response", headers: new HeaderMap([[":status", "200"], ["content-type", "application/json"]]), body: answer, trailers: new HeaderMap([]) }),
        cancel() {},
      }),
    },
  });
  const llm = { route_type: "llm/v1/chat", auth: { header_name: "Authorization", header_value: "Bearer sk-bench" }, model: { provider: "openai", name: "gpt-4o-mini" }, logging: { log_statistics: true } };
  const rows: Row[] = [];
  for (const name of ["ai-request-transformer", "ai-response-transformer"]) {
    const config: WasmPluginConfig = {
      name,
      rootId: name,
      vmId: name,
      runtime: "envoy.wasm.runtime.v8",
      configuration: Buffer.from(JSON.stringify({ prompt: "Rewrite this document for the API. Answer with JSON only.", llm })),
      vmConfiguration: new Uint8Array(0),
      codeFile: join(ROOT, "build", `${name}.wasm`),
      environment: {},
      failOpen: false,
      allowOnHeadersStopIteration: false,
    };
    const plugin = await runtime.loadPlugin(config);
    const vm = plugin.vm(0);
    for (const size of [1024, 32 * 1024]) {
      const body = apiBody(size);
      answer = completion(body);
      const request = name === "ai-request-transformer";
      const run = async (): Promise<void> => {
        const fm = new FilterManager(new StreamInfo(1, { address: "127.0.0.1", port: 1 }, { address: "127.0.0.1", port: 2 }), nullSink, 1 << 30);
        fm.addFilter(plugin.createStreamContext(0));
        fm.addFilter(new CannedUpstream({ headers: [["content-type", "application/json"]], chunks: [request ? '{"ok":true}' : body] }));
        const headers = new HeaderMap([[":method", "POST"], [":path", "/api"], [":authority", "gw"], ["content-type", "application/json"], ["content-length", String(request ? body.length : 2)]]);
        fm.decodeHeaders(null, headers, false);
        fm.decodeData(null, new BufferInstance(Buffer.from(request ? body : "{}")), true);
        // The LLM's answer arrives on a later turn of the event loop, as a real callout's would.
        for (let i = 0; i < 20 && !fm.destroyed; i++) await new Promise((r) => setImmediate(r));
        if (!fm.destroyed) throw new Error(`${name} ${size}: the stream did not complete (status ${fm.streamInfo.responseCode})`);
      };
      const warmEnd = Date.now() + 500;
      for (let i = 0; i < 200 || Date.now() < warmEnd; i++) await run();
      vm.profile = true;
      vm.profileNs = 0n;
      vm.profileCalls = 0;
      for (let i = 0; i < iterations; i++) await run();
      const wasm = wasmNs(vm, clockOverheadNs()) / iterations / 1000;
      vm.profile = false;
      rows.push({ filter: name, "body bytes": body.length, "LLM answer bytes": answer.length, "wasm µs per transformed request": wasm.toFixed(1) });
    }
  }
  runtime.close();
  return rows;
}

export async function benchTransformers(): Promise<void> {
  printTable("transformers: wasm time added per transformed request (in-process, after warm-up; the LLM's own time not counted)", await wasmTimes(1000));
}
