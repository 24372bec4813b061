// Shared data and shared queues: process-wide, keyed by vm_id (cpp-host shared_data.cc,
// shared_queue.cc).
import { WasmResult } from "./enums.ts";
import type { HostFns } from "./host-fn.ts";
import type { WasmVm } from "../proxy/wasm-vm.ts";

export function sharedFunctions(vm: WasmVm): HostFns {
  const m = vm.memory;
  const { sharedData, queues } = vm.services;
  return {
    proxy_get_shared_data(kPtr: number, kLen: number, vPtrPtr: number, vLenPtr: number, casPtr: number): number {
      const key = m.readKey(kPtr, kLen);
      if (key === null) return WasmResult.InvalidMemoryAccess;
      const e = sharedData.get(vm.vmId, key);
      if (!e) return WasmResult.NotFound;
      if (!m.copyOut(e.value, vPtrPtr, vLenPtr)) return WasmResult.InvalidMemoryAccess;
      return m.writeU32(casPtr, e.cas) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_set_shared_data(kPtr: number, kLen: number, vPtr: number, vLen: number, cas: number): number {
      const key = m.readKey(kPtr, kLen);
      const value = m.read(vPtr, vLen);
      if (key === null || value === null) return WasmResult.InvalidMemoryAccess;
      return sharedData.set(vm.vmId, key, value, cas >>> 0);
    },
    proxy_register_shared_queue(nPtr: number, nLen: number, idPtr: number): number {
      const name = m.readString(nPtr, nLen);
      if (name === null) return WasmResult.InvalidMemoryAccess;
      const ctx = vm.context();
      // on_queue_ready goes to the root context, even when a stream registers.
      const token = queues.register(vm.vmId, name, vm, ctx.isRoot ? ctx.id : ctx.parentId);
      return m.writeU32(idPtr, token) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_resolve_shared_queue(vmPtr: number, vmLen: number, nPtr: number, nLen: number, idPtr: number): number {
      const vmId = m.readString(vmPtr, vmLen);
      const name = m.readString(nPtr, nLen);
      if (vmId === null || name === null) return WasmResult.InvalidMemoryAccess;
      const token = queues.resolve(vmId === "" ? vm.vmId : vmId, name);
      if (token === 0 || vm.failed) return WasmResult.NotFound;
      return m.writeU32(idPtr, token) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_dequeue_shared_queue(token: number, vPtrPtr: number, vLenPtr: number): number {
      const r = queues.dequeue(token >>> 0);
      if (typeof r === "number") return r;
      return m.copyOut(r, vPtrPtr, vLenPtr) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_enqueue_shared_queue(token: number, vPtr: number, vLen: number): number {
      const value = m.read(vPtr, vLen);
      if (value === null) return WasmResult.InvalidMemoryAccess;
      return queues.enqueue(token >>> 0, value);
    },
  };
}
