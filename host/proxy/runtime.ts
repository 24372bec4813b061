// The process-wide proxy-wasm runtime of one gateway: VMs per worker (shared by plugins with
// the same vm_id, VM configuration and code, as in Envoy), plugins with a root context in every
// worker's VM, and the services VMs share (stats, shared data, queues, clusters, log).

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { WasmResult, LogLevel, LOG_LEVEL_NAMES } from "../abi/enums.ts";
import type { WasmPluginConfig } from "../envoy/bootstrap-types.ts";
import type { HeaderMap } from "../http/header-map.ts";
import { RootContext, type ContextBase } from "./context.ts";
import { HttpContext } from "./http-context.ts";
import { SharedData } from "./shared-data.ts";
import { SharedQueues } from "./shared-queue.ts";
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
  /** Envoy's log level for proxy_get_log_level and for what reaches `onLog` (default info). */
  logLevel?: number;
  onLog?: (line: LogLine) => void;
}

export class PluginLoadError extends Error {}

/** One `envoy.filters.http.wasm` entry: its root context in each worker's VM. */
export class WasmPlugin {
  constructor(
    readonly config: WasmPluginConfig,
    readonly roots: RootContext[],
  ) {}

  /** A new stream context for a stream served by `worker`. */
  createStreamContext(worker: number): HttpContext {
    const root = this.roots[worker % this.roots.length]!;
    return new HttpContext(root.vm, root);
  }

  vm(worker: number): WasmVm {
    return this.roots[worker % this.roots.length]!.vm;
  }
}

export class ProxyWasmRuntime implements VmServices {
  readonly sharedData = new SharedData();
  readonly queues: SharedQueues;
  readonly stats: MetricsStore;
  readonly clock: Clock;
  readonly log: PluginLog;
  readonly logs: LogLine[] = [];
  private readonly vmPools = new Map<string, WasmVm[]>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly modules = new Map<string, WebAssembly.Module>();

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
    };
    this.queues = new SharedQueues((vm, contextId, token) => {
      const ctx = vm.contexts.get(contextId);
      if (ctx && !vm.failed && vm.hasExport("proxy_on_queue_ready")) vm.callAndFinish("proxy_on_queue_ready", ctx, contextId, token);
    });
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

  private async compile(file: string): Promise<{ key: string; module: WebAssembly.Module; bytes: Buffer }> {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw new PluginLoadError(`cannot read Wasm file ${file}: ${(e as Error).message}`);
    }
    const key = createHash("sha256").update(bytes).digest("hex");
    let module = this.modules.get(key);
    if (!module) {
      try {
        checkModule(bytes);
        module = await WebAssembly.compile(new Uint8Array(bytes));
      } catch (e) {
        throw new PluginLoadError(`${file}: ${(e as Error).message}`);
      }
      this.modules.set(key, module);
    }
    return { key, module, bytes };
  }

  /** Envoy's createWasm + start + configure for one plugin, in every worker. */
  async loadPlugin(config: WasmPluginConfig): Promise<WasmPlugin> {
    const { key: codeKey, module } = await this.compile(config.codeFile);
    const vmKey = createHash("sha256").update(config.vmId).update("\0").update(config.vmConfiguration).update("\0").update(codeKey).digest("hex");
    let vms = this.vmPools.get(vmKey);
    if (!vms) {
      vms = [];
      for (let w = 0; w < this.opts.concurrency; w++) {
        const vm = new WasmVm(config.vmId, w, config.vmConfiguration, config.environment, this);
        try {
          await vm.load(module);
        } catch (e) {
          throw new PluginLoadError(this.describe(config, (e as WasmLoadError).message, vm));
        }
        vms.push(vm);
      }
      this.vmPools.set(vmKey, vms);
    }
    const roots: RootContext[] = [];
    for (const vm of vms) {
      if (vm.failed) throw new PluginLoadError(this.describe(config, `VM failed: ${vm.failMessage}`, vm));
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
      roots.push(root);
    }
    return new WasmPlugin(config, roots);
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
