// Why ai-proxy's Wasm costs about twice as much inside the running gateway as in process
// (bench/profile-gateway.ts prints the gateway's figure per export): there, every callback
// runs after other work (Node's HTTP server, undici, and on this machine wrk and the simulator
// on the same cores) has evicted the filter's code and linear memory from the core's caches.
// This runs the filter in process with the gateway's callback pattern (the body and its end
// in separate calls, as Envoy's HTTP/1 codec delivers them), warm, and with an L2-sized sweep
// (8 MB, larger than this machine's 2 MB per-core L2) plus a 40 KB JSON round trip before each
// callback the gateway runs in a separate event-loop turn. Not part of `npm run bench`:
//
//   npx tsx bench/wasm-cold.ts [requests]
import { HeaderMap } from "../host/http/header-map.ts";
import { FilterManager } from "../host/http/filter-manager.ts";
import { BufferInstance } from "../host/proxy/buffer.ts";
import { StreamInfo } from "../host/proxy/stream-info.ts";
import { DataStatus } from "../host/abi/enums.ts";
import { CannedUpstream, COMPLETION, benchRuntime, chatBody, loadAiProxy, nullSink } from "./ai-proxy.ts";
import { clockOverheadNs } from "./timing.ts";
import { printTable, type Row } from "./table.ts";

const requests = Number(process.argv[2] ?? 3000);
const body = chatBody(1024);
const sweep = new Float64Array(8 << 17);
const json = chatBody(40 * 1024);
let cold = false;
const evict = (): void => {
  if (!cold) return;
  for (let i = 0; i < sweep.length; i += 8) sweep[i]! += 1; // one write per 64-byte line
  JSON.stringify(JSON.parse(json));
};

/** The upstream's answer comes back in a later event-loop turn in the gateway. */
class LaterUpstream extends CannedUpstream {
  override decodeData(data: BufferInstance, end: boolean): DataStatus {
    evict();
    return super.decodeData(data, end);
  }
}

const runtime = benchRuntime();
const plugin = await loadAiProxy(runtime);
const vm = plugin.vm(0);
const run = (): void => {
  const fm = new FilterManager(new StreamInfo(1, { address: "127.0.0.1", port: 1 }, { address: "127.0.0.1", port: 2 }), nullSink, 1 << 30);
  fm.addFilter(plugin.createStreamContext(0));
  fm.addFilter(new LaterUpstream({ headers: [["content-type", "application/json"]], chunks: [COMPLETION, ""] })); // the data, then the end alone, as the gateway gets it from undici
  evict();
  fm.decodeHeaders(null, new HeaderMap([[":method", "POST"], [":path", "/v1/chat/completions"], [":authority", "gw"], ["content-type", "application/json"], ["content-length", String(body.length)]]), false);
  fm.decodeData(null, new BufferInstance(Buffer.from(body)), false);
  fm.decodeData(null, new BufferInstance(Buffer.alloc(0)), true);
};

const clockNs = clockOverheadNs();
const measure = (): Map<string, number> => {
  const warmEnd = Date.now() + 800;
  while (Date.now() < warmEnd) run();
  vm.profile = true;
  vm.profileByExport = new Map();
  for (let i = 0; i < requests; i++) run();
  const us = new Map([...vm.profileByExport].map(([k, v]) => [k, (Number(v.ns) - v.calls * clockNs) / requests / 1000]));
  vm.profile = false;
  return us;
};
const warm = measure();
cold = true;
const coldUs = measure();
const rows: Row[] = [...warm.keys()].map((k) => ({ export: k, "warm µs/req": warm.get(k)!.toFixed(2), "cold µs/req": coldUs.get(k)!.toFixed(2) }));
const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0).toFixed(1);
rows.push({ export: "total", "warm µs/req": sum(warm), "cold µs/req": sum(coldUs) });
printTable(`ai-proxy, 1 KB chat in process: warm vs caches evicted before each event-loop turn (${requests} requests)`, rows);
runtime.close();
