// The gRPC callback entry points, for filters that make gRPC calls:
//   export * from "../../lib/runtime/grpc-exports";
// Envoy skips a callback the module does not export, so filters without gRPC leave them out.

import { onGrpcClose, onGrpcReceive } from "./grpc-call";
import { beginCallback, endCallback } from "./collect";

export function proxy_on_grpc_receive(rootId: u32, token: u32, size: u32): void {
  beginCallback(null);
  onGrpcReceive(token, size);
  endCallback();
}

export function proxy_on_grpc_close(rootId: u32, token: u32, status: u32): void {
  beginCallback(null);
  onGrpcClose(token, status);
  endCallback();
}

