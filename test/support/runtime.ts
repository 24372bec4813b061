// A ProxyWasmRuntime with no gateway around it, for loader and ABI tests.
import { ProxyWasmRuntime, type LogLine } from "../../host/proxy/runtime.ts";
import { StatsStore } from "../../host/stats/store.ts";

export function testRuntime(opts: { concurrency?: number; clusters?: string[] } = {}): { runtime: ProxyWasmRuntime; logs: LogLine[]; stats: StatsStore } {
  const logs: LogLine[] = [];
  const stats = new StatsStore({});
  const runtime = new ProxyWasmRuntime({
    concurrency: opts.concurrency ?? 1,
    stats,
    logLevel: 0,
    onLog: (l) => logs.push(l),
    clusters: {
      has: (n) => (opts.clusters ?? []).includes(n),
      callout: () => ({ promise: new Promise(() => {}), cancel: () => {} }),
    },
  });
  return { runtime, logs, stats };
}
