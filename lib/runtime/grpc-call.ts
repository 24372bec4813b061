// Unary gRPC callouts. Like HTTP calls, Envoy owns them by the root context: the answer comes
// to proxy_on_grpc_receive (success) or proxy_on_grpc_close (failure) with the root id, and
// the runtime switches the effective context back to the stream that made the call (dropping
// the answer if that stream has ended).

import { BufferType, WasmResult } from "../abi/enums";
import { getBufferBytes } from "../abi/buffers";
import { getStatus } from "../abi/http-call";
import { grpcCall } from "../abi/grpc-call";
import { HeaderPair } from "../abi/pairs";
import { setEffectiveContext } from "../abi/context";
import { Context, HttpContext } from "./context";
import { contextById, setCurrentContext } from "./state";

/** The outcome of a unary call: status 0 with the response message, or the failure. */
export class GrpcCallResult {
  status: u32 = 0;
  /** The status message of a failure (Envoy: the router's local reply text, e.g. "upstream request timeout"). */
  message: string = "";
  response: Uint8Array = new Uint8Array(0);
  constructor(public token: u32) {}
}

export type GrpcCallCallback = (origin: Context, result: GrpcCallResult) => void;

class PendingGrpc {
  constructor(
    public rootId: u32,
    public originId: u32,
    public callback: GrpcCallCallback,
  ) {}
}

const pending = new Map<u32, PendingGrpc>();

/** Starts a unary call; the callback runs with `origin` current. Returns the token or the negated WasmResult. */
export function dispatchGrpcCall(cluster: string, service: string, method: string, metadata: HeaderPair[], message: ArrayBuffer, timeoutMs: u32, origin: Context, callback: GrpcCallCallback): i64 {
  const token = grpcCall(cluster, service, method, metadata, message, timeoutMs);
  if (token >= 0) {
    const rootId = origin.isRoot ? origin.id : changetype<HttpContext>(origin).root.id;
    pending.set(<u32>token, new PendingGrpc(rootId, origin.id, callback));
  }
  return token;
}

function take(token: u32): PendingGrpc | null {
  if (!pending.has(token)) return null;
  const p = pending.get(token);
  pending.delete(token);
  return p;
}

function run(p: PendingGrpc, r: GrpcCallResult): void {
  const origin = contextById(p.originId);
  if (origin == null) return;
  if (!origin.isRoot && setEffectiveContext(origin.id) != WasmResult.Ok) return;
  setCurrentContext(origin);
  p.callback(origin, r);
}

/** @internal proxy_on_grpc_receive. */
export function onGrpcReceive(token: u32, size: u32): void {
  const p = take(token);
  if (p == null) return;
  const r = new GrpcCallResult(token);
  if (size > 0) {
    const b = getBufferBytes(BufferType.GrpcReceiveBuffer, 0, size);
    if (b != null) r.response = Uint8Array.wrap(b);
  }
  run(p, r);
}

/** @internal proxy_on_grpc_close. */
export function onGrpcClose(token: u32, status: u32): void {
  const p = take(token);
  if (p == null) return;
  const r = new GrpcCallResult(token);
  r.status = status == 0 ? 2 : status; // a call closed without a response is a failure (UNKNOWN)
  const st = getStatus();
  r.message = st != null ? st.message : "";
  run(p, r);
}

/** @internal Drops the calls owned by a root context being deleted. */
export function forgetGrpcCallsOf(rootId: u32): void {
  const keys = pending.keys();
  for (let i = 0; i < keys.length; i++) {
    const k = unchecked(keys[i]);
    if (pending.get(k).rootId == rootId) pending.delete(k);
  }
}
