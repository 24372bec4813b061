// proxy_grpc_call and proxy_grpc_cancel (unary calls). The call belongs to the root context:
// the answer arrives in proxy_on_grpc_receive (success) or proxy_on_grpc_close (failure, the
// status message through proxy_get_status) with the root id; see lib/runtime/grpc-call.ts.

import { proxy_grpc_call, proxy_grpc_cancel } from "./imports";
import { WasmResult } from "./enums";
import { RET_SIZE } from "./memory";
import { HeaderPair, serializePairs } from "./pairs";
import { setLastStatus } from "./status";

/**
 * Starts a unary call of `service`/`method` on an Envoy cluster with a serialized protobuf
 * message. timeoutMs 0 means none. Returns the token (>= 0) or the negated WasmResult
 * (PARSE_FAILURE for an unknown cluster).
 */
export function grpcCall(cluster: string, service: string, method: string, metadata: HeaderPair[], message: ArrayBuffer, timeoutMs: u32): i64 {
  const c = String.UTF8.encode(cluster);
  const s = String.UTF8.encode(service);
  const m = String.UTF8.encode(method);
  const md = serializePairs(metadata);
  store<u32>(RET_SIZE, 0);
  const r = proxy_grpc_call(
    changetype<usize>(c), c.byteLength,
    changetype<usize>(s), s.byteLength,
    changetype<usize>(m), m.byteLength,
    changetype<usize>(md), md.byteLength,
    changetype<usize>(message), message.byteLength,
    timeoutMs,
    RET_SIZE,
  );
  setLastStatus(r);
  return r == WasmResult.Ok ? <i64>load<u32>(RET_SIZE) : -(<i64>r);
}

/** Cancels a call; no callback follows. Returns the host status. */
export function grpcCancel(token: u32): i32 {
  return proxy_grpc_cancel(token);
}
