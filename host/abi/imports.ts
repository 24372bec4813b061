// Assembles the import object: every ABI area's functions under the names Envoy registers,
// each guarded by the start-phase restriction. Only names in the signature table are offered.
import { HOST_IMPORTS } from "./signatures.ts";
import type { HostFn, HostFns } from "./host-fn.ts";
import type { WasmVm } from "../proxy/wasm-vm.ts";
import { logFunctions } from "./log.ts";
import { headerFunctions } from "./headers.ts";
import { bufferFunctions } from "./buffers.ts";
import { streamFunctions } from "./stream.ts";
import { propertyFunctions } from "./properties.ts";
import { httpCallFunctions } from "./http-call.ts";
import { grpcFunctions } from "./grpc.ts";
import { sharedFunctions } from "./shared.ts";
import { metricFunctions } from "./metrics.ts";
import { contextFunctions } from "./context-calls.ts";
import { wasiFunctions } from "./wasi.ts";

export function buildImports(vm: WasmVm): WebAssembly.Imports {
  const areas = [logFunctions, headerFunctions, bufferFunctions, streamFunctions, propertyFunctions, httpCallFunctions, grpcFunctions, sharedFunctions, metricFunctions, contextFunctions];
  const env: HostFns = Object.assign({}, ...areas.map((f) => f(vm)), {
    pthread_equal: (a: number, b: number) => (a === b ? 1 : 0),
    emscripten_notify_memory_growth: () => undefined,
  });
  const wasi = wasiFunctions(vm);
  const out: Record<string, Record<string, HostFn>> = { env: {}, wasi_snapshot_preview1: {}, wasi_unstable: {} };
  for (const key of HOST_IMPORTS.keys()) {
    const dot = key.indexOf(".");
    const module = key.slice(0, dot);
    const name = key.slice(dot + 1);
    const impl = module === "env" ? env[name] : wasi[name];
    if (!impl) throw new Error(`host function ${key} has no implementation`);
    out[module]![name] = guarded(vm, key, impl, HOST_IMPORTS.get(key)!.params.length);
  }
  return out as unknown as WebAssembly.Imports;
}

type Fn = (...args: number[]) => number | void;

/**
 * `impl` behind the start-phase check, with the import's own arity: a fixed parameter list
 * keeps rest/spread and its arguments array off the path of every host call.
 */
function guarded(vm: WasmVm, key: string, hostFn: HostFn, arity: number): HostFn {
  const impl = hostFn as unknown as Fn;
  const g = (f: Fn): HostFn => f as unknown as HostFn;
  switch (arity) {
    case 0:
      return g(() => (vm.checkAllowed(key), impl()));
    case 1:
      return g((a: number) => (vm.checkAllowed(key), impl(a)));
    case 2:
      return g((a: number, b: number) => (vm.checkAllowed(key), impl(a, b)));
    case 3:
      return g((a: number, b: number, c: number) => (vm.checkAllowed(key), impl(a, b, c)));
    case 4:
      return g((a: number, b: number, c: number, d: number) => (vm.checkAllowed(key), impl(a, b, c, d)));
    case 5:
      return g((a: number, b: number, c: number, d: number, e: number) => (vm.checkAllowed(key), impl(a, b, c, d, e)));
    default:
      return g((...args: number[]) => (vm.checkAllowed(key), impl(...args)));
  }
}
