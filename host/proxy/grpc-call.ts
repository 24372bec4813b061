// Envoy's gRPC callouts for a plugin: Context::grpcCall/grpcStream/grpcSend/grpcClose/grpcCancel
// and the handlers' callbacks (source/extensions/common/wasm/context.cc), delivered to the root
// context as proxy-wasm-cpp-host does (src/exports.cc makes the call on the root context;
// src/context.cc ContextBase::onGrpcReceive*/onGrpcClose call the module's
// proxy_on_grpc_receive_initial_metadata / _receive / _receive_trailing_metadata / _close).
//
// - A unary call (token low bits 01) gets proxy_on_grpc_receive with the response on success,
//   or proxy_on_grpc_close(status) on failure (GrpcCallClientHandler::onSuccessRaw/onFailure):
//   never both, and no metadata callbacks.
// - A stream (low bits 10) gets initial metadata, each message, trailing metadata, then
//   proxy_on_grpc_close when the remote closes (GrpcStreamClientHandler).
// - grpc_close on a call cancels it; on a stream it half-closes (the stream lives on until the
//   remote closes too). grpc_cancel cancels/resets; neither is followed by a callback.
// - The status message of on_grpc_close is read with proxy_get_status during the callback.

import { WasmResult } from "../abi/enums.ts";
import type { PendingGrpc, RootContext } from "./context.ts";


export function isGrpcCallToken(t: number): boolean {
  return (t & 3) === 1;
}
export function isGrpcStreamToken(t: number): boolean {
  return (t & 3) === 2;
}

/** Starts a call (message given) or a stream (message null). */
export function startGrpcCallout(
  root: RootContext,
  cluster: string,
  service: string,
  method: string,
  metadata: [string, string][],
  message: Uint8Array | null,
  timeoutMs: number,
): { token: number } | WasmResult {
  const vm = root.vm;
  // Context::grpcCall: a cluster name that is not a known cluster is PARSE_FAILURE.
  if (!vm.services.hasCluster(cluster)) return WasmResult.ParseFailure;
  const stream = message === null;
  const token = stream ? vm.nextGrpcStreamId() : vm.nextGrpcCallId();
  const p: PendingGrpc = { handle: null, stream, localClosed: false, remoteClosed: false };
  root.pendingGrpc.set(token, p);
  const live = (): boolean => root.pendingGrpc.get(token) === p && !root.destroyed && !vm.failed;
  p.handle = vm.services.grpc(
    cluster,
    service,
    method,
    metadata,
    stream ? 0 : timeoutMs,
    {
      onInitialMetadata: (pairs) => {
        if (!stream || !live()) return;
        root.grpcMetadata = { initial: pairs, trailing: null };
        deliver(root, "proxy_on_grpc_receive_initial_metadata", token, pairs.length, () => (root.grpcMetadata = null));
      },
      onMessage: (m) => {
        if (!live()) return;
        if (!stream) root.pendingGrpc.delete(token); // a call is over once its response arrives
        root.grpcReceiveBuffer = m;
        deliver(root, "proxy_on_grpc_receive", token, m.length, () => (root.grpcReceiveBuffer = null));
      },
      onTrailingMetadata: (pairs) => {
        if (!stream || !live()) return;
        root.grpcMetadata = { initial: null, trailing: pairs };
        deliver(root, "proxy_on_grpc_receive_trailing_metadata", token, pairs.length, () => (root.grpcMetadata = null));
      },
      onClose: (status, msg) => {
        if (!live()) return;
        // A call that succeeded was answered by on_grpc_receive alone.
        if (!stream && status === 0) return;
        p.remoteClosed = true;
        if (!stream || p.localClosed) root.pendingGrpc.delete(token);
        root.status = { code: status, message: msg };
        deliver(root, "proxy_on_grpc_close", token, status, () => (root.status = { code: root.status.code, message: "" }));
      },
    },
    message,
  );
  return { token };
}

function deliver(root: RootContext, fn: string, token: number, arg: number, after: () => void): void {
  const vm = root.vm;
  if (!vm.hasExport(fn)) {
    after();
    return;
  }
  vm.addAfterVmCallAction(after);
  vm.call(fn, root, root.id, token, arg);
  vm.finishCall();
}

export function grpcSend(root: RootContext, token: number, message: Uint8Array, endStream: boolean): WasmResult {
  if (!isGrpcStreamToken(token)) return WasmResult.BadArgument;
  const p = root.pendingGrpc.get(token);
  if (!p) return WasmResult.NotFound;
  p.handle?.send(message, endStream);
  return WasmResult.Ok;
}

export function grpcClose(root: RootContext, token: number): WasmResult {
  if (isGrpcCallToken(token)) return grpcCancel(root, token);
  if (!isGrpcStreamToken(token)) return WasmResult.BadArgument;
  const p = root.pendingGrpc.get(token);
  if (!p) return WasmResult.NotFound;
  p.handle?.close();
  if (p.remoteClosed) root.pendingGrpc.delete(token);
  else p.localClosed = true;
  return WasmResult.Ok;
}

export function grpcCancel(root: RootContext, token: number): WasmResult {
  if (!isGrpcCallToken(token) && !isGrpcStreamToken(token)) return WasmResult.BadArgument;
  const p = root.pendingGrpc.get(token);
  if (!p) return WasmResult.NotFound;
  p.handle?.cancel();
  root.pendingGrpc.delete(token);
  return WasmResult.Ok;
}

/** Context::~Context: outstanding calls are cancelled and streams reset with the root context. */
export function cancelAllGrpc(root: RootContext): void {
  for (const p of root.pendingGrpc.values()) p.handle?.cancel();
  root.pendingGrpc.clear();
}
