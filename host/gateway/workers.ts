// The local gateway on worker threads, Envoy's threading model (source/server/worker_impl.cc,
// source/docs/listener.md): the main thread parses the config, serves the admin endpoint and
// prints the logs; each of the --concurrency workers is a thread with its own event loop, VMs,
// connection managers and upstream pools (worker-thread.ts).
//
// Listeners follow Envoy's enable_reuse_port: false (Node 20 has no SO_REUSEPORT): "a unique
// socket is created for worker 0, and then that socket is duplicated for all other workers"
// (source/docs/listener.md, ListenSocketFactoryImpl in listener_impl.cc). Worker 0 binds and
// listens; every other worker listens on the same descriptor, and the kernel hands each
// connection to one of the threads accepting on it. Node cannot dup(2), so the threads share one
// descriptor number: the others close first at shutdown and worker 0 last.
//
// Shared data is shared memory every thread locks (shared-data-memory.ts); queues and the
// stat-cell registry live in the shared-state thread (worker-shared.ts); counters and gauges are
// shared memory every thread adds to; histograms are per worker and merged for /stats as Envoy
// merges its thread-local histograms.

import type { Worker } from "node:worker_threads";
import { MessageChannel, type MessagePort } from "node:worker_threads";
import type { Bootstrap } from "../envoy/bootstrap-types.ts";
import { LogLevel } from "../abi/enums.ts";
import { PluginLoadError, type LogLine } from "../proxy/runtime.ts";
import { StatsStore } from "../stats/store.ts";
import { startAdmin } from "./admin.ts";
import { clusterCallout, formatLogLine, startupPlugins, type GatewayOptions } from "./gateway.ts";
import { fetchRemoteCodeLogged } from "../proxy/remote-code.ts";
import { sharedDataBuffer } from "../proxy/shared-data-memory.ts";
import { spawnThread } from "./worker-spawn.ts";
import { controlWords, FIRST_SLOT, RpcClient, stopRpc } from "./worker-rpc.ts";
import { RemoteStatCells, statCellBuffers } from "./worker-services.ts";
import { SHARED_THREAD_URL, type SharedThreadData } from "./worker-shared.ts";
import { WORKER_THREAD_URL, type FromWorker, type Listening, type ToWorker, type WorkerThreadData } from "./worker-thread.ts";
import type { HistogramSnapshot } from "../stats/histogram.ts";

/** Remote Wasm code, fetched once by the main thread as Envoy's main thread fetches it (createWasm), by sha256. */
async function fetchStartupCode(b: Bootstrap, logError: (m: string) => void): Promise<Map<string, Uint8Array | null>> {
  const out = new Map<string, Uint8Array | null>();
  const callout = clusterCallout(b);
  for (const p of startupPlugins(b)) {
    if (p.code?.kind !== "remote" || out.has(p.code.sha256)) continue;
    out.set(p.code.sha256, await fetchRemoteCodeLogged(p.code, callout, logError));
  }
  return out;
}

/** Counters and gauges the process can hold (8 + 4 bytes of shared memory each). */
const STAT_CAPACITY = 1 << 18;

type Request = ToWorker extends infer T ? (T extends { id: number } ? Omit<T, "id"> : never) : never;

/** The main thread's handle on one worker thread: requests with replies, log lines forwarded. */
class WorkerHandle {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly loaded: Promise<{ pluginCount: number } | { error: string }>;
  /** Set when the thread died. */
  failure: Error | null = null;

  constructor(
    readonly index: number,
    readonly thread: Worker,
    onLog: (line: LogLine) => void,
    onFailure: (e: Error) => void,
  ) {
    let settle: (v: { pluginCount: number } | { error: string }) => void = () => {};
    this.loaded = new Promise((r) => (settle = r));
    thread.on("message", (m: FromWorker) => {
      if (m.type === "log") onLog(m.line);
      else if (m.type === "loaded") settle({ pluginCount: m.pluginCount });
      else if (m.type === "load-error") settle({ error: m.message });
      else {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if ("error" in m) p?.reject(new Error(m.error));
        else p?.resolve(m.ok);
      }
    });
    const fail = (e: Error) => {
      if (this.failure) return;
      this.failure = e;
      settle({ error: e.message });
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      onFailure(e);
    };
    thread.on("error", (e) => fail(new Error(`worker_${index} failed: ${e.message}`)));
    thread.on("exit", (code) => fail(new Error(`worker_${index} exited (code ${code})`)));
  }

  ask(req: Request): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.thread.postMessage({ ...req, id });
    });
  }
}

export class WorkerGateway {
  readonly ports = new Map<string, number>();
  adminPort: number | null = null;
  private closeAdmin: (() => Promise<void>) | null = null;
  private closing: Promise<void> | null = null;
  /** Settles with the first worker failure while serving (the CLI exits 1 on it). */
  readonly failed: Promise<Error>;

  private constructor(
    readonly bootstrap: Bootstrap,
    private readonly workers: WorkerHandle[],
    private readonly shared: Worker,
    private readonly ctl: Int32Array,
    private readonly mainRpc: MessagePort,
    /** The admin thread's view: counters and gauges in the shared cells, histograms merged. */
    readonly stats: StatsStore,
    private readonly cells: RemoteStatCells,
    failed: Promise<Error>,
    readonly pluginCount: number,
    /** Called as closing starts: the workers' ends are expected from then on. */
    private readonly onClosing: () => void,
  ) {
    this.failed = failed;
  }

  /** Starts the shared-state thread and `concurrency` workers, loads every plugin in each, then listens. */
  static async start(bootstrap: Bootstrap, opts: GatewayOptions = {}): Promise<WorkerGateway> {
    const n = opts.concurrency ?? 2;
    const level = opts.logLevel ?? LogLevel.Info;
    const onLog = opts.onLog ?? ((l: LogLine) => process.stderr.write(`${formatLogLine(l)}\n`));
    for (const message of bootstrap.warnings) if (LogLevel.Warn >= level) onLog({ level: LogLevel.Warn, vmId: "", worker: -1, plugin: "", message });

    const logError = (message: string) => LogLevel.Error >= level && onLog({ level: LogLevel.Error, vmId: "", worker: -1, plugin: "", message });
    const remoteCode = await fetchStartupCode(bootstrap, logError);

    // Caller i of the shared-state thread is worker i; the main thread is caller n.
    const ctl = controlWords(n + 1);
    const rpc = Array.from({ length: n + 1 }, () => new MessageChannel());
    const events = Array.from({ length: n }, () => new MessageChannel());
    const cellBuffers = statCellBuffers(STAT_CAPACITY);
    const sharedDataMemory = sharedDataBuffer();
    const sharedData: SharedThreadData = { aigw: "shared", ctl, rpc: rpc.map((c) => c.port2), events: events.map((c) => c.port2), statCapacity: STAT_CAPACITY };
    const shared = spawnThread(SHARED_THREAD_URL, sharedData, [...sharedData.rpc, ...sharedData.events]);
    let reportFailure: (e: Error) => void = () => {};
    const failed = new Promise<Error>((r) => (reportFailure = r));
    // Serving: a worker's death is reported; before (load) and after (close) it is expected.
    let serving = false;
    // After a failed load or a close, no more lines are printed.
    let forwarding = true;
    const workers = Array.from({ length: n }, (_, i) => {
      const data: WorkerThreadData = { aigw: "gateway", index: i, bootstrap, remoteCode, logLevel: level, ctl, slot: FIRST_SLOT + i, rpc: rpc[i]!.port1, events: events[i]!.port1, cells: cellBuffers, sharedData: sharedDataMemory };
      const thread = spawnThread(WORKER_THREAD_URL, data, [data.rpc, data.events]);
      return new WorkerHandle(i, thread, (l) => forwarding && onLog(l), (e) => serving && reportFailure(e));
    });
    let gw: WorkerGateway | null = null;
    const mainRpc = rpc[n]!.port1;
    const abort = async () => {
      await Promise.all(workers.map((w) => w.thread.terminate()));
      stopRpc(ctl);
      await shared.terminate();
      mainRpc.close();
    };
    // Every worker loads every plugin; the first worker's failure is the one reported.
    const results = await Promise.all(workers.map((w) => w.loaded));
    const bad = results.find((r): r is { error: string } => "error" in r);
    if (bad) {
      forwarding = false;
      await abort();
      throw new PluginLoadError(bad.error);
    }
    const cells = new RemoteStatCells(cellBuffers, new RpcClient(mainRpc, ctl, FIRST_SLOT + n));
    const stats = StatsStore.fromConfig(bootstrap.stats, cells);
    gw = new WorkerGateway(bootstrap, workers, shared, ctl, mainRpc, stats, cells, failed, (results[0] as { pluginCount: number }).pluginCount, () => {
      serving = false;
      forwarding = false;
    });
    try {
      const first = (await workers[0]!.ask({ type: "listen", ephemeralPorts: opts.ephemeralPorts ?? false })) as Listening;
      for (const [name, port] of first.ports) gw.ports.set(name, port);
      await Promise.all(workers.slice(1).map((w) => w.ask({ type: "adopt", fds: first.fds, ports: first.ports })));
      if (bootstrap.admin) {
        const addr = opts.ephemeralPorts ? { ...bootstrap.admin.address, port: 0 } : bootstrap.admin.address;
        const admin = await startAdmin(addr, { stats, isReady: () => true, refresh: () => gw!.refreshStats() });
        gw.adminPort = admin.port;
        gw.closeAdmin = admin.close;
      }
    } catch (e) {
      await gw.close();
      throw e;
    }
    serving = true;
    return gw;
  }

  /** Every counter and gauge any thread made, and the workers' histograms merged. */
  async refreshStats(): Promise<void> {
    for (const [kind, name] of this.cells.list()) {
      if (kind === "c") this.stats.counter(name);
      else this.stats.gauge(name);
    }
    const lists = (await Promise.all(this.workers.map((w) => w.ask({ type: "histograms" })))) as [string, HistogramSnapshot][][];
    this.stats.mergeHistograms(lists);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.closeAdmin?.();
      // Access-log and plugin lines of the last streams are still printed while workers close.
      // The others first: they accept on worker 0's descriptor, which worker 0 closes last.
      const closeWorker = (w: WorkerHandle) => w.ask({ type: "close" }).catch(() => {});
      await Promise.all(this.workers.slice(1).map(closeWorker));
      await closeWorker(this.workers[0]!);
      this.onClosing();
      await Promise.all(this.workers.map((w) => w.thread.terminate()));
      stopRpc(this.ctl);
      await this.shared.terminate();
      this.mainRpc.close();
    })();
    return this.closing;
  }
}
