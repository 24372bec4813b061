// proxy_http_call: always made on behalf of the root context (cpp-host exports.cc), so the
// response arrives there and a stream must be resumed with set_effective_context.
import { WasmResult } from "./enums.ts";
import { decodePairs } from "./pairs.ts";
import type { HostFns } from "./host-fn.ts";
import type { WasmVm } from "../proxy/wasm-vm.ts";
import { dispatchHttpCall } from "../proxy/http-call.ts";

export function httpCallFunctions(vm: WasmVm): HostFns {
  const m = vm.memory;
  return {
    proxy_http_call(
      upPtr: number,
      upLen: number,
      hPtr: number,
      hLen: number,
      bPtr: number,
      bLen: number,
      tPtr: number,
      tLen: number,
      timeoutMs: number,
      tokenPtr: number,
    ): number {
      const upstream = m.readString(upPtr, upLen);
      const headers = m.read(hPtr, hLen);
      const body = m.read(bPtr, bLen);
      const trailers = m.read(tPtr, tLen);
      if (upstream === null || headers === null || body === null || trailers === null) return WasmResult.InvalidMemoryAccess;
      // Verify the token memory before starting anything asynchronous.
      if (!m.writeU32(tokenPtr, 0)) return WasmResult.InvalidMemoryAccess;
      const r = dispatchHttpCall(vm.context().root, upstream, decodePairs(headers), body, decodePairs(trailers), timeoutMs | 0);
      if (typeof r === "number") return r;
      m.writeU32(tokenPtr, r.token);
      return WasmResult.Ok;
    },
  };
}
