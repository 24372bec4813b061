// gRPC calls. The local gateway has no gRPC client: an unknown cluster answers PARSE_FAILURE as
// in Envoy; a known one answers INTERNAL_FAILURE (Envoy would start the call). Documented in
// the README as a host difference; no filter of this project uses gRPC callouts.
import { WasmResult } from "./enums.ts";
import type { HostFns } from "./host-fn.ts";
import type { WasmVm } from "../proxy/wasm-vm.ts";

export function grpcFunctions(vm: WasmVm): HostFns {
  const start = (svcPtr: number, svcLen: number): number => {
    const svc = vm.memory.readString(svcPtr, svcLen);
    if (svc === null) return WasmResult.InvalidMemoryAccess;
    return vm.services.hasCluster(svc) ? WasmResult.InternalFailure : WasmResult.ParseFailure;
  };
  // Token ids ending in 01/10 are gRPC call/stream ids; none exist here.
  const byToken = (token: number): number => ((token & 3) === 1 || (token & 3) === 2 ? WasmResult.NotFound : WasmResult.BadArgument);
  return {
    proxy_grpc_call: (svcPtr: number, svcLen: number) => start(svcPtr, svcLen),
    proxy_grpc_stream: (svcPtr: number, svcLen: number) => start(svcPtr, svcLen),
    proxy_grpc_send: (token: number) => ((token & 3) === 2 ? WasmResult.NotFound : WasmResult.BadArgument),
    proxy_grpc_close: (token: number) => byToken(token),
    proxy_grpc_cancel: (token: number) => byToken(token),
  };
}
