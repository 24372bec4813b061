// A cluster's upstream HTTP filter chain, run once per try (source/common/router/upstream_request.cc,
// source/common/router/upstream_codec_filter.cc):
// - the chain comes from the route's cluster (HttpProtocolOptions.http_filters) and is created
//   for each UpstreamRequest, so every try runs fresh filter instances;
// - the host is chosen before the chain runs (the router creates the connection pool first), so
//   upstream filters see it (upstream.address);
// - upstream filters share the downstream stream's StreamInfo (UpstreamFilterManager::streamInfo
//   returns the router's callbacks()->streamInfo()): same filter state, properties, attempt count;
// - they get the router's request headers map itself (filter_manager_->decodeHeaders(
//   *parent_.downstreamHeaders())): edits made by one try are what the next try starts from;
//   bodies are copies, so body edits are per try;
// - a local reply from an upstream filter goes to the downstream filter manager
//   (UpstreamFilterManager::sendLocalReply) and is not seen by the upstream filters;
// - the terminal UpstreamCodec filter sends the request and feeds the response back up the
//   chain (encoder filters in reverse order) to the router.

import { DataStatus, HeadersStatus, TrailersStatus } from "../abi/enums.ts";
import type { Cluster } from "../envoy/bootstrap-types.ts";
import { FilterManager, type DecoderFilterCallbacks, type DownstreamSink, type LocalReplyOptions, type StreamDecoderFilter } from "../http/filter-manager.ts";
import type { HeaderMap } from "../http/header-map.ts";
import { BufferInstance } from "../proxy/buffer.ts";
import type { WasmPlugin } from "../proxy/runtime.ts";
import type { StreamInfo } from "../proxy/stream-info.ts";
import { startUpstream, type UpstreamHandler, type UpstreamOptions, type UpstreamRequest } from "./upstream.ts";

export interface UpstreamChainContext {
  plugins: WasmPlugin[]; // the cluster's Wasm filters, in order
  worker: number;
  info: StreamInfo;
  /** The downstream filter manager's local reply (UpstreamFilterManager::sendLocalReply). */
  downstreamLocalReply(code: number, body: string | Uint8Array, details: string, opts?: LocalReplyOptions): void;
}

/** The upstream filter manager: shares the downstream StreamInfo and leaves it alone when done. */
class UpstreamFilterManager extends FilterManager {
  constructor(
    info: StreamInfo,
    sink: DownstreamSink,
    bufferLimit: number,
    private readonly ctx: UpstreamChainContext,
    private readonly onAbort: () => void,
  ) {
    super(info, sink, bufferLimit);
  }

  override sendLocalReply(code: number, body: string | Uint8Array, details: string, opts: LocalReplyOptions = {}): void {
    if (this.destroyed) return;
    this.decoderChainAborted = true;
    this.encoderChainAborted = true;
    this.onAbort();
    this.ctx.downstreamLocalReply(code, body, details, opts);
  }

  protected override ownsStreamInfo(): boolean {
    return false;
  }
}

/** The terminal codec filter: one HTTP request to the chosen host. */
class UpstreamCodecFilter implements StreamDecoderFilter {
  call: UpstreamRequest | null = null;

  constructor(
    private readonly cluster: Cluster,
    private readonly opts: UpstreamOptions,
    private readonly up: UpstreamHandler,
  ) {}

  setDecoderFilterCallbacks(_cb: DecoderFilterCallbacks): void {}

  decodeHeaders(headers: HeaderMap, endStream: boolean): HeadersStatus {
    this.call = startUpstream(this.cluster, headers, this.opts, this.up);
    if (endStream) this.call.end();
    return HeadersStatus.StopIteration;
  }

  decodeData(data: BufferInstance, endStream: boolean): DataStatus {
    if (this.call) {
      if (data.length > 0) this.call.write(data.toBuffer());
      if (endStream) this.call.end();
    }
    data.drain(data.length);
    return DataStatus.StopIterationNoBuffer;
  }

  decodeTrailers(_trailers: HeaderMap): TrailersStatus {
    this.call?.end();
    return TrailersStatus.StopIteration;
  }

}

/** One try through the cluster's upstream filters. Same interface as a plain upstream request. */
class FilteredUpstream implements UpstreamRequest {
  readonly upstreamHost: string | null;
  private readonly fm: UpstreamFilterManager;
  private readonly codec: UpstreamCodecFilter;
  private done = false;
  // The chain starts on the next microtask, as a plain upstream request does; body and end
  // that arrive before then wait here.
  private headersSent = false;
  private pendingBody: Buffer[] = [];
  private pendingEnd = false;
  private ended = false;

  constructor(cluster: Cluster, headers: HeaderMap, opts: UpstreamOptions, handler: UpstreamHandler, ctx: UpstreamChainContext, bufferLimit: number) {
    this.upstreamHost = opts.host?.hostPort ?? null;
    const sink: DownstreamSink = {
      encodeHeaders: (h, end) => handler.onHeaders(h, end),
      encodeData: (d, end) => handler.onData(d, end),
      encodeTrailers: (t) => handler.onTrailers(t),
      reset: () => {
        if (!this.done) handler.onError({ kind: "reset", reason: "local reset", detail: "", responseStarted: this.fm.responseHeadersEncoded });
      },
      readDisable: () => {},
    };
    this.fm = new UpstreamFilterManager(ctx.info, sink, bufferLimit, ctx, () => this.stop());
    for (const p of ctx.plugins) this.fm.addFilter(p.createStreamContext(ctx.worker));
    // Responses re-enter the chain at its end and run the encoder filters in reverse order.
    this.codec = new UpstreamCodecFilter(cluster, opts, {
      onHeaders: (h, eos) => this.fm.encodeHeaders(null, h, eos),
      onData: (chunk, eos) => this.fm.encodeData(null, new BufferInstance(chunk), eos),
      onTrailers: (t) => this.fm.encodeTrailers(null, t),
      onError: (f) => {
        // Resets reach the router directly (UpstreamRequest::onResetStream); the filters are destroyed.
        if (this.done) return;
        this.stop();
        handler.onError(f);
      },
    });
    this.fm.addFilter(this.codec);
    queueMicrotask(() => {
      if (!this.done) this.fm.decodeHeaders(null, headers, this.pendingEnd);
      this.headersSent = true;
      for (const c of this.pendingBody) this.fm.decodeData(null, new BufferInstance(c), false);
      this.pendingBody = [];
      if (this.ended && !this.pendingEnd && !this.done) this.fm.decodeData(null, new BufferInstance(), true);
    });
  }

  write(chunk: Buffer): void {
    if (this.done || this.ended || chunk.length === 0) return;
    if (!this.headersSent) this.pendingBody.push(chunk);
    else this.fm.decodeData(null, new BufferInstance(chunk), false);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.done) return;
    if (!this.headersSent) {
      if (this.pendingBody.length === 0) this.pendingEnd = true; // headers-only request
      return;
    }
    this.fm.decodeData(null, new BufferInstance(), true);
  }

  abort(): void {
    this.stop();
  }

  pause(): void {
    this.codec.call?.pause();
  }

  resume(): void {
    this.codec.call?.resume();
  }

  /** The try is over: cancel the request and destroy the upstream filters (on_done, on_delete). */
  private stop(): void {
    if (this.done) return;
    this.done = true;
    this.codec.call?.abort();
    this.fm.destroy();
  }
}

/** Starts one try: through the cluster's upstream filters when it has any, else straight to the codec. */
export function startUpstreamTry(cluster: Cluster, headers: HeaderMap, opts: UpstreamOptions, handler: UpstreamHandler, ctx: UpstreamChainContext | null, bufferLimit: number): UpstreamRequest {
  if (ctx === null || ctx.plugins.length === 0) return startUpstream(cluster, headers, opts, handler);
  return new FilteredUpstream(cluster, headers, opts, handler, ctx, bufferLimit);
}
