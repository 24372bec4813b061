// The host side of a proxy-wasm context (proxy-wasm-cpp-host's ContextBase plus Envoy's
// Context): the proxy semantics that the ABI marshalling in host/abi calls into. Defaults here
// are what a root context, which has no stream, answers; the HTTP stream context overrides.

import { HeaderMap } from "../http/header-map.ts";
import { BufferType, MapType, StreamType, WasmResult } from "../abi/enums.ts";
import type { BufferInstance } from "./buffer.ts";
import type { StreamInfo } from "./stream-info.ts";
import type { WasmVm } from "./wasm-vm.ts";
import type { GrpcStreamHandle } from "./vm-services.ts";
import type { WasmPluginConfig as PluginConfig } from "../envoy/bootstrap-types.ts";

/** Envoy's BufferInterface over a mutable or an immutable buffer. */
export interface BufferRef {
  size(): number;
  copyOut(start: number, length: number): Uint8Array;
  copyFrom(start: number, length: number, data: Uint8Array): WasmResult;
}

/** A mutable buffer: Envoy's Buffer::copyFrom can prepend (start 0, after draining `length`), append (start >= size), nothing else. */
class MutableBufferRef implements BufferRef {
  constructor(private readonly b: BufferInstance) {}
  size(): number {
    return this.b.length;
  }
  copyOut(start: number, length: number): Uint8Array {
    return this.b.copyOut(start, length);
  }
  copyFrom(start: number, length: number, data: Uint8Array): WasmResult {
    if (start === 0) {
      if (length !== 0) this.b.drain(length);
      this.b.prepend(data);
      return WasmResult.Ok;
    }
    if (start >= this.b.length) {
      this.b.add(data);
      return WasmResult.Ok;
    }
    return WasmResult.BadArgument;
  }
}

/** An immutable buffer (configuration, http-call response): writes are refused. */
class ConstBufferRef implements BufferRef {
  constructor(private readonly bytes: Uint8Array) {}
  size(): number {
    return this.bytes.length;
  }
  copyOut(start: number, length: number): Uint8Array {
    return this.bytes.subarray(start, Math.min(this.bytes.length, start + length));
  }
  copyFrom(): WasmResult {
    return WasmResult.BadArgument;
  }
}

/** Envoy's Buffer set to no instance: reads as empty, refuses writes. */
export const EMPTY_BUFFER: BufferRef = new ConstBufferRef(new Uint8Array(0));

export function mutableBuffer(b: BufferInstance): BufferRef {
  return new MutableBufferRef(b);
}

export function constBuffer(bytes: Uint8Array): BufferRef {
  return new ConstBufferRef(bytes);
}

/** One outstanding gRPC call or stream of a root context (host/proxy/grpc-call.ts). */
export interface PendingGrpc {
  handle: GrpcStreamHandle | null;
  stream: boolean;
  localClosed: boolean;
  remoteClosed: boolean;
}

export interface HttpCallResponse {
  headers: HeaderMap;
  body: Uint8Array;
  trailers: HeaderMap | null;
}

export abstract class ContextBase {
  /** on_context_create has run in the VM for this context. */
  inVmContextCreated = false;
  destroyed = false;

  constructor(
    readonly vm: WasmVm,
    readonly id: number,
    readonly plugin: PluginConfig,
  ) {
    vm.contexts.set(id, this);
  }

  abstract get root(): RootContext;
  abstract get parentId(): number;
  get isRoot(): boolean {
    return this.root === (this as ContextBase);
  }

  /** Stream info when this context serves a stream; root contexts have none. */
  streamInfo(): StreamInfo | null {
    return null;
  }
  /** The headers property lookups see (held headers, or the access-log copies in on_log). */
  activationRequestHeaders(): HeaderMap | null {
    return null;
  }
  activationResponseHeaders(): HeaderMap | null {
    return null;
  }
  activationResponseTrailers(): HeaderMap | null {
    return null;
  }
  /** Returns false when there is no stream route to clear. */
  clearRouteCache(): boolean {
    return false;
  }

  // Header maps (Envoy Context::getMap / getConstMap): null means "not available now".
  getMap(_type: MapType): HeaderMap | null {
    return null;
  }
  getConstMap(type: MapType): HeaderMap | null {
    const r = this.root.httpCallResponse;
    if (type === MapType.HttpCallResponseHeaders) return r ? r.headers : null;
    if (type === MapType.HttpCallResponseTrailers) return r ? r.trailers : null;
    // Set only while proxy_on_grpc_receive_(initial|trailing)_metadata runs.
    const g = this.root.grpcMetadata;
    if (type === MapType.GrpcReceiveInitialMetadata) return g?.initial ? new HeaderMap(g.initial) : null;
    if (type === MapType.GrpcReceiveTrailingMetadata) return g?.trailing ? new HeaderMap(g.trailing) : null;
    return null;
  }
  onHeadersModified(_type: MapType): void {}
  /** In the access-log phase a missing map reads as NOT_FOUND rather than BAD_ARGUMENT. */
  get accessLogPhase(): boolean {
    return false;
  }

  getBuffer(type: BufferType): BufferRef | null {
    switch (type) {
      case BufferType.VmConfiguration:
        return constBuffer(this.vm.vmConfiguration);
      case BufferType.PluginConfiguration: {
        const p = this.root.tempPluginConfiguration;
        return p ? constBuffer(p) : null;
      }
      case BufferType.HttpCallResponseBody: {
        const r = this.root.httpCallResponse;
        return r ? constBuffer(r.body) : null;
      }
      case BufferType.GrpcReceiveBuffer: {
        const g = this.root.grpcReceiveBuffer;
        return g ? constBuffer(g) : null;
      }
      case BufferType.CallData:
        return this.root.callData ? constBuffer(this.root.callData) : EMPTY_BUFFER;
      default:
        // Body and network buffers with nothing behind them read as empty (Envoy's buffer_.set(nullptr)).
        return EMPTY_BUFFER;
    }
  }

  continueStream(type: StreamType): WasmResult {
    return type === StreamType.Upstream ? WasmResult.Unimplemented : type > 3 ? WasmResult.BadArgument : WasmResult.Ok;
  }
  closeStream(type: StreamType): WasmResult {
    return type > 3 ? WasmResult.BadArgument : WasmResult.Ok;
  }
  /** Without decoder callbacks (a root context) Envoy accepts the call and does nothing. */
  sendLocalResponse(_code: number, _body: Uint8Array, _headers: [string, string][], _grpc: number, _details: string): WasmResult {
    return WasmResult.Ok;
  }
  /** set_property of src[from, from + len); `slot` is the path's keySlot. */
  setProperty(_path: string, _slot: number, _src: Uint8Array, _from: number, _len: number): WasmResult {
    return WasmResult.NotFound;
  }
}

/** A plugin's root context in one VM: configuration, ticks, http-call responses. */
export class RootContext extends ContextBase {
  /** Set only while on_configure runs (Envoy's temp_plugin_). */
  tempPluginConfiguration: Uint8Array | null = null;
  /** Set only while on_http_call_response runs. */
  httpCallResponse: HttpCallResponse | null = null;
  callData: Uint8Array | null = null;
  status: { code: number; message: string } = { code: 0, message: "" };
  tickPeriodMs = 0;
  tickTimer: NodeJS.Timeout | null = null;
  /** Outstanding http_call tokens owned by this root context. */
  readonly pendingCalls = new Map<number, { cancel(): void }>();
  /** Outstanding gRPC calls and streams (host/proxy/grpc-call.ts). */
  readonly pendingGrpc = new Map<number, PendingGrpc>();
  /** Set only while proxy_on_grpc_receive runs. */
  grpcReceiveBuffer: Uint8Array | null = null;
  /** Set only while a gRPC metadata callback runs. */
  grpcMetadata: { initial: [string, string][] | null; trailing: [string, string][] | null } | null = null;

  get root(): RootContext {
    return this;
  }
  get parentId(): number {
    return 0;
  }
}
