// The local gateway: an Envoy bootstrap brought up on Node. Loads every wasm plugin in every
// worker VM (refusing the config if one fails to configure), then opens the listeners and the
// admin endpoint. `validate` does the loading without serving.
//
// This Gateway runs every worker's VMs on the calling thread (tests, `aigw validate`, each
// worker thread of workers.ts); workers.ts runs one per worker thread, as `aigw run` does.
//
// Plugin identity is Envoy's, not the filter name: each http_filters entry of each listener
// gets the plugin its own config describes. VMs are shared by VM key (vm_id, VM configuration,
// code) and root contexts by plugin key (name, root_id, configuration, failure policy), as
// proxy-wasm-cpp-host does (src/wasm.cc); two entries with the same name and different
// configs are two plugins.

import type { Bootstrap, WasmFilterConfig, WasmPluginConfig } from "../envoy/bootstrap-types.ts";
import { LOG_LEVEL_NAMES, LogLevel } from "../abi/enums.ts";
import { ProxyWasmRuntime, type LogLine, type RuntimeOptions, type WasmPlugin } from "../proxy/runtime.ts";
import { StatsStore } from "../stats/store.ts";
import { ConnectionManager } from "./connection-manager.ts";
import { GatewayStats } from "./gateway-stats.ts";
import { httpCallout } from "./callout.ts";
import { closeGrpcClients, startGrpc } from "./grpc-client.ts";
import { startAdmin } from "./admin.ts";
import { FilterConfigSubscriptions } from "./filter-config-subscription.ts";

export interface GatewayOptions {
  /** Envoy's --concurrency (default 2): workers, each with a VM per plugin; threads with WorkerGateway (workers.ts), all on this thread here. */
  concurrency?: number;
  /** Bind every listener and the admin endpoint to port 0 (tests). */
  ephemeralPorts?: boolean;
  logLevel?: number;
  /** Where log lines go (default: stderr, formatted like Envoy's). */
  onLog?: (line: LogLine) => void;
}

/** What a worker thread adds to the options of its in-thread gateway (worker-thread.ts). */
export interface ThreadGatewayOptions extends GatewayOptions {
  /** This thread's worker number (its VMs' worker in logs). */
  firstWorker: number;
  stats: StatsStore;
  shared: RuntimeOptions["shared"];
  /** The bootstrap's warnings are the main thread's to print. */
  quietWarnings: boolean;
  remoteCode: RuntimeOptions["remoteCode"];
}

export function formatLogLine(l: LogLine): string {
  const lvl = LOG_LEVEL_NAMES[l.level] ?? String(l.level);
  const who = l.vmId ? `wasm log ${l.plugin} ${l.vmId}` : "wasm";
  return `[${new Date().toISOString()}][${l.worker < 0 ? "main" : `worker_${l.worker}`}][${lvl}][wasm] ${who}: ${l.message}`;
}

/** The async HTTP client on the bootstrap's clusters (proxy_http_call, remote code). */
export function clusterCallout(b: Bootstrap): RuntimeOptions["clusters"]["callout"] {
  return (name, headers, body, timeoutMs) => {
    const abort = new AbortController();
    const promise = httpCallout(b.clusters.get(name), headers, Buffer.from(body), timeoutMs, abort.signal);
    return { promise, cancel: () => abort.abort() };
  };
}

/** Every plugin the bootstrap loads at start: the listeners' wasm filters and the clusters' upstream ones. */
export function startupPlugins(b: Bootstrap): WasmPluginConfig[] {
  const upstream = [...b.clusters.values()].flatMap((c) => (c.upstreamFilters ?? []).filter((f) => !f.disabled));
  return [...wasmFilters(b), ...upstream].map((f) => f.plugin);
}

function wasmFilters(b: Bootstrap): WasmFilterConfig[] {
  return b.listeners.flatMap((l) => l.hcm.httpFilters.filter((f): f is WasmFilterConfig => f.kind === "wasm"));
}

/**
 * Each cluster's upstream HTTP filters (HttpProtocolOptions.http_filters), loaded like the
 * listeners' Wasm filters: Envoy's Wasm filter factory is dual, downstream and upstream
 * (source/extensions/filters/http/wasm/config.cc). Disabled ones are left out.
 */
async function loadUpstreamPlugins(b: Bootstrap, runtime: ProxyWasmRuntime): Promise<Map<string, WasmPlugin[]>> {
  const out = new Map<string, WasmPlugin[]>();
  for (const c of b.clusters.values()) {
    const list: WasmPlugin[] = [];
    for (const f of c.upstreamFilters ?? []) if (!f.disabled) list.push(await runtime.loadPlugin(f.plugin));
    if (list.length > 0) out.set(c.name, list);
  }
  return out;
}

/**
 * A cluster whose endpoint is an envoy_internal_address reaches the named internal listener.
 * Envoy connects in process; the local gateway serves the internal listener on a loopback port
 * and points the cluster at it (README, Known differences).
 */
function connectInternalListeners(b: Bootstrap, ports: Map<string, number>): void {
  for (const c of b.clusters.values()) {
    if (c.internalListener === undefined) continue;
    const port = ports.get(c.internalListener);
    if (port !== undefined) c.endpoints = [{ address: "127.0.0.1", port }];
  }
}

export class Gateway {
  readonly ports = new Map<string, number>();
  adminPort: number | null = null;
  private closeAdmin: (() => Promise<void>) | null = null;
  /** Updates of filters configured by extension config discovery. */
  readonly discovery: FilterConfigSubscriptions;

  private constructor(
    readonly bootstrap: Bootstrap,
    readonly runtime: ProxyWasmRuntime,
    readonly stats: StatsStore,
    /** The plugin of each wasm http_filters entry. */
    readonly plugins: Map<WasmFilterConfig, WasmPlugin>,
    private readonly managers: ConnectionManager[],
  ) {
    this.discovery = new FilterConfigSubscriptions(
      wasmFilters(bootstrap),
      async (f, config) => void plugins.set(f, await runtime.loadPlugin(config)),
      (m) => runtime.log.warn(m),
    );
  }

  /** Loads every plugin (on_vm_start + on_configure in every worker) without serving. */
  static async load(bootstrap: Bootstrap, opts: GatewayOptions | ThreadGatewayOptions = {}): Promise<Gateway> {
    const thread = "firstWorker" in opts ? opts : null;
    const stats = thread?.stats ?? StatsStore.fromConfig(bootstrap.stats);
    const concurrency = thread ? 1 : (opts.concurrency ?? 2);
    const runtime = new ProxyWasmRuntime({
      concurrency,
      stats,
      firstWorker: thread?.firstWorker,
      shared: thread?.shared,
      logLevel: opts.logLevel ?? LogLevel.Info,
      onLog: opts.onLog ?? ((l) => process.stderr.write(`${formatLogLine(l)}\n`)),
      remoteCode: thread?.remoteCode,
      clusters: {
        has: (name) => bootstrap.clusters.has(name),
        callout: clusterCallout(bootstrap),
        grpc: (name, service, method, metadata, timeoutMs, handlers, message) => {
          const c = bootstrap.clusters.get(name)!;
          if (!c.http2) {
            // Envoy's gRPC client would speak HTTP/1.1 to this cluster and the call would fail.
            let cancelled = false;
            setImmediate(() => {
              if (!cancelled) handlers.onClose(14, `cluster ${name} is not configured for HTTP/2 (http2_protocol_options), which gRPC needs`);
            });
            return { send: () => {}, close: () => {}, cancel: () => (cancelled = true) };
          }
          return startGrpc(c, service, method, metadata, timeoutMs, handlers, message);
        },
      },
    });
    if (!thread?.quietWarnings) for (const w of bootstrap.warnings) runtime.log.warn(w);
    const plugins = new Map<WasmFilterConfig, WasmPlugin>();
    let upstreamPlugins: Map<string, WasmPlugin[]>;
    try {
      for (const f of wasmFilters(bootstrap)) plugins.set(f, await runtime.loadPlugin(f.plugin));
      upstreamPlugins = await loadUpstreamPlugins(bootstrap, runtime);
    } catch (e) {
      runtime.close();
      throw e;
    }
    const gstats = new GatewayStats(stats);
    const managers = bootstrap.listeners.map((l) => new ConnectionManager(l, { plugins, upstreamPlugins, clusters: bootstrap.clusters, stats: gstats, concurrency }));
    return new Gateway(bootstrap, runtime, stats, plugins, managers);
  }

  /** Distinct plugins (root contexts per worker) the filters run. */
  get pluginCount(): number {
    return new Set(this.plugins.values()).size;
  }

  /** The plugin of the wasm filter named `name` on listener `listener` (the first such entry). */
  plugin(name: string, listener = 0): WasmPlugin {
    const f = this.bootstrap.listeners[listener]?.hcm.httpFilters.find((x): x is WasmFilterConfig => x.kind === "wasm" && x.name === name);
    const p = f && this.plugins.get(f);
    if (!p) throw new Error(`no wasm filter ${JSON.stringify(name)} on listener ${listener}`);
    return p;
  }

  /**
   * Opens the listeners on their addresses (port 0 with `ephemeralPorts`, and for internal
   * listeners), or on the sockets another worker thread listens on (`adopt`: fds and ports by
   * listener name).
   */
  async listen(opts: { ephemeralPorts?: boolean; adopt?: { fds: Map<string, number>; ports: Map<string, number> } }): Promise<void> {
    for (const m of this.managers) {
      const name = m.listener.name;
      const fd = opts.adopt?.fds.get(name);
      const port = await m.listen(opts.ephemeralPorts || m.listener.internal ? 0 : undefined, fd);
      this.ports.set(name, opts.adopt?.ports.get(name) ?? port);
    }
    connectInternalListeners(this.bootstrap, this.ports);
  }

  /** Each listener's socket, for the other worker threads to accept from. */
  listenerFds(): Map<string, number> {
    return new Map(this.managers.map((m) => [m.listener.name, m.fd]));
  }

  static async start(bootstrap: Bootstrap, opts: GatewayOptions = {}): Promise<Gateway> {
    const gw = await Gateway.load(bootstrap, opts);
    try {
      await gw.listen(opts);
      if (bootstrap.admin) {
        const addr = opts.ephemeralPorts ? { ...bootstrap.admin.address, port: 0 } : bootstrap.admin.address;
        const admin = await startAdmin(addr, { stats: gw.stats, isReady: () => true });
        gw.adminPort = admin.port;
        gw.closeAdmin = admin.close;
      }
    } catch (e) {
      await gw.close();
      throw e;
    }
    return gw;
  }

  async close(): Promise<void> {
    this.discovery.close();
    await Promise.all(this.managers.map((m) => m.close()));
    await this.closeAdmin?.();
    this.runtime.close();
    closeGrpcClients();
  }
}
