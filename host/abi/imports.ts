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
    out[module]![name] = ((...args: never[]) => {
      vm.checkAllowed(key);
      return impl(...args);
    }) as HostFn;
  }
  return out as unknown as WebAssembly.Imports;
}
