// The chain under V8's sampling profiler, with the wasm names section: where a request's Wasm
// time goes, function by function. Not part of `npm run bench`; run it when a number moves:
//
//   node scripts/build.mjs --names && npx tsx bench/profile.ts [bytes] [filter ...]
//
// bytes is the chat size (default 1024); the filters default to the whole chain. Prints the
// functions with the most self time (wasm ones by their AssemblyScript names, host ones by
// file:line) and writes the full profile to build/names/chain.cpuprofile for Chrome DevTools.
import { Session } from "node:inspector/promises";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ProxyWasmRuntime } from "../host/proxy/runtime.ts";
import { StatsStore } from "../host/stats/store.ts";
import { chainChatBody, chainConfigs, pluginConfig, runOnce } from "./chain.ts";
import { ROOT } from "./processes.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
}

process.env.BENCH_WASM_DIR ??= join(ROOT, "build", "names");
const bytes = Number(process.argv[2] ?? 1024);
const pick = process.argv.slice(3);
const ms = Number(process.env.PROFILE_MS ?? 4000);

const runtime = new ProxyWasmRuntime({ concurrency: 1, stats: new StatsStore({}), logLevel: 4, onLog: () => {}, clusters: { has: () => false, callout: () => ({ promise: new Promise(() => {}), cancel() {} }) } });
const specs = chainConfigs().filter((s) => pick.length === 0 || pick.includes(s.name));
const chain = await Promise.all(specs.map((s) => runtime.loadPlugin(pluginConfig(s.name, s.config))));
const body = Buffer.from(chainChatBody(bytes));
const warmEnd = Date.now() + 1000;
while (Date.now() < warmEnd) runOnce(chain, body);

const session = new Session();
session.connect();
await session.post("Profiler.enable");
await session.post("Profiler.setSamplingInterval", { interval: 50 });
await session.post("Profiler.start");
let n = 0;
const end = Date.now() + ms;
while (Date.now() < end) for (let i = 0; i < 50; i++, n++) runOnce(chain, body);
const { profile } = (await session.post("Profiler.stop")) as unknown as { profile: { nodes: ProfileNode[] } };
writeFileSync(join(ROOT, "build", "names", "chain.cpuprofile"), JSON.stringify(profile));

const self = new Map<string, number>();
let total = 0;
for (const node of profile.nodes) {
  const f = node.callFrame;
  const key = f.url.startsWith("wasm://") || f.url === "" ? f.functionName || "(anonymous)" : `${f.functionName || "(anonymous)"} ${f.url.replace(/^.*\/(host|bench|node_modules)\//, "$1/")}:${f.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + node.hitCount);
  total += node.hitCount;
}
console.log(`${n} requests of ${body.length} B through ${specs.map((s) => s.name).join(" → ")}; ${total} samples; self time:`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.PROFILE_TOP ?? 40))) console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
