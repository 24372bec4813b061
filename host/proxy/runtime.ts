// The process-wide proxy-wasm runtime of one gateway: VMs per worker (shared by plugins with
// the same vm_id, VM configuration and code, as in Envoy), plugins with a root context in every
// worker's VM, and the services VMs share (stats, shared data, queues, clusters, log).

import { profileVm } from "./vm-profile.ts";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { WasmResult, LogLevel, LOG_LEVEL_NAMES } from "../abi/enums.ts";
import type { FailurePolicy, WasmPluginConfig } from "../envoy/bootstrap-types.ts";
import type { DecoderFilterCallbacks } from "../http/filter-manager.ts";
import { HeadersStatus } from "../abi/enums.ts";
import { fetchRemoteCodeLogged } from "./remote-code.ts";
import type { HeaderMap } from "../http/header-map.ts";
import { RootContext, type ContextBase } from "./context.ts";
import { HttpContext } from "./http-context.ts";
import { SharedData, type SharedDataApi } from "./shared-data.ts";
import { SharedQueues, type SharedQueueApi } from "./shared-queue.ts";
import { checkModule, WasmLoadError, WasmVm } from "./wasm-vm.ts";
import { systemClock, type CalloutResult, type Clock, type GrpcCallHandlers, type GrpcStreamHandle, type MetricsStore, type PluginLog, type VmServices } from "./vm-services.ts";

export interface LogLine {
  level: number;
  vmId: string;
  worker: number;
  plugin: string;
  message: string;
}

export interface RuntimeOptions {
  concurrency: number;
  stats: MetricsStore;
  clusters: {
    has(name: string): boolean;
    callout(cluster: string, headers: HeaderMap, body: Uint8Array, timeoutMs: number): { promise: Promise<CalloutResult>; cancel(): void };
    /** gRPC async client; without it a call fails with UNAVAILABLE. */
    grpc?(cluster: string, service: string, method: string, metadata: [string, string][], timeoutMs: number, handlers: GrpcCallHandlers, unaryMessage: Uint8Array | null): GrpcStreamHandle;
  };
  clock?: Clock;
  /** The worker number of this runtime's first VM: a worker thread's own index (default 0). */
  firstWorker?: number;
  /** Shared data and queues owned elsewhere (another thread); default: this runtime's own. */
  shared?: {
    data: SharedDataApi;
    queues: (onReady: (vm: WasmVm, contextId: number, token: number) => void) => SharedQueueApi;
  };
  /** Remote code the main thread fetched, by sha256 (null: the fetch failed): fetched once, as Envoy's main thread does. */
  remoteCode?: ReadonlyMap<string, Uint8Array | null>;
  /** Envoy's log level for proxy_get_log_level and for what reaches `onLog` (default info). */
  logLevel?: number;
  onLog?: (line: LogLine) => void;
}

export class PluginLoadError extends Error {}

/**
 * One plugin (cpp-host's PluginBase, keyed by plugin key) and its root context in each worker's
 * VM. Every `envoy.filters.http.wasm` entry with the same VM key and plugin key shares one,
 * as proxy-wasm-cpp-host's getOrCreateThreadLocalPlugin (src/wasm.cc) shares it.
 * A root is null in every worker when the code could not be had (a failed remote fetch): the
 * plugin "failed to load" and each stream fails closed, or skips it when failing open.
 */
export class WasmPlugin {
  /** When each worker's handle was last (re)loaded, for FAIL_RELOAD's back-off. */
  private readonly lastLoadMs: number[];

  constructor(
    readonly config: WasmPluginConfig,
    readonly roots: (RootContext | null)[],
    private readonly reload: ((worker: number) => RootContext | null) | null = null,
  ) {
    this.lastLoadMs = roots.map(() => performance.now());
  }

  get failurePolicy(): FailurePolicy {
    return this.config.failurePolicy ?? (this.config.failOpen ? "FAIL_OPEN" : "FAIL_CLOSED");
  }

  /**
   * The filter for a new stream served by `worker` (Envoy's PluginConfig::createContext,
   * source/extensions/common/wasm/wasm.cc): null when the filter is skipped (a failed VM with
   * FAIL_OPEN). With FAIL_RELOAD, a VM that failed at run time is replaced first, once its
   * back-off has passed (maybeReloadHandleIfNeeded).
   */
  createFilter(worker: number): HttpContext | FailedPluginFilter | null {
    const w = worker % this.roots.length;
    let root = this.roots[w]!;
    if (root === null) return this.failurePolicy === "FAIL_OPEN" ? null : new FailedPluginFilter();
    if (root.vm.failState === "runtime_error" && this.failurePolicy === "FAIL_RELOAD" && this.reload) {
      // JitteredLowerBoundBackOffStrategy: at least base_interval, up to half as much again.
      const base = this.config.reloadBaseIntervalMs ?? 1000;
      const interval = base + Math.floor((Math.random() * base) / 2);
      const now = performance.now();
      if (now - this.lastLoadMs[w]! >= interval) {
        this.lastLoadMs[w] = now;
        const fresh = this.reload(w);
        if (fresh) this.roots[w] = root = fresh;
      }
    }
    if (root.vm.failed && this.failurePolicy === "FAIL_OPEN") return null;
    return new HttpContext(root.vm, root);
  }

  /** A stream context on this worker's current root (tests and benchmarks drive it directly). */
  createStreamContext(worker: number): HttpContext {
    const root = this.roots[worker % this.roots.length];
    if (!root) throw new Error(`wasm plugin '${this.config.name}' failed to load`);
    return new HttpContext(root.vm, root);
  }

  vm(worker: number): WasmVm {
    const root = this.roots[worker % this.roots.length];
    if (!root) throw new Error(`wasm plugin '${this.config.name}' failed to load`);
    return root.vm;
  }
}

/** A fail-closed plugin with no VM: every stream gets Envoy's 503 wasm_fail_stream. */
export class FailedPluginFilter {
  private cb: DecoderFilterCallbacks | null = null;
  setDecoderFilterCallbacks(cb: DecoderFilterCallbacks): void {
    this.cb = cb;
  }
  decodeHeaders(): HeadersStatus {
    this.cb?.sendLocalReply(503, "", "wasm_fail_stream", { grpcStatus: 14 });
    return HeadersStatus.StopAllIterationAndWatermark;
  }
}

/** cpp-host's plugin key: root_id, configuration, and Envoy's key of every other plugin field but vm_config. */
function pluginKey(c: WasmPluginConfig): string {
  const rest = JSON.stringify([c.name, c.failurePolicy ?? (c.failOpen ? "FAIL_OPEN" : "FAIL_CLOSED"), c.reloadBaseIntervalMs ?? 1000, c.allowOnHeadersStopIteration]);
  return createHash("sha256").update(c.rootId).update("\0").update(c.configuration).update("\0").update(rest).digest("hex");
}

export class ProxyWasmRuntime implements VmServices {
  readonly sharedData: SharedDataApi;
  readonly queues: SharedQueueApi;
  readonly stats: MetricsStore;
  readonly clock: Clock;
  readonly log: PluginLog;
  readonly logs: LogLine[] = [];
  private readonly vmPools = new Map<string, WasmVm[]>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly modules = new Map<string, WebAssembly.Module>();
  /** Plugins by VM key || plugin key. */
  private readonly plugins = new Map<string, WasmPlugin>();
  private readonly remoteCode = new Map<string, Promise<Uint8Array | null>>();

  constructor(private readonly opts: RuntimeOptions) {
    this.stats = opts.stats;
    this.clock = opts.clock ?? systemClock;
    const level = opts.logLevel ?? LogLevel.Info;
    const sink = (line: LogLine) => {
      this.logs.push(line);
      if (this.logs.length > 10_000) this.logs.splice(0, 5_000);
      if (line.level >= level) opts.onLog?.(line);
    };
    this.log = {
      level,
      plugin: (vm, lvl, message) => {
        const ctx = vm.current ?? null;
        sink({ level: lvl, vmId: vm.vmId, worker: vm.worker, plugin: ctx?.plugin.name ?? "", message });
      },
      error: (message) => sink({ level: LogLevel.Error, vmId: "", worker: -1, plugin: "", message }),
      warn: (message) => sink({ level: LogLevel.Warn, vmId: "", worker: -1, plugin: "", message }),
    };
    const onQueueReady = (vm: WasmVm, contextId: number, token: number) => {
      const ctx = vm.contexts.get(contextId);
      if (ctx && !vm.failed && vm.hasExport("proxy_on_queue_ready")) vm.callAndFinish("proxy_on_queue_ready", ctx, contextId, token);
    };
    this.sharedData = opts.shared?.data ?? new SharedData();
    this.queues = opts.shared ? opts.shared.queues(onQueueReady) : new SharedQueues(onQueueReady);
  }

  get concurrency(): number {
    return this.opts.concurrency;
  }

  hasCluster(name: string): boolean {
    return this.opts.clusters.has(name);
  }

  callout(cluster: string, headers: HeaderMap, body: Uint8Array, timeoutMs: number): { promise: Promise<CalloutResult>; cancel(): void } {
    return this.opts.clusters.callout(cluster, headers, body, timeoutMs);
  }

  grpc(cluster: string, service: string, method: string, metadata: [string, string][], timeoutMs: number, handlers: GrpcCallHandlers, unaryMessage: Uint8Array | null): GrpcStreamHandle {
    const g = this.opts.clusters.grpc;
    if (g) return g(cluster, service, method, metadata, timeoutMs, handlers, unaryMessage);
    let cancelled = false;
    setImmediate(() => {
      if (!cancelled) handlers.onClose(14, "no gRPC client");
    });
    return { send: () => {}, close: () => {}, cancel: () => (cancelled = true) };
  }

  setTickPeriod(root: RootContext, periodMs: number): void {
    if (root.tickTimer) {
      clearInterval(root.tickTimer);
      this.timers.delete(root.tickTimer);
      root.tickTimer = null;
    }
    root.tickPeriodMs = periodMs;
    if (periodMs === 0) return;
    const t = setInterval(() => {
      if (!root.vm.failed && root.vm.hasExport("proxy_on_tick")) root.vm.callAndFinish("proxy_on_tick", root, root.id);
    }, periodMs);
    this.timers.add(t);
    root.tickTimer = t;
  }

  /** proxy_done: only a root context whose on_done returned false is pending. */
  done(ctx: ContextBase): WasmResult {
    void ctx;
    return WasmResult.NotFound;
  }

  private compileBytes(bytes: Uint8Array, source: string): { key: string; module: WebAssembly.Module } {
    const key = createHash("sha256").update(bytes).digest("hex");
    let module = this.modules.get(key);
    if (!module) {
      try {
        checkModule(bytes);
        module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
      } catch (e) {
        throw new PluginLoadError(`${source}: ${(e as Error).message}`);
      }
      this.modules.set(key, module);
    }
    return { key, module };
  }

  /** The module's bytes: a local file, inline bytes, or a remote fetch (null when it failed). */
  private async codeBytes(config: WasmPluginConfig): Promise<Uint8Array | null> {
    const code = config.code ?? { kind: "file", path: config.codeFile };
    if (code.kind === "inline") return code.bytes;
    if (code.kind === "file") {
      try {
        return readFileSync(code.path);
      } catch (e) {
        throw new PluginLoadError(`cannot read Wasm file ${code.path}: ${(e as Error).message}`);
      }
    }
    const fetched = this.opts.remoteCode?.get(code.sha256);
    if (fetched !== undefined) return fetched;
    let fetch = this.remoteCode.get(code.sha256); // Envoy's code cache, keyed by sha256
    if (!fetch) {
      fetch = fetchRemoteCodeLogged(code, (c, h, b, t) => this.callout(c, h, b, t), (e) => this.log.error(e));
      this.remoteCode.set(code.sha256, fetch);
    }
    return fetch;
  }

  /** Envoy's createWasm + start + configure for one plugin, in every worker. */
  async loadPlugin(config: WasmPluginConfig): Promise<WasmPlugin> {
    const bytes = await this.codeBytes(config);
    if (bytes === null) {
      // createWasm's callback with no Wasm: "Plugin <name> failed to load"; the filter stays.
      this.log.error(`Plugin ${config.name} failed to load`);
      return new WasmPlugin(config, Array.from({ length: this.opts.concurrency }, () => null));
    }
    const { key: codeKey, module } = this.compileBytes(bytes, config.codeFile);
    const vmKey = createHash("sha256").update(config.vmId).update("\0").update(config.vmConfiguration).update("\0").update(codeKey).digest("hex");
    const cacheKey = `${vmKey}||${pluginKey(config)}`;
    const cached = this.plugins.get(cacheKey);
    if (cached) return cached;
    let vms = this.vmPools.get(vmKey);
    if (!vms) {
      vms = [];
      const first = this.opts.firstWorker ?? 0;
      for (let w = 0; w < this.opts.concurrency; w++) vms.push(await this.createVm(config, module, first + w));
      this.vmPools.set(vmKey, vms);
    }
    const roots: RootContext[] = [];
    for (const vm of vms) {
      if (vm.failed) throw new PluginLoadError(this.describe(config, `VM failed: ${vm.failMessage}`, vm));
      roots.push(this.startPlugin(config, vm));
    }
    const pool = vms;
    const plugin = new WasmPlugin(config, roots, (worker) => this.reloadRoot(config, module, pool, worker));
    this.plugins.set(cacheKey, plugin);
    return plugin;
  }

  private async createVm(config: WasmPluginConfig, module: WebAssembly.Module, worker: number): Promise<WasmVm> {
    const vm = new WasmVm(config.vmId, worker, config.vmConfiguration, config.environment, this);
    profileVm(vm);
    try {
      await vm.load(module);
    } catch (e) {
      throw new PluginLoadError(this.describe(config, (e as WasmLoadError).message, vm));
    }
    return vm;
  }

  /** WasmBase::start + configure: the plugin's root context in `vm`. */
  private startPlugin(config: WasmPluginConfig, vm: WasmVm): RootContext {
    const root = new RootContext(vm, vm.allocContextId(), config);
    // ContextBase::onStart: on_context_create(root, 0) then on_vm_start.
    vm.call("proxy_on_context_create", root, root.id, 0);
    root.inVmContextCreated = true;
    const started = vm.hasExport("proxy_on_vm_start") ? vm.call("proxy_on_vm_start", root, root.id, config.vmConfiguration.length) : 1;
    vm.finishCall();
    if (!started) {
      vm.fail("start_failed", "proxy_on_vm_start returned false");
      throw new PluginLoadError(this.describe(config, vm.failed && started === null ? vm.failMessage : "proxy_on_vm_start returned false", vm));
    }
    root.tempPluginConfiguration = config.configuration;
    const ok = vm.hasExport("proxy_on_configure") ? vm.call("proxy_on_configure", root, root.id, config.configuration.length) : 1;
    root.tempPluginConfiguration = null;
    vm.finishCall();
    if (!ok) {
      const why = ok === null ? vm.failMessage : "proxy_on_configure returned false";
      vm.fail("configure_failed", why);
      throw new PluginLoadError(this.describe(config, why, vm));
    }
    return root;
  }

  /**
   * FAIL_RELOAD: getOrCreateThreadLocalPlugin again. A worker VM that failed at run time is
   * dropped from the thread-local cache and cloned anew from the base (cpp-host
   * getOrCreateThreadLocalWasm); the plugin is started and configured in it. Null when that fails.
   */
  private reloadRoot(config: WasmPluginConfig, module: WebAssembly.Module, pool: WasmVm[], worker: number): RootContext | null {
    let vm = pool[worker]!;
    if (vm.failState === "runtime_error") {
      vm = new WasmVm(config.vmId, vm.worker, config.vmConfiguration, config.environment, this);
      try {
        vm.loadSync(module);
      } catch (e) {
        this.log.error(`wasm reload of '${config.name}' failed: ${(e as Error).message}`);
        return null;
      }
      pool[worker] = vm;
    }
    try {
      return this.startPlugin(config, vm);
    } catch (e) {
      this.log.error(`wasm reload of '${config.name}' failed: ${(e as Error).message}`);
      return null;
    }
  }

  /** A load failure with the plugin's own log lines, which name the bad field. */
  private describe(config: WasmPluginConfig, why: string, vm: WasmVm): string {
    const lines = this.logs
      .filter((l) => l.vmId === vm.vmId && l.worker === vm.worker && l.level >= LogLevel.Warn)
      .map((l) => `  [${LOG_LEVEL_NAMES[l.level] ?? l.level}] ${l.message}`);
    return `wasm plugin '${config.name}' (root_id '${config.rootId}', ${config.codeFile}): ${why}${lines.length ? `\n${lines.join("\n")}` : ""}`;
  }

  close(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.clear();
  }
}
