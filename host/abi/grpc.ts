// proxy_grpc_call / proxy_grpc_stream / proxy_grpc_send / proxy_grpc_close / proxy_grpc_cancel:
// marshalling only (proxy-wasm-cpp-host src/exports.cc); the semantics are in
// host/proxy/grpc-call.ts. The calls are made on behalf of the root context, as exports.cc does,
// so the callbacks arrive there. The `upstream` argument is a cluster name (Envoy also accepts a
// serialized GrpcService proto; a string that is neither a proto nor a cluster is PARSE_FAILURE).
import { WasmResult } from "./enums.ts";
import { decodePairs } from "./pairs.ts";
import type { HostFns } from "./host-fn.ts";
import type { WasmVm } from "../proxy/wasm-vm.ts";
import { grpcCancel, grpcClose, grpcSend, startGrpcCallout } from "../proxy/grpc-call.ts";

export function grpcFunctions(vm: WasmVm): HostFns {
  const m = vm.memory;
  const start = (upPtr: number, upLen: number, svcPtr: number, svcLen: number, mPtr: number, mLen: number, mdPtr: number, mdLen: number, message: Uint8Array | null, timeoutMs: number, tokenPtr: number): number => {
    const cluster = m.readString(upPtr, upLen);
    const service = m.readString(svcPtr, svcLen);
    const method = m.readString(mPtr, mLen);
    const md = m.read(mdPtr, mdLen);
    if (cluster === null || service === null || method === null || md === null) return WasmResult.InvalidMemoryAccess;
    if (!m.writeU32(tokenPtr, 0)) return WasmResult.InvalidMemoryAccess;
    const r = startGrpcCallout(vm.context().root, cluster, service, method, decodePairs(md), message, timeoutMs >>> 0);
    if (typeof r === "number") return r;
    m.writeU32(tokenPtr, r.token);
    return WasmResult.Ok;
  };
  return {
    proxy_grpc_call(upPtr: number, upLen: number, svcPtr: number, svcLen: number, mPtr: number, mLen: number, mdPtr: number, mdLen: number, msgPtr: number, msgLen: number, timeoutMs: number, tokenPtr: number): number {
      const msg = m.read(msgPtr, msgLen);
      if (msg === null) return WasmResult.InvalidMemoryAccess;
      return start(upPtr, upLen, svcPtr, svcLen, mPtr, mLen, mdPtr, mdLen, msg.slice(), timeoutMs, tokenPtr);
    },
    proxy_grpc_stream(upPtr: number, upLen: number, svcPtr: number, svcLen: number, mPtr: number, mLen: number, mdPtr: number, mdLen: number, tokenPtr: number): number {
      return start(upPtr, upLen, svcPtr, svcLen, mPtr, mLen, mdPtr, mdLen, null, 0, tokenPtr);
    },
    proxy_grpc_send(token: number, msgPtr: number, msgLen: number, endStream: number): number {
      const msg = m.read(msgPtr, msgLen);
      if (msg === null) return WasmResult.InvalidMemoryAccess;
      return grpcSend(vm.context().root, token >>> 0, msg.slice(), endStream !== 0);
    },
    proxy_grpc_close: (token: number) => grpcClose(vm.context().root, token >>> 0),
    proxy_grpc_cancel: (token: number) => grpcCancel(vm.context().root, token >>> 0),
  };
}
