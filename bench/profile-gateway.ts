// The local gateway's own process under V8's CPU profiler (node --cpu-prof), serving the
// ai-proxy bench's traffic (the shipped ai-proxy config, the simulator behind it, wrk in front).
// Not part of `npm run bench`; run it when the gateway's throughput moves:
//
//   npx tsx bench/profile-gateway.ts [connections] [seconds] [router]
//
// With "router", the gateway runs the router alone (no wasm filter): the host's own share.
// Prints the functions with the most self time, and the share of a few groups (the socket
// writes, undici, the wasm VMs, GC, idle) of the busy time; writes the profiles (one per
// thread) to build/names/gateway-profile/ for Chrome DevTools.
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { SHIPPED_ENV, SIM_KEY, chatBody, gatewayYaml, shippedAiProxyFilterYaml } from "./ai-proxy.ts";
import { ROOT, startGatewayProcess, startSimulatorProcess, usageOf, type ProcUsage } from "./processes.ts";
import { runWrk } from "./wrk.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
  children?: number[];
}

const connections = Number(process.argv[2] ?? 32);
const seconds = Number(process.argv[3] ?? 10);
const dir = join(ROOT, "build", "names", "gateway-profile");
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

// The VMs' own per-export timing (host/proxy/vm-profile.ts), in the gateway's threads.
const vmDir = join(dir, "vm");
mkdirSync(vmDir, { recursive: true });
type Snap = Record<string, Record<string, { ns: number; calls: number }>>;
const readVmProfile = async (): Promise<Map<string, { ns: number; calls: number }>> => {
  await new Promise((r) => setTimeout(r, 700)); // the threads write every 500 ms
  const sum = new Map<string, { ns: number; calls: number }>();
  for (const f of readdirSync(vmDir)) {
    const snap = JSON.parse(readFileSync(join(vmDir, f), "utf8")) as Snap;
    for (const [vm, exps] of Object.entries(snap))
      for (const [name, v] of Object.entries(exps)) {
        const k = `${vm.split("#")[0]} ${name}`;
        const e = sum.get(k) ?? { ns: 0, calls: 0 };
        sum.set(k, { ns: e.ns + v.ns, calls: e.calls + v.calls });
      }
  }
  return sum;
};

const sim = await startSimulatorProcess();
const routerOnly = process.argv[4] === "router";
const gw = await startGatewayProcess(gatewayYaml(sim.port, routerOnly ? "" : shippedAiProxyFilterYaml()), process.env.PROFILE_CONCURRENCY ? Number(process.env.PROFILE_CONCURRENCY) : "default", {
  env: { ...SHIPPED_ENV, AIGW_WASM_PROFILE: vmDir },
  // PROFILE_CPU=0: the VM timing alone, without the sampling profiler's own cost.
  // PROFILE_NODE_FLAGS: extra node/V8 flags for the gateway (space-separated).
  nodeFlags: [...(process.env.PROFILE_NODE_FLAGS?.split(" ").filter(Boolean) ?? []), ...(process.env.PROFILE_CPU === "0" ? [] : ["--cpu-prof", "--cpu-prof-dir", dir, "--cpu-prof-interval", "200"])],
});
const run = (s: number) =>
  runWrk({
    url: `http://127.0.0.1:${gw.port}/v1/chat/completions`,
    method: "POST",
    headers: { "content-type": "application/json", ...(routerOnly ? { authorization: `Bearer ${SIM_KEY}` } : {}) },
    body: chatBody(1024),
    connections,
    seconds: s,
    timeoutSeconds: 10,
  });
// The gateway and the simulator stop whatever happens (a failed wrk left both running, the
// gateway still profiling: 0.7 of a core taken from every later measurement).
let r: Awaited<ReturnType<typeof run>>, u0: ProcUsage, u1: ProcUsage, vm0: Map<string, { ns: number; calls: number }>, vm1: typeof vm0;
try {
  await run(3); // warm-up (JIT)
  vm0 = await readVmProfile();
  u0 = usageOf(gw.pid!)!;
  r = await run(seconds);
  u1 = usageOf(gw.pid!)!;
  vm1 = await readVmProfile();
} finally {
  await gw.stop();
  await sim.stop();
}
const per = (k: keyof ProcUsage) => (u1[k] - u0[k]) / r.requests;
console.log(`${connections} connections, ${seconds} s: ${Math.round(r.requests / (r.durationUs / 1e6))} req/s, ${r.errors} errors`);
// The profiler samples wall time: a thread descheduled inside a syscall (a write that woke the
// peer, which then took the core) is sampled in that syscall. The kernel's own accounting says
// how much of it was CPU.
console.log(`gateway process per request: ${per("userUs").toFixed(0)} µs user CPU, ${per("systemUs").toFixed(0)} µs system CPU (all syscalls), ${per("involuntarySwitches").toFixed(2)} involuntary context switches`);

// Each timed call carries two hrtime reads (~0.1 µs); not taken off here.
let vmTotal = 0;
const vmRows: string[] = [];
for (const [k, v] of vm1) {
  const ns = v.ns - (vm0.get(k)?.ns ?? 0);
  const calls = v.calls - (vm0.get(k)?.calls ?? 0);
  if (calls === 0) continue;
  vmTotal += ns;
  vmRows.push(`${(ns / r.requests / 1000).toFixed(2).padStart(8)} µs/req  ${(calls / r.requests).toFixed(2)} calls/req  ${(ns / calls / 1000).toFixed(2)} µs/call  ${k}`);
}
console.log(`wasm VM calls: ${(vmTotal / r.requests / 1000).toFixed(1)} µs per request`);
for (const row of vmRows.sort().reverse()) console.log(row);

for (const file of readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"))) {
  const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as { nodes: ProfileNode[] };
  const self = new Map<string, number>();
  const groups = new Map<string, number>();
  let total = 0;
  let idle = 0;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // Group by the nearest frame of interest up the stack, so callees (e.g. native writev under
  // a JS frame) count toward their caller's group.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // A sample counts toward the code it is in: its own frame's file, or for a native frame
  // (utf8Slice, writev's siblings) its nearest caller that has one.
  const groupOf = (node: ProfileNode): string => {
    const fn = node.callFrame.functionName;
    if (fn === "writev" || fn === "writeBuffer" || fn === "writeUtf8String" || fn === "writeLatin1String") return "socket write syscalls (native)";
    if (fn === "(garbage collector)") return "GC";
    if (fn === "(program)") return "(program): native, not attributed";
    for (let n: ProfileNode | undefined = node; n; n = byId.get(parent.get(n.id) ?? -1)) {
      const url = n.callFrame.url;
      if (url === "") continue;
      if (url.includes("node_modules/undici")) return "undici JS";
      // undici's llhttp is the one Wasm module that is not a filter: its functions are called from undici.
      if (url.startsWith("wasm://")) {
        let caller = byId.get(parent.get(n.id) ?? -1);
        while (caller && (caller.callFrame.url === "" || caller.callFrame.url.startsWith("wasm://"))) caller = byId.get(parent.get(caller.id) ?? -1);
        return caller?.callFrame.url.includes("node_modules/undici") ? "undici llhttp (Wasm)" : "wasm filters";
      }
      if (url.includes("/build/aigw.mjs")) return "host JS (aigw)";
      if (url.startsWith("node:")) return "node core JS (http server, net, streams, events)";
      return "other";
    }
    return "other";
  };
  for (const node of profile.nodes) {
    const f = node.callFrame;
    if (f.functionName === "(idle)") {
      idle += node.hitCount;
      continue;
    }
    const key = `${f.functionName || "(anonymous)"} ${f.url.replace(/^.*\/(host|bench|node_modules|build)\//, "$1/")}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + node.hitCount);
    const g = groupOf(node);
    groups.set(g, (groups.get(g) ?? 0) + node.hitCount);
    total += node.hitCount;
  }
  if (total < 100) continue; // a thread that did nothing
  console.log(`\n${file}: ${total} busy samples, ${idle} idle (${((100 * idle) / (total + idle)).toFixed(1)}% idle). Groups, share of busy time:`);
  for (const [k, v] of [...groups].sort((a, b) => b[1] - a[1])) console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
  console.log("Self time, share of busy time:");
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.PROFILE_TOP ?? 40))) console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
}
