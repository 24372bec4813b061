// One instance of a module in one worker (proxy-wasm-cpp-host's WasmBase + WasmVm): loading
// with Envoy's link checks, the restricted start phase, calls into the module with the
// current/effective context, deferred after-call actions, and the failed state after a trap.

import { parseModule, formatValTypes, WasmParseError, type ModuleInfo } from "../abi/wasm-binary.ts";
import { ABI_MARKERS, HOST_IMPORTS, MODULE_FUNCTION_TYPES, START_ALLOWED, sameType } from "../abi/signatures.ts";
import { GuestMemory } from "../abi/memory.ts";
import { buildImports } from "../abi/imports.ts";
import { MetricType } from "../abi/enums.ts";
import type { ContextBase } from "./context.ts";
import type { MetricHandle, VmServices } from "./vm-services.ts";

export class WasmLoadError extends Error {}

/** Thrown by a host function to trap the calling module (e.g. a restricted call during start). */
export class HostTrap extends Error {}

export type FailState = "ok" | "unable_to_initialize_code" | "missing_function" | "start_failed" | "configure_failed" | "runtime_error";

type Exported = (...args: number[]) => number | undefined;

/** Envoy's link step: the ABI marker, every import provided with its exact type, malloc. */
export function checkModule(bytes: Uint8Array): ModuleInfo {
  let info: ModuleInfo;
  try {
    info = parseModule(bytes);
  } catch (e) {
    throw new WasmLoadError(`Failed to parse corrupted Wasm module: ${(e as WasmParseError).message}`);
  }
  const exportNames = new Set(info.exports.map((e) => e.name));
  const marker = ABI_MARKERS.find((m) => exportNames.has(m));
  if (!marker) throw new WasmLoadError("Missing or unknown Proxy-Wasm ABI version");
  if (marker !== "proxy_abi_version_0_2_1") {
    throw new WasmLoadError(`Proxy-Wasm ABI version ${marker.slice(18).replaceAll("_", ".")} is not supported by the local gateway (build for 0.2.1)`);
  }
  for (const imp of info.imports) {
    const key = `${imp.module}.${imp.name}`;
    if (imp.kind !== "func") {
      if (imp.kind === "memory") continue;
      throw new WasmLoadError(`Failed to load Wasm module due to a missing import: ${key}`);
    }
    const want = HOST_IMPORTS.get(key);
    if (!want) throw new WasmLoadError(`Failed to load Wasm module due to a missing import: ${key}`);
    if (!imp.type || !sameType(imp.type, want)) {
      const got = imp.type ?? { params: [], results: [] };
      throw new WasmLoadError(
        `Failed to load Wasm module due to an import type mismatch: ${key}, want: ${formatValTypes(got.params)} -> ${formatValTypes(got.results)}, but host exports: ${formatValTypes(want.params)} -> ${formatValTypes(want.results)}`,
      );
    }
  }
  for (const exp of info.exports) {
    const want = MODULE_FUNCTION_TYPES.get(exp.name);
    if (exp.kind === "func" && want && exp.type && !sameType(exp.type, want)) {
      throw new WasmLoadError(`Bad function signature for: ${exp.name}`);
    }
  }
  if (!exportNames.has("malloc") && !exportNames.has("proxy_on_memory_allocate")) {
    throw new WasmLoadError("Wasm module is missing malloc function.");
  }
  if (!exportNames.has("memory")) throw new WasmLoadError("Wasm module is missing memory export.");
  return info;
}

export class WasmVm {
  readonly contexts = new Map<number, ContextBase>();
  private nextContextId = 1;
  failState: FailState = "ok";
  failMessage = "";
  readonly memory = new GuestMemory();
  private exports!: Record<string, Exported>;
  private restricted = false;
  /** The context of the running module call, and the one set_effective_context chose. */
  current: ContextBase | null = null;
  effectiveId = 0;
  private readonly afterCallActions: (() => void)[] = [];
  private nextIterationStopped = false;
  private depth = 0;
  // Metric ids: low 2 bits encode the type (Envoy's Wasm::nextCounterMetricId etc.).
  private nextMetricIds = [4, 5, 6];
  /** Metrics by id (ids are small and dense: an array lookup, not a hash, on every increment). */
  readonly metrics: ({ type: MetricType; name: string; stat: MetricHandle } | undefined)[] = [];
  private nextHttpCallToken = 0;
  private nextGrpcCallToken = 1;
  private nextGrpcStreamToken = 2;
  /** Benchmarks set this to add up the time spent inside top-level module calls. */
  profile = false;
  profileNs = 0n;
  /** Timed top-level calls since profileNs was reset: each carries one clock read's overhead. */
  profileCalls = 0;
  /** When set (AIGW_WASM_PROFILE), the timed calls are also added up per export. */
  profileByExport: Map<string, { ns: bigint; calls: number }> | null = null;

  constructor(
    readonly vmId: string,
    readonly worker: number,
    readonly vmConfiguration: Uint8Array,
    readonly env: Record<string, string>,
    readonly services: VmServices,
  ) {}

  get failed(): boolean {
    return this.failState !== "ok";
  }

  fail(state: FailState, message: string): void {
    if (this.failState === "ok") this.failState = state;
    this.failMessage = message;
    this.services.log.error(`wasm vm ${this.vmId} (worker ${this.worker}) failed: ${message}`);
  }

  /** Compile, link and run the start function under Envoy's restrictions. */
  async load(module: WebAssembly.Module): Promise<void> {
    this.loadSync(module);
  }

  /** `load` without waiting: a FAIL_RELOAD reload happens as a stream starts. */
  loadSync(module: WebAssembly.Module): void {
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(module, buildImports(this));
    } catch (e) {
      throw new WasmLoadError(`Failed to create new Wasm instance: ${(e as Error).message}`);
    }
    this.exports = instance.exports as unknown as Record<string, Exported>;
    const malloc = this.exports.malloc ?? this.exports.proxy_on_memory_allocate;
    const mem = instance.exports.memory;
    if (!malloc || !(mem instanceof WebAssembly.Memory)) throw new WasmLoadError("Wasm module is missing malloc function.");
    this.memory.bind(mem, (n) => {
      const p = malloc(n);
      return p === undefined ? 0 : p >>> 0;
    });
    // WasmBase::startVm: only logging, args/environ, clocks and random are callable here.
    this.restricted = true;
    try {
      if (this.exports._initialize) {
        this.exports._initialize();
        this.exports.main?.(0, 0);
      } else {
        this.exports._start?.();
      }
    } catch (e) {
      this.fail("start_failed", `Function: _start failed: ${(e as Error).message}`);
      throw new WasmLoadError(`Plugin start failed: ${(e as Error).message}`);
    } finally {
      this.restricted = false;
    }
  }

  hasExport(name: string): boolean {
    return typeof this.exports[name] === "function";
  }

  /** A host function may run now, or the module must trap (V8's restricted_callback). */
  checkAllowed(importKey: string): void {
    if (this.restricted && !START_ALLOWED.has(importKey)) throw new HostTrap("restricted_callback");
  }

  allocContextId(): number {
    while (this.contexts.has(this.nextContextId)) this.nextContextId++;
    return this.nextContextId++;
  }

  /** contextOrEffectiveContext(): the effective context if set and alive, else the current one. */
  context(): ContextBase {
    if (this.effectiveId !== 0) {
      const c = this.contexts.get(this.effectiveId);
      if (c) return c;
    }
    if (!this.current) throw new HostTrap("host call outside of a module call");
    return this.current;
  }

  addAfterVmCallAction(f: () => void): void {
    this.afterCallActions.push(f);
  }
  stopNextIteration(v: boolean): void {
    this.nextIterationStopped = v;
  }
  isNextIterationStopped(): boolean {
    return this.nextIterationStopped;
  }

  /**
   * Calls an export on behalf of `ctx` (SaveRestoreContext). Returns the u32 result, or null when
   * the export is absent or the call trapped (the VM is then failed). Does not run after-call
   * actions: callers do that with `finishCall` once they have converted the result, as
   * cpp-host's DeferAfterCallActions destructor does.
   */
  call(name: string, ctx: ContextBase | null, a?: number, b?: number, c?: number, d?: number, e?: number): number | null {
    const f = this.exports[name];
    if (!f || this.failed) return null;
    const savedCurrent = this.current;
    const savedEffective = this.effectiveId;
    this.current = ctx;
    this.effectiveId = 0;
    this.depth++;
    const t0 = this.profile && this.depth === 1 ? process.hrtime.bigint() : 0n;
    try {
      // Fixed arguments, not a rest array and a spread on every call into the module. No
      // proxy_on_* export takes more than five; a missing one reaches the module as 0 (ToInt32).
      const r = f(a!, b!, c!, d!, e!);
      return r === undefined ? 0 : r >>> 0;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.fail("runtime_error", `Function: ${name} failed: ${msg}`);
      return null;
    } finally {
      if (t0 !== 0n) this.addProfile(name, process.hrtime.bigint() - t0);
      this.depth--;
      this.current = savedCurrent;
      this.effectiveId = savedEffective;
    }
  }

  private addProfile(name: string, ns: bigint): void {
    this.profileNs += ns;
    this.profileCalls++;
    if (!this.profileByExport) return;
    const e = this.profileByExport.get(name);
    if (e) (e.ns += ns), e.calls++;
    else this.profileByExport.set(name, { ns, calls: 1 });
  }

  /** DeferAfterCallActions: clear the stop flag, then run queued actions in order. */
  finishCall(): void {
    if (this.depth > 0) return; // still inside an outer module call
    this.nextIterationStopped = false;
    while (this.afterCallActions.length > 0) this.afterCallActions.shift()!();
  }

  /** call + finishCall, for callbacks whose result needs no conversion. */
  callAndFinish(name: string, ctx: ContextBase | null, a?: number, b?: number, c?: number, d?: number, e?: number): number | null {
    const r = this.call(name, ctx, a, b, c, d, e);
    this.finishCall();
    return r;
  }

  nextMetricId(type: MetricType): number {
    const id = this.nextMetricIds[type]!;
    this.nextMetricIds[type] = id + 4;
    return id;
  }

  /** Envoy's nextHttpCallId: 4, 8, 12, … (low bits 0 = HTTP call). */
  nextHttpCallId(): number {
    this.nextHttpCallToken += 4;
    return this.nextHttpCallToken >>> 0;
  }

  /** nextGrpcCallId: 5, 9, 13, … (low bits 01); nextGrpcStreamId: 6, 10, … (low bits 10). */
  nextGrpcCallId(): number {
    this.nextGrpcCallToken += 4;
    return this.nextGrpcCallToken >>> 0;
  }
  nextGrpcStreamId(): number {
    this.nextGrpcStreamToken += 4;
    return this.nextGrpcStreamToken >>> 0;
  }
}
