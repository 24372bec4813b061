// A wasm filter on one HTTP stream: Envoy's Context (source/extensions/common/wasm/context.cc)
// as a stream filter, with cpp-host's ContextBase callback wrappers. What it holds, and when it
// lets go of it, decides what a module may read and write:
// - request/response headers only while held (the callback returned non-Continue and no
//   continue happened since); continue_stream drops the held request maps;
// - a body callback sees the whole buffered body while the module keeps returning Pause
//   (StopIterationAndBuffer), else just the chunk;
// - Pause on headers means StopAllIterationAndWatermark unless allow_on_headers_stop_iteration;
// - a local reply is deferred until the callback returns and forces Stop;
// - a failed VM answers 503 wasm_fail_stream, or is skipped with fail_open.

import type { HeaderMap } from "../http/header-map.ts";
import { BufferType, DataStatus, HeadersStatus, MapType, StreamType, TrailersStatus, WasmResult } from "../abi/enums.ts";
import type { BufferInstance } from "./buffer.ts";
import { ContextBase, EMPTY_BUFFER, mutableBuffer, type BufferRef, type RootContext } from "./context.ts";
import type { StreamInfo } from "./stream-info.ts";
import type { WasmVm } from "./wasm-vm.ts";
import type { DecoderFilterCallbacks, EncoderFilterCallbacks, HttpFilter } from "../http/filter-manager.ts";

const GRPC_UNAVAILABLE = 14;

export class HttpContext extends ContextBase implements HttpFilter {
  private decoderCb: DecoderFilterCallbacks | null = null;
  private encoderCb: EncoderFilterCallbacks | null = null;
  private requestHeaders: HeaderMap | null = null;
  private requestBody: BufferInstance | null = null;
  private requestTrailers: HeaderMap | null = null;
  private responseHeaders: HeaderMap | null = null;
  private responseBody: BufferInstance | null = null;
  private responseTrailers: HeaderMap | null = null;
  private bufferingRequestBody = false;
  private bufferingResponseBody = false;
  private endOfStream = false;
  private inAccessLog = false;
  private streamFailed = false;
  private failureLocalReplySent = false;

  constructor(
    vm: WasmVm,
    private readonly rootCtx: RootContext,
  ) {
    super(vm, vm.allocContextId(), rootCtx.plugin);
  }

  get root(): RootContext {
    return this.rootCtx;
  }
  get parentId(): number {
    return this.rootCtx.id;
  }
  override get accessLogPhase(): boolean {
    return this.inAccessLog;
  }
  override streamInfo(): StreamInfo | null {
    return (this.encoderCb ?? this.decoderCb)?.streamInfo ?? null;
  }

  // ---- what the ABI sees -------------------------------------------------------------------

  override getMap(type: MapType): HeaderMap | null {
    switch (type) {
      case MapType.RequestHeaders:
        return this.requestHeaders;
      case MapType.RequestTrailers:
        // Trailers can be added only from the last body callback (addDecodedTrailers).
        if (this.requestTrailers === null && this.requestBody && this.endOfStream && this.decoderCb) {
          this.requestTrailers = this.decoderCb.addDecodedTrailers();
        }
        return this.requestTrailers;
      case MapType.ResponseHeaders:
        return this.responseHeaders;
      case MapType.ResponseTrailers:
        if (this.responseTrailers === null && this.responseBody && this.endOfStream && this.encoderCb) {
          this.responseTrailers = this.encoderCb.addEncodedTrailers();
        }
        return this.responseTrailers;
      default:
        return null;
    }
  }

  override getConstMap(type: MapType): HeaderMap | null {
    const info = this.streamInfo();
    switch (type) {
      case MapType.RequestHeaders:
        return this.inAccessLog ? (info?.requestHeaders ?? null) : this.requestHeaders;
      case MapType.RequestTrailers:
        return this.inAccessLog ? null : this.requestTrailers;
      case MapType.ResponseHeaders:
        return this.inAccessLog ? (info?.responseHeaders ?? null) : this.responseHeaders;
      case MapType.ResponseTrailers:
        return this.inAccessLog ? (info?.responseTrailers ?? null) : this.responseTrailers;
      default:
        return super.getConstMap(type);
    }
  }

  /** ABI <= 0.2.1: every change to the request headers clears the route cache. */
  override onHeadersModified(type: MapType): void {
    if (type === MapType.RequestHeaders) this.decoderCb?.clearRouteCache();
  }

  override clearRouteCache(): boolean {
    if (!this.decoderCb) return false;
    this.decoderCb.clearRouteCache();
    return true;
  }

  override activationRequestHeaders(): HeaderMap | null {
    return this.requestHeaders ?? (this.inAccessLog ? (this.streamInfo()?.requestHeaders ?? null) : null);
  }
  override activationResponseHeaders(): HeaderMap | null {
    return this.responseHeaders ?? this.streamInfo()?.responseHeaders ?? null;
  }
  override activationResponseTrailers(): HeaderMap | null {
    return this.responseTrailers ?? this.streamInfo()?.responseTrailers ?? null;
  }

  override getBuffer(type: BufferType): BufferRef | null {
    if (type === BufferType.HttpRequestBody) {
      if (this.bufferingRequestBody && this.decoderCb) {
        const b = this.decoderCb.decodingBuffer();
        if (b) return mutableBuffer(b);
      }
      return this.requestBody ? mutableBuffer(this.requestBody) : EMPTY_BUFFER;
    }
    if (type === BufferType.HttpResponseBody) {
      if (this.bufferingResponseBody && this.encoderCb) {
        const b = this.encoderCb.encodingBuffer();
        if (b) return mutableBuffer(b);
      }
      return this.responseBody ? mutableBuffer(this.responseBody) : EMPTY_BUFFER;
    }
    return super.getBuffer(type);
  }

  override continueStream(type: StreamType): WasmResult {
    switch (type) {
      case StreamType.Request:
        if (this.decoderCb) {
          const cb = this.decoderCb;
          this.vm.addAfterVmCallAction(() => cb.continueDecoding());
        }
        break;
      case StreamType.Response:
        if (this.encoderCb) {
          const cb = this.encoderCb;
          this.vm.addAfterVmCallAction(() => cb.continueEncoding());
        }
        break;
      case StreamType.Downstream:
        return WasmResult.Ok;
      case StreamType.Upstream:
        return WasmResult.Unimplemented;
      default:
        return WasmResult.BadArgument;
    }
    // Envoy drops the held request maps for either direction.
    this.requestHeaders = null;
    this.requestBody = null;
    this.requestTrailers = null;
    return WasmResult.Ok;
  }

  override closeStream(type: StreamType): WasmResult {
    const cb = type === StreamType.Request ? this.decoderCb : type === StreamType.Response ? this.encoderCb : null;
    if (type > StreamType.Upstream) return WasmResult.BadArgument;
    if (cb) {
      if (cb.streamInfo.responseCodeDetails === null) cb.streamInfo.setResponseCodeDetails("wasm_close_stream");
      this.vm.addAfterVmCallAction(() => cb.resetStream());
    }
    return WasmResult.Ok;
  }

  override sendLocalResponse(code: number, body: Uint8Array, headers: [string, string][], grpc: number, details: string): WasmResult {
    if (this.decoderCb) {
      const cb = this.decoderCb;
      const d = details.replace(/\s/g, "_");
      const bodyCopy = Buffer.from(body);
      this.vm.addAfterVmCallAction(() =>
        cb.sendLocalReply(code, bodyCopy, d, {
          modifyHeaders: (h) => headers.forEach(([k, v]) => h.add(k, v)),
          grpcStatus: grpc <= 16 ? grpc : null,
        }),
      );
    }
    return WasmResult.Ok;
  }

  override setProperty(path: string, slot: number, src: Uint8Array, from: number, len: number): WasmResult {
    const info = this.streamInfo();
    if (!info) return WasmResult.NotFound;
    info.filterState.setCopy(path, slot, src, from, len);
    return WasmResult.Ok;
  }

  // ---- cpp-host ContextBase: guarded calls into the module ----------------------------------

  /** CHECK_FAIL_HTTP: null when the VM is healthy, else "open" (skip) or "closed" (503 sent). */
  private checkFail(): "open" | "closed" | null {
    if (!this.vm.failed) return null;
    if (this.plugin.failOpen) return "open";
    if (!this.streamFailed) {
      this.streamFailed = true;
      this.failStream();
    }
    return "closed";
  }

  private failStream(): void {
    const cb = this.decoderCb ?? this.encoderCb;
    if (cb && !this.failureLocalReplySent) {
      this.failureLocalReplySent = true;
      cb.sendLocalReply(503, "", "wasm_fail_stream", { grpcStatus: GRPC_UNAVAILABLE });
    }
  }

  private onCreate(): void {
    if (!this.vm.failed && !this.inVmContextCreated) {
      this.vm.callAndFinish("proxy_on_context_create", this, this.id, this.rootCtx.id);
    }
    this.inVmContextCreated = true;
  }

  private convertHeaders(r: number): HeadersStatus {
    if (this.vm.isNextIterationStopped() || r > HeadersStatus.StopAllIterationAndWatermark) return HeadersStatus.StopAllIterationAndWatermark;
    if (r === HeadersStatus.StopIteration) {
      return this.plugin.allowOnHeadersStopIteration ? HeadersStatus.StopIteration : HeadersStatus.StopAllIterationAndWatermark;
    }
    return r as HeadersStatus;
  }
  private convertData(r: number): DataStatus {
    if (this.vm.isNextIterationStopped() || r > DataStatus.StopIterationNoBuffer) return DataStatus.StopIterationNoBuffer;
    return r as DataStatus;
  }
  private convertTrailers(r: number): TrailersStatus {
    if (this.vm.isNextIterationStopped() || r > TrailersStatus.StopIteration) return TrailersStatus.StopIteration;
    return r as TrailersStatus;
  }

  /**
   * Runs one stream callback (context id, then `a`, then `b` unless null) with the fail checks
   * before and after, converting the result. `convert` is one of this class's convert methods,
   * called on this context: no closure or argument array is made per callback.
   */
  private invoke<S>(name: string, a: number, b: number | null, open: S, closed: S, convert: (this: HttpContext, r: number) => S): S {
    const f = this.checkFail();
    if (f) return f === "open" ? open : closed;
    if (!this.vm.hasExport(name)) return open;
    const r = b === null ? this.vm.call(name, this, this.id, a) : this.vm.call(name, this, this.id, a, b);
    let status: S;
    const f2 = this.checkFail();
    if (f2) status = f2 === "open" ? open : closed;
    else status = convert.call(this, r ?? 0);
    this.vm.finishCall();
    return status;
  }

  // ---- Envoy's StreamFilter ----------------------------------------------------------------

  setDecoderFilterCallbacks(cb: DecoderFilterCallbacks): void {
    this.decoderCb = cb;
  }
  setEncoderFilterCallbacks(cb: EncoderFilterCallbacks): void {
    this.encoderCb = cb;
  }

  decodeHeaders(headers: HeaderMap, endStream: boolean): HeadersStatus {
    this.onCreate();
    this.requestHeaders = headers;
    this.endOfStream = endStream;
    const r = this.invoke("proxy_on_request_headers", headers.count, endStream ? 1 : 0, HeadersStatus.Continue, HeadersStatus.StopAllIterationAndWatermark, this.convertHeaders);
    if (r === HeadersStatus.Continue) this.requestHeaders = null;
    return r;
  }

  decodeData(data: BufferInstance, endStream: boolean): DataStatus {
    if (!this.inVmContextCreated) return DataStatus.Continue;
    if (this.bufferingRequestBody && this.decoderCb) {
      this.decoderCb.addDecodedData(data, false);
      if (this.destroyed) return DataStatus.StopIterationAndBuffer; // the 413 went out
    }
    this.requestBody = data;
    this.endOfStream = endStream;
    const size = this.getBuffer(BufferType.HttpRequestBody)?.size() ?? 0;
    const r = this.invoke("proxy_on_request_body", size, endStream ? 1 : 0, DataStatus.Continue, DataStatus.StopIterationNoBuffer, this.convertData);
    this.bufferingRequestBody = false;
    if (r === DataStatus.Continue) this.requestBody = null;
    else if (r === DataStatus.StopIterationAndBuffer) this.bufferingRequestBody = true;
    return r;
  }

  decodeTrailers(trailers: HeaderMap): TrailersStatus {
    if (!this.inVmContextCreated) return TrailersStatus.Continue;
    this.requestTrailers = trailers;
    const r = this.invoke("proxy_on_request_trailers", trailers.count, null, TrailersStatus.Continue, TrailersStatus.StopIteration, this.convertTrailers);
    if (r === TrailersStatus.Continue) this.requestTrailers = null;
    return r;
  }

  encodeHeaders(headers: HeaderMap, endStream: boolean): HeadersStatus {
    if (!this.inVmContextCreated || this.failureLocalReplySent) return HeadersStatus.Continue;
    this.responseHeaders = headers;
    this.endOfStream = endStream;
    const r = this.invoke("proxy_on_response_headers", headers.count, endStream ? 1 : 0, HeadersStatus.Continue, HeadersStatus.StopAllIterationAndWatermark, this.convertHeaders);
    if (r === HeadersStatus.Continue) this.responseHeaders = null;
    return r;
  }

  encodeData(data: BufferInstance, endStream: boolean): DataStatus {
    if (!this.inVmContextCreated || this.failureLocalReplySent) return DataStatus.Continue;
    if (this.bufferingResponseBody && this.encoderCb) {
      this.encoderCb.addEncodedData(data, false);
      if (this.destroyed) return DataStatus.StopIterationAndBuffer;
    }
    this.responseBody = data;
    this.endOfStream = endStream;
    const size = this.getBuffer(BufferType.HttpResponseBody)?.size() ?? 0;
    const r = this.invoke("proxy_on_response_body", size, endStream ? 1 : 0, DataStatus.Continue, DataStatus.StopIterationNoBuffer, this.convertData);
    this.bufferingResponseBody = false;
    if (r === DataStatus.Continue) this.responseBody = null;
    else if (r === DataStatus.StopIterationAndBuffer) this.bufferingResponseBody = true;
    return r;
  }

  encodeTrailers(trailers: HeaderMap): TrailersStatus {
    if (!this.inVmContextCreated || this.failureLocalReplySent) return TrailersStatus.Continue;
    this.responseTrailers = trailers;
    const r = this.invoke("proxy_on_response_trailers", trailers.count, null, TrailersStatus.Continue, TrailersStatus.StopIteration, this.convertTrailers);
    if (r === TrailersStatus.Continue) this.responseTrailers = null;
    return r;
  }

  /** Access-log pass: on_log with the access-log copies of the maps. */
  log(): void {
    if (!this.inVmContextCreated) this.onCreate();
    if (this.vm.failed) return;
    this.inAccessLog = true;
    try {
      this.vm.callAndFinish("proxy_on_log", this, this.id);
    } finally {
      this.inAccessLog = false;
    }
  }

  /** onDestroy: on_done then on_delete (Envoy runs log → done → delete). */
  onDestroy(): void {
    if (!this.destroyed && this.inVmContextCreated) {
      this.destroyed = true;
      if (!this.vm.failed) {
        this.vm.callAndFinish("proxy_on_done", this, this.id);
        this.vm.callAndFinish("proxy_on_delete", this, this.id);
      }
    }
    this.vm.contexts.delete(this.id);
    // See FilterManager.releaseReferences: a dead promoted context must not keep young objects.
    this.decoderCb = this.encoderCb = null;
    this.requestHeaders = this.requestTrailers = this.responseHeaders = this.responseTrailers = null;
    this.requestBody = this.responseBody = null;
  }
}
