// Stream control: continue, close, local replies. The proxy semantics (deferral, dropping the
// held headers) live in the context; send_local_response also forces the callback to Stop.
import { WasmResult } from "./enums.ts";
import { decodePairs } from "./pairs.ts";
import type { HostFns } from "./host-fn.ts";
import type { WasmVm } from "../proxy/wasm-vm.ts";

export function streamFunctions(vm: WasmVm): HostFns {
  const m = vm.memory;
  return {
    proxy_continue_stream(type: number): number {
      return vm.context().continueStream(type >>> 0);
    },
    proxy_close_stream(type: number): number {
      return vm.context().closeStream(type >>> 0);
    },
    proxy_send_local_response(
      code: number,
      detailsPtr: number,
      detailsLen: number,
      bodyPtr: number,
      bodyLen: number,
      hdrsPtr: number,
      hdrsLen: number,
      grpcStatus: number,
    ): number {
      const details = m.readString(detailsPtr, detailsLen);
      const body = m.read(bodyPtr, bodyLen);
      const hdrs = m.read(hdrsPtr, hdrsLen);
      if (details === null || body === null || hdrs === null) return WasmResult.InvalidMemoryAccess;
      vm.context().sendLocalResponse(code >>> 0, body, decodePairs(hdrs), grpcStatus >>> 0, details);
      vm.stopNextIteration(true);
      return WasmResult.Ok;
    },
  };
}
