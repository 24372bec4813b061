// Context-level calls: effective context, proxy_done, ticks, foreign functions.
import { WasmResult } from "./enums.ts";
import type { HostFns } from "./host-fn.ts";
import type { WasmVm } from "../proxy/wasm-vm.ts";
import { callForeignFunction } from "../proxy/foreign.ts";

export function contextFunctions(vm: WasmVm): HostFns {
  const m = vm.memory;
  return {
    proxy_set_effective_context(id: number): number {
      id >>>= 0;
      if (!vm.contexts.has(id)) return WasmResult.BadArgument;
      vm.effectiveId = id;
      return WasmResult.Ok;
    },
    proxy_done(): number {
      return vm.services.done(vm.context());
    },
    proxy_set_tick_period_milliseconds(period: number): number {
      vm.services.setTickPeriod(vm.context().root, period >>> 0);
      return WasmResult.Ok;
    },
    proxy_call_foreign_function(nPtr: number, nLen: number, aPtr: number, aLen: number, rPtrPtr: number, rLenPtr: number): number {
      const name = m.readString(nPtr, nLen);
      const args = m.read(aPtr, aLen);
      if (name === null || args === null) return WasmResult.InvalidMemoryAccess;
      const r = callForeignFunction(vm.context(), name, args);
      if (typeof r === "number") return r;
      return m.copyOut(r, rPtrPtr, rLenPtr) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
  };
}
