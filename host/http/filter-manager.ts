// Envoy's HTTP FilterManager (source/common/http/filter_manager.cc), reduced to HTTP/1.1 and
// the filters the local gateway runs, with the iteration rules that filters observe:
// - headers: Continue, StopIteration, StopAllIterationAndBuffer/Watermark;
// - data: Continue, StopIterationAndBuffer/Watermark (the manager buffers), StopIterationNoBuffer;
// - a filter stopped with StopAll* gets no data or trailers until it continues; its body is
//   buffered for it and handed over, from the same filter, on continue;
// - buffering over the limit answers 413 on the request and 500 on the response (reset once the
//   response has started), unless the stop was a Watermark one, which applies back-pressure;
// - local replies go through the encoder filters when no response has started, straight to the
//   codec when the response headers exist but were not sent, and reset the stream otherwise;
// - on the response, encoder filters run in reverse order; access logs run before the filters
//   are destroyed (log, then on_done/on_delete).

import { HeaderMap } from "./header-map.ts";
import { BufferInstance } from "../proxy/buffer.ts";
import { DataStatus, HeadersStatus, TrailersStatus } from "../abi/enums.ts";
import type { StreamInfo } from "../proxy/stream-info.ts";

export interface LocalReplyOptions {
  modifyHeaders?: ((h: HeaderMap) => void) | null;
  grpcStatus?: number | null;
}

export interface FilterCallbacksBase {
  readonly streamInfo: StreamInfo;
  sendLocalReply(code: number, body: string | Uint8Array, details: string, opts?: LocalReplyOptions): void;
  resetStream(details?: string): void;
}

export interface DecoderFilterCallbacks extends FilterCallbacksBase {
  continueDecoding(): void;
  /** The buffer the manager holds for this direction, or null. */
  decodingBuffer(): BufferInstance | null;
  addDecodedData(data: BufferInstance, streaming: boolean): void;
  addDecodedTrailers(): HeaderMap;
  requestHeaders(): HeaderMap | null;
  clearRouteCache(): void;
  /** Whether a filter cleared the route cache since the route was chosen (the router re-matches). */
  routeCacheCleared(): boolean;
  /** Sends response headers/data from a terminal filter (the router) into the encoder chain. */
  encodeHeaders(headers: HeaderMap, endStream: boolean): void;
  encodeData(data: BufferInstance, endStream: boolean): void;
  encodeTrailers(trailers: HeaderMap): void;
}

export interface EncoderFilterCallbacks extends FilterCallbacksBase {
  continueEncoding(): void;
  encodingBuffer(): BufferInstance | null;
  addEncodedData(data: BufferInstance, streaming: boolean): void;
  addEncodedTrailers(): HeaderMap;
  responseHeaders(): HeaderMap | null;
}

export interface StreamDecoderFilter {
  setDecoderFilterCallbacks(cb: DecoderFilterCallbacks): void;
  decodeHeaders(headers: HeaderMap, endStream: boolean): HeadersStatus;
  decodeData(data: BufferInstance, endStream: boolean): DataStatus;
  decodeTrailers(trailers: HeaderMap): TrailersStatus;
}

export interface StreamEncoderFilter {
  setEncoderFilterCallbacks(cb: EncoderFilterCallbacks): void;
  encodeHeaders(headers: HeaderMap, endStream: boolean): HeadersStatus;
  encodeData(data: BufferInstance, endStream: boolean): DataStatus;
  encodeTrailers(trailers: HeaderMap): TrailersStatus;
}

export interface StreamFilterLifecycle {
  /** Access-log pass (Envoy calls filters registered as log handlers). */
  log?(): void;
  onDestroy?(): void;
}

/** Where the encoded response goes (the downstream codec). */
export interface DownstreamSink {
  encodeHeaders(headers: HeaderMap, endStream: boolean): void;
  encodeData(data: Buffer, endStream: boolean): void;
  encodeTrailers(trailers: HeaderMap): void;
  reset(reason: string): void;
  /** Apply or release back-pressure on the downstream request. */
  readDisable(disable: boolean): void;
}

const enum Iteration {
  Continue,
  StopSingle,
  StopAllBuffer,
  StopAllWatermark,
}

abstract class ActiveFilter {
  iteration = Iteration.Continue;
  headersContinued = false;
  iterateFromCurrent = false;
  endStream = false;
  headersCalled = false;
  constructor(readonly fm: FilterManager) {}

  stoppedAll(): boolean {
    return this.iteration === Iteration.StopAllBuffer || this.iteration === Iteration.StopAllWatermark;
  }
  canIterate(): boolean {
    return this.iteration === Iteration.Continue;
  }

  abstract complete(): boolean;
  abstract canContinue(): boolean;
  abstract bufferedData(): BufferInstance | null;
  abstract ensureBuffer(): BufferInstance;
  abstract hasTrailers(): boolean;
  abstract doHeaders(endStream: boolean): void;
  abstract doData(endStream: boolean): void;
  abstract doTrailers(): void;

  /** commonHandleAfterHeadersCallback: returns whether iteration continues to the next filter. */
  afterHeaders(status: HeadersStatus, endStream: { value: boolean }): boolean {
    switch (status) {
      case HeadersStatus.StopIteration:
        this.iteration = Iteration.StopSingle;
        break;
      case HeadersStatus.StopAllIterationAndBuffer:
        this.iteration = Iteration.StopAllBuffer;
        break;
      case HeadersStatus.StopAllIterationAndWatermark:
        this.iteration = Iteration.StopAllWatermark;
        break;
      case HeadersStatus.ContinueAndDontEndStream:
        endStream.value = false;
        this.headersContinued = true;
        break;
      default:
        this.headersContinued = true;
    }
    return !(this.stoppedAll() || status === HeadersStatus.StopIteration);
  }

  /** commonHandleAfterDataCallback. */
  afterData(status: DataStatus, data: BufferInstance): boolean {
    if (status === DataStatus.Continue) {
      if (this.iteration === Iteration.StopSingle) {
        this.bufferData(data);
        this.commonContinue();
        return false;
      }
      return true;
    }
    this.iteration = Iteration.StopSingle;
    if (status === DataStatus.StopIterationAndBuffer || status === DataStatus.StopIterationAndWatermark) {
      this.setStreaming(status === DataStatus.StopIterationAndWatermark);
      this.bufferData(data);
    } else if (this.complete() && !this.hasTrailers() && !this.bufferedData() && !this.fm.destroyed) {
      // A zero-byte end-of-stream frame held with NoBuffer: keep an empty buffer so continue
      // resumes with end_stream.
      this.ensureBuffer();
    }
    return false;
  }

  afterTrailers(status: TrailersStatus): boolean {
    if (status === TrailersStatus.Continue) {
      if (this.iteration === Iteration.StopSingle) {
        this.commonContinue();
        return false;
      }
      return true;
    }
    if (this.canIterate()) this.iteration = Iteration.StopSingle;
    return false;
  }

  abstract setStreaming(streaming: boolean): void;

  /** commonHandleBufferData: move the chunk into the direction's buffer (watermarked). */
  bufferData(data: BufferInstance): void {
    const buf = this.ensureBuffer();
    if (buf !== data) {
      buf.move(data);
      this.fm.checkWatermark(this);
    }
  }

  commonContinue(): void {
    if (!this.canContinue()) return;
    if (this.canIterate()) return; // Envoy asserts; continuing a filter that is not stopped does nothing here
    if (this.stoppedAll()) this.iterateFromCurrent = true;
    this.iteration = Iteration.Continue;
    if (!this.headersContinued) {
      this.headersContinued = true;
      this.doHeaders(this.complete() && !this.bufferedData() && !this.hasTrailers());
    }
    const hadTrailers = this.hasTrailers();
    if (this.bufferedData()) this.doData(this.complete() && !hadTrailers);
    if (hadTrailers) this.doTrailers();
    this.iterateFromCurrent = false;
    if (this.isDecoder) this.fm.maybeReadEnable();
  }

  abstract get isDecoder(): boolean;
}

class ActiveDecoderFilter extends ActiveFilter implements DecoderFilterCallbacks {
  constructor(
    fm: FilterManager,
    readonly filter: StreamDecoderFilter,
  ) {
    super(fm);
  }
  get isDecoder(): boolean {
    return true;
  }
  get streamInfo(): StreamInfo {
    return this.fm.streamInfo;
  }
  complete(): boolean {
    return this.fm.remoteDecodeComplete;
  }
  canContinue(): boolean {
    return !this.fm.localComplete;
  }
  bufferedData(): BufferInstance | null {
    return this.fm.bufferedRequest;
  }
  ensureBuffer(): BufferInstance {
    return (this.fm.bufferedRequest ??= new BufferInstance());
  }
  hasTrailers(): boolean {
    return this.fm.requestTrailers !== null;
  }
  setStreaming(s: boolean): void {
    this.fm.decoderStreaming = s;
  }
  doHeaders(endStream: boolean): void {
    this.fm.decodeHeaders(this, this.fm.requestHeadersMap!, endStream);
  }
  doData(endStream: boolean): void {
    this.fm.decodeData(this, this.fm.bufferedRequest!, endStream, true);
  }
  doTrailers(): void {
    this.fm.decodeTrailers(this, this.fm.requestTrailers!);
  }
  // Callbacks handed to the filter.
  continueDecoding(): void {
    this.commonContinue();
  }
  decodingBuffer(): BufferInstance | null {
    return this.fm.bufferedRequest;
  }
  addDecodedData(data: BufferInstance, streaming: boolean): void {
    this.fm.decoderStreaming = streaming;
    this.bufferData(data);
  }
  addDecodedTrailers(): HeaderMap {
    this.fm.requestTrailers ??= new HeaderMap();
    return this.fm.requestTrailers;
  }
  requestHeaders(): HeaderMap | null {
    return this.fm.requestHeadersMap;
  }
  clearRouteCache(): void {
    this.fm.routeCacheCleared = true;
  }
  routeCacheCleared(): boolean {
    return this.fm.routeCacheCleared;
  }
  sendLocalReply(code: number, body: string | Uint8Array, details: string, opts?: LocalReplyOptions): void {
    this.fm.sendLocalReply(code, body, details, opts);
  }
  resetStream(details?: string): void {
    this.fm.resetStream(details ?? "");
  }
  encodeHeaders(headers: HeaderMap, endStream: boolean): void {
    this.fm.encodeHeaders(null, headers, endStream);
  }
  encodeData(data: BufferInstance, endStream: boolean): void {
    this.fm.encodeData(null, data, endStream, false);
  }
  encodeTrailers(trailers: HeaderMap): void {
    this.fm.encodeTrailers(null, trailers);
  }
}

class ActiveEncoderFilter extends ActiveFilter implements EncoderFilterCallbacks {
  constructor(
    fm: FilterManager,
    readonly filter: StreamEncoderFilter,
  ) {
    super(fm);
  }
  get isDecoder(): boolean {
    return false;
  }
  get streamInfo(): StreamInfo {
    return this.fm.streamInfo;
  }
  complete(): boolean {
    return this.fm.localComplete;
  }
  canContinue(): boolean {
    return !this.fm.destroyed;
  }
  bufferedData(): BufferInstance | null {
    return this.fm.bufferedResponse;
  }
  ensureBuffer(): BufferInstance {
    return (this.fm.bufferedResponse ??= new BufferInstance());
  }
  hasTrailers(): boolean {
    return this.fm.responseTrailers !== null;
  }
  setStreaming(s: boolean): void {
    this.fm.encoderStreaming = s;
  }
  doHeaders(endStream: boolean): void {
    this.fm.encodeHeaders(this, this.fm.responseHeadersMap!, endStream);
  }
  doData(endStream: boolean): void {
    this.fm.encodeData(this, this.fm.bufferedResponse!, endStream, true);
  }
  doTrailers(): void {
    this.fm.encodeTrailers(this, this.fm.responseTrailers!);
  }
  continueEncoding(): void {
    this.commonContinue();
  }
  encodingBuffer(): BufferInstance | null {
    return this.fm.bufferedResponse;
  }
  addEncodedData(data: BufferInstance, streaming: boolean): void {
    this.fm.encoderStreaming = streaming;
    this.bufferData(data);
  }
  addEncodedTrailers(): HeaderMap {
    this.fm.responseTrailers ??= new HeaderMap();
    return this.fm.responseTrailers;
  }
  responseHeaders(): HeaderMap | null {
    return this.fm.responseHeadersMap;
  }
  sendLocalReply(code: number, body: string | Uint8Array, details: string, opts?: LocalReplyOptions): void {
    this.fm.sendLocalReply(code, body, details, opts);
  }
  resetStream(details?: string): void {
    this.fm.resetStream(details ?? "");
  }
}

export type HttpFilter = Partial<StreamDecoderFilter & StreamEncoderFilter> & StreamFilterLifecycle;

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  413: "Payload Too Large",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

export class FilterManager {
  readonly decoders: ActiveDecoderFilter[] = [];
  readonly encoders: ActiveEncoderFilter[] = [];
  private readonly lifecycle: StreamFilterLifecycle[] = [];
  private readonly accessLogs: (() => void)[] = [];

  requestHeadersMap: HeaderMap | null = null;
  requestTrailers: HeaderMap | null = null;
  bufferedRequest: BufferInstance | null = null;
  responseHeadersMap: HeaderMap | null = null;
  responseTrailers: HeaderMap | null = null;
  bufferedResponse: BufferInstance | null = null;

  remoteDecodeComplete = false;
  localComplete = false;
  decoderStreaming = false;
  encoderStreaming = false;
  decoderChainAborted = false;
  encoderChainAborted = false;
  responseHeadersEncoded = false;
  routeCacheCleared = false;
  destroyed = false;
  private callState: "decode" | "encode" | null = null;
  private readDisabled = false;

  constructor(
    readonly streamInfo: StreamInfo,
    private readonly sink: DownstreamSink,
    readonly bufferLimit: number,
  ) {}

  /** Adds a filter to the chain (decode order); encoder filters run in reverse. */
  addFilter(f: HttpFilter): void {
    if (f.decodeHeaders && f.setDecoderFilterCallbacks) {
      const a = new ActiveDecoderFilter(this, f as StreamDecoderFilter);
      this.decoders.push(a);
      f.setDecoderFilterCallbacks(a);
    }
    if (f.encodeHeaders && f.setEncoderFilterCallbacks) {
      const a = new ActiveEncoderFilter(this, f as StreamEncoderFilter);
      this.encoders.unshift(a);
      f.setEncoderFilterCallbacks(a);
    }
    this.lifecycle.push(f);
  }

  addAccessLog(f: () => void): void {
    this.accessLogs.push(f);
  }

  // ---- decode path -------------------------------------------------------------------------

  decodeHeaders(from: ActiveDecoderFilter | null, headers: HeaderMap, endStream: boolean): void {
    if (from === null) {
      this.requestHeadersMap = headers;
      this.remoteDecodeComplete = endStream;
    }
    const start = from === null ? 0 : this.decoders.indexOf(from) + 1;
    for (let i = start; i < this.decoders.length; i++) {
      const e = this.decoders[i]!;
      e.endStream = endStream;
      this.callState = "decode";
      let status = e.filter.decodeHeaders(headers, endStream);
      this.callState = null;
      if (this.decoderChainAborted) status = HeadersStatus.StopIteration;
      e.headersCalled = true;
      const es = { value: endStream };
      const cont = e.afterHeaders(status, es);
      if (this.localComplete && i + 1 < this.decoders.length) return;
      if (!cont && i + 1 < this.decoders.length) return;
    }
  }

  decodeData(from: ActiveDecoderFilter | null, data: BufferInstance, endStream: boolean, canStartFromCurrent = false): void {
    if (from === null) {
      if (this.ownsStreamInfo()) this.streamInfo.bytesReceived += data.length;
      if (endStream) this.remoteDecodeComplete = true;
    }
    if (this.localComplete) return;
    const trailersAtStart = this.requestTrailers !== null;
    let start = 0;
    if (from !== null) {
      const idx = this.decoders.indexOf(from);
      start = canStartFromCurrent && from.iterateFromCurrent ? idx : idx + 1;
    }
    let trailersAdded: ActiveDecoderFilter | null = null;
    for (let i = start; i < this.decoders.length; i++) {
      const e = this.decoders[i]!;
      if (e.stoppedAll()) {
        this.decoderStreaming = e.iteration === Iteration.StopAllWatermark;
        e.bufferData(data);
        return;
      }
      if (e.endStream) return;
      e.endStream = endStream && this.requestTrailers === null;
      this.callState = "decode";
      let status = e.filter.decodeData(data, e.endStream);
      this.callState = null;
      if (this.decoderChainAborted) status = DataStatus.StopIterationNoBuffer;
      if (!trailersAtStart && this.requestTrailers !== null && trailersAdded === null) {
        endStream = false;
        trailersAdded = e;
      }
      if (!e.afterData(status, data) && i + 1 < this.decoders.length) break;
    }
    if (trailersAdded) this.decodeTrailers(trailersAdded, this.requestTrailers!);
  }

  decodeTrailers(from: ActiveDecoderFilter | null, trailers: HeaderMap): void {
    if (from === null) {
      this.requestTrailers = trailers;
      this.remoteDecodeComplete = true;
    }
    if (this.localComplete) return;
    let start = 0;
    if (from !== null) {
      const idx = this.decoders.indexOf(from);
      start = from.iterateFromCurrent ? idx : idx + 1;
    }
    for (let i = start; i < this.decoders.length; i++) {
      const e = this.decoders[i]!;
      if (e.stoppedAll()) return;
      this.callState = "decode";
      let status = e.filter.decodeTrailers(trailers);
      this.callState = null;
      e.endStream = true;
      if (this.decoderChainAborted) status = TrailersStatus.StopIteration;
      if (!e.afterTrailers(status)) return;
    }
  }

  // ---- encode path -------------------------------------------------------------------------

  encodeHeaders(from: ActiveEncoderFilter | null, headers: HeaderMap, endStream: boolean): void {
    if (from === null) {
      this.responseHeadersMap = headers;
      this.localComplete = endStream;
      const code = Number(headers.get(":status"));
      if (Number.isFinite(code) && this.ownsStreamInfo()) this.streamInfo.responseCode = code;
    }
    const start = from === null ? 0 : this.encoders.indexOf(from) + 1;
    for (let i = start; i < this.encoders.length; i++) {
      const e = this.encoders[i]!;
      e.endStream = endStream;
      this.callState = "encode";
      let status = e.filter.encodeHeaders(headers, endStream);
      this.callState = null;
      if (this.encoderChainAborted) status = HeadersStatus.StopIteration;
      e.headersCalled = true;
      const es = { value: endStream };
      const cont = e.afterHeaders(status, es);
      if (!cont) return;
      if (this.destroyed) return;
    }
    this.responseHeadersEncoded = true;
    this.sink.encodeHeaders(headers, endStream);
    if (endStream) this.endStream();
  }

  encodeData(from: ActiveEncoderFilter | null, data: BufferInstance, endStream: boolean, canStartFromCurrent = false): void {
    if (from === null) this.localComplete = endStream;
    if (this.destroyed) return;
    const trailersAtStart = this.responseTrailers !== null;
    let start = 0;
    if (from !== null) {
      const idx = this.encoders.indexOf(from);
      start = canStartFromCurrent && from.iterateFromCurrent ? idx : idx + 1;
    }
    let trailersAdded: ActiveEncoderFilter | null = null;
    for (let i = start; i < this.encoders.length; i++) {
      const e = this.encoders[i]!;
      if (e.stoppedAll()) {
        this.encoderStreaming = e.iteration === Iteration.StopAllWatermark;
        e.bufferData(data);
        return;
      }
      if (e.endStream) return;
      e.endStream = endStream && this.responseTrailers === null;
      this.callState = "encode";
      let status = e.filter.encodeData(data, e.endStream);
      this.callState = null;
      if (this.encoderChainAborted) status = DataStatus.StopIterationNoBuffer;
      if (!trailersAtStart && this.responseTrailers !== null && trailersAdded === null) trailersAdded = e;
      if (!e.afterData(status, data)) return;
      if (this.destroyed) return;
    }
    const modifiedEnd = endStream && trailersAdded === null;
    const bytes = data.toBuffer();
    data.drain(data.length);
    if (this.ownsStreamInfo()) this.streamInfo.bytesSent += bytes.length;
    this.sink.encodeData(bytes, modifiedEnd);
    if (modifiedEnd) this.endStream();
    if (trailersAdded) this.encodeTrailers(trailersAdded, this.responseTrailers!);
  }

  encodeTrailers(from: ActiveEncoderFilter | null, trailers: HeaderMap): void {
    if (from === null) {
      this.responseTrailers = trailers;
      this.localComplete = true;
    }
    if (this.destroyed) return;
    let start = 0;
    if (from !== null) {
      const idx = this.encoders.indexOf(from);
      start = from.iterateFromCurrent ? idx : idx + 1;
    }
    for (let i = start; i < this.encoders.length; i++) {
      const e = this.encoders[i]!;
      if (e.stoppedAll()) return;
      this.callState = "encode";
      let status = e.filter.encodeTrailers(trailers);
      this.callState = null;
      e.endStream = true;
      if (this.encoderChainAborted) status = TrailersStatus.StopIteration;
      if (!e.afterTrailers(status)) return;
    }
    this.sink.encodeTrailers(trailers);
    this.endStream();
  }

  // ---- buffers, local replies, resets ------------------------------------------------------

  /** The watermark buffer's high-watermark callback (requestDataTooLarge / responseDataTooLarge). */
  checkWatermark(f: ActiveFilter): void {
    if (f.isDecoder) {
      const b = this.bufferedRequest;
      if (!b) return;
      if (b.length > this.bufferLimit) {
        if (this.decoderStreaming) {
          if (!this.readDisabled) {
            this.readDisabled = true;
            this.sink.readDisable(true);
          }
        } else {
          this.sendLocalReply(413, "Payload Too Large", "request_payload_too_large");
        }
      }
    } else {
      const b = this.bufferedResponse;
      if (!b || b.length <= this.bufferLimit) return;
      if (!this.encoderStreaming) this.sendLocalReply(500, "Internal Server Error", "response_payload_too_large");
    }
  }

  /** Releases downstream back-pressure once a stopped filter has drained its buffer. */
  maybeReadEnable(): void {
    if (this.readDisabled && (this.bufferedRequest?.length ?? 0) <= this.bufferLimit / 2) {
      this.readDisabled = false;
      this.sink.readDisable(false);
    }
  }

  sendLocalReply(code: number, body: string | Uint8Array, details: string, opts: LocalReplyOptions = {}): void {
    if (this.destroyed) return;
    if (this.callState === "decode") this.decoderChainAborted = true;
    else if (this.callState === "encode") this.encoderChainAborted = true;
    this.streamInfo.setResponseCodeDetails(details);
    const bodyBytes = typeof body === "string" ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const headers = new HeaderMap([[":status", String(code)]]);
    opts.modifyHeaders?.(headers);
    if (bodyBytes.length > 0) {
      headers.set("content-length", String(bodyBytes.length));
      if (!headers.has("content-type")) headers.set("content-type", "text/plain");
    }
    if (this.responseHeadersMap === null) {
      // No response yet: through the encoder filter chain.
      this.encodeHeaders(null, headers, bodyBytes.length === 0);
      if (bodyBytes.length > 0 && !this.destroyed) this.encodeData(null, new BufferInstance(bodyBytes), true);
    } else if (!this.responseHeadersEncoded) {
      // Headers seen by filters but not sent: straight to the codec, bypassing the filters.
      this.responseHeadersMap = headers;
      this.streamInfo.responseCode = code;
      this.responseHeadersEncoded = true;
      this.sink.encodeHeaders(headers, bodyBytes.length === 0);
      if (bodyBytes.length > 0) {
        this.streamInfo.bytesSent += bodyBytes.length;
        this.sink.encodeData(bodyBytes, true);
      }
      this.endStream();
    } else {
      this.resetStream(details);
    }
  }

  resetStream(details: string): void {
    if (this.destroyed) return;
    if (details) this.streamInfo.setResponseCodeDetails(details);
    this.sink.reset(details);
    this.destroy();
  }

  /** The response is complete downstream: log, then destroy the filters. */
  private endStream(): void {
    this.localComplete = true;
    this.destroy();
  }

  /** doDeferredStreamDestroy: access logs (and filters' log), then onDestroy. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.ownsStreamInfo()) {
      this.streamInfo.requestCompleteNs ??= process.hrtime.bigint();
      this.streamInfo.requestHeaders = this.requestHeadersMap;
      this.streamInfo.responseHeaders = this.responseHeadersMap;
      this.streamInfo.responseTrailers = this.responseTrailers;
    }
    for (const log of this.accessLogs) log();
    for (const f of this.lifecycle) f.log?.();
    for (const f of this.lifecycle) f.onDestroy?.();
    this.releaseReferences();
  }

  /**
   * A finished stream lets go of what it points to. A stream object that was promoted to V8's
   * old space while in flight stays there, dead, until the next full GC; whatever it still
   * references counts as live in every scavenge until then, and gets promoted in turn.
   */
  private releaseReferences(): void {
    this.requestHeadersMap = this.requestTrailers = this.responseHeadersMap = this.responseTrailers = null;
    this.bufferedRequest = this.bufferedResponse = null;
    this.decoders.length = 0;
    this.encoders.length = 0;
    this.lifecycle.length = 0;
    this.accessLogs.length = 0;
    if (!this.ownsStreamInfo()) return;
    const info = this.streamInfo;
    info.requestHeaders = info.responseHeaders = info.responseTrailers = null;
    info.filterState.clear();
  }

  /**
   * Whether this manager's stream owns its StreamInfo. An upstream filter manager shares the
   * downstream stream's (host/gateway/upstream-filters.ts) and must leave it alone.
   */
  protected ownsStreamInfo(): boolean {
    return true;
  }

  static statusText(code: number): string {
    return STATUS_TEXT[code] ?? "Unknown";
  }
}
