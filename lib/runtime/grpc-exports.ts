// The gRPC callback entry points, for filters that make gRPC calls:
//   export * from "../../lib/runtime/grpc-exports";
// Envoy skips a callback the module does not export, so filters without gRPC leave them out.

import { onGrpcClose, onGrpcReceive } from "./grpc-call";
import { setCurrentContext } from "./state";

export function proxy_on_grpc_receive(rootId: u32, token: u32, size: u32): void {
  onGrpcReceive(token, size);
  setCurrentContext(null);
}

export function proxy_on_grpc_close(rootId: u32, token: u32, status: u32): void {
  onGrpcClose(token, status);
  setCurrentContext(null);
}

