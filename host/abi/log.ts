// proxy_log, proxy_get_log_level, proxy_get_current_time_nanoseconds, proxy_get_status.
import { WasmResult } from "./enums.ts";
import type { HostFns } from "./host-fn.ts";
import type { WasmVm } from "../proxy/wasm-vm.ts";

export function logFunctions(vm: WasmVm): HostFns {
  return {
    proxy_log(level: number, ptr: number, size: number): number {
      if (level >>> 0 > 5) return WasmResult.BadArgument;
      const msg = vm.memory.readString(ptr, size);
      if (msg === null) return WasmResult.InvalidMemoryAccess;
      vm.services.log.plugin(vm, level, msg);
      return WasmResult.Ok;
    },
    proxy_get_log_level(retPtr: number): number {
      return vm.memory.writeU32(retPtr, vm.services.log.level) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_get_current_time_nanoseconds(retPtr: number): number {
      return vm.memory.writeU64(retPtr, vm.services.clock.realtimeNs()) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_get_status(codePtr: number, msgPtrPtr: number, msgSizePtr: number): number {
      const { code, message } = vm.context().root.status;
      if (!vm.memory.writeU32(codePtr, code)) return WasmResult.InvalidMemoryAccess;
      return vm.memory.copyOut(Buffer.from(message), msgPtrPtr, msgSizePtr) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
  };
}
