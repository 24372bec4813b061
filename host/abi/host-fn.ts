// Shared shape of the ABI-area modules: each returns its host functions by import name.
import type { WasmVm } from "../proxy/wasm-vm.ts";

export type HostFn = (...args: never[]) => number | void;
export type HostFns = Record<string, HostFn>;
export type AreaFactory = (vm: WasmVm) => HostFns;

export function utf8(vm: WasmVm, ptr: number, len: number): string | null {
  return vm.memory.readString(ptr, len);
}
