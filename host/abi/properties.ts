// proxy_get_property / proxy_set_property: paths are segments joined by NUL.
import { WasmResult } from "./enums.ts";
import type { HostFns } from "./host-fn.ts";
import type { WasmVm } from "../proxy/wasm-vm.ts";
import { resolveProperty } from "../proxy/properties.ts";

export function propertyFunctions(vm: WasmVm): HostFns {
  const m = vm.memory;
  return {
    proxy_get_property(pathPtr: number, pathLen: number, vPtrPtr: number, vLenPtr: number): number {
      const path = m.readString(pathPtr, pathLen);
      if (path === null) return WasmResult.InvalidMemoryAccess;
      const v = resolveProperty(vm.context(), path.split("\0"));
      if (typeof v === "number") return v;
      return m.copyOut(v, vPtrPtr, vLenPtr) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_set_property(pathPtr: number, pathLen: number, vPtr: number, vLen: number): number {
      const path = m.readString(pathPtr, pathLen);
      const value = m.read(vPtr, vLen);
      if (path === null || value === null) return WasmResult.InvalidMemoryAccess;
      return vm.context().setProperty(path, value);
    },
  };
}
