// One listener's HTTP connection manager on Node's HTTP/1.1 server: turns each request into a
// stream through the filter manager (wasm filters in order, router last), writes the encoded
// response back, and logs each stream. Each downstream connection belongs to one worker, whose
// VMs serve all of its streams, as in Envoy.

import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { randomUUID } from "node:crypto";
import { HeaderMap } from "../http/header-map.ts";
import { FilterManager, type DownstreamSink } from "../http/filter-manager.ts";
import { BufferInstance } from "../proxy/buffer.ts";
import { StreamInfo } from "../proxy/stream-info.ts";
import type { WasmPlugin } from "../proxy/runtime.ts";
import type { AccessLogConfig, Cluster, Listener, Route, WasmFilterConfig } from "../envoy/bootstrap-types.ts";
import { matchRoute, selectVirtualHost } from "../envoy/routes.ts";
import { RouterFilter, type RouteSource } from "./router.ts";
import type { GatewayStats } from "./gateway-stats.ts";
import { flushWritesOncePerLoop, type LoopFlush } from "./write-flush.ts";
import { createAccessLogSink, formatAccessLog, type AccessLogRecord, type AccessLogSink } from "./access-log.ts";

// Envoy's HTTP/1 limits (HttpConnectionManager max_request_headers_kb default 60,
// HttpProtocolOptions max_headers_count default 100); beyond either, 431.
const MAX_REQUEST_HEADERS_BYTES = 60 * 1024;
const MAX_HEADERS_COUNT = 100;

/** llhttp error codes for headers over the size limit (the rest of the parse errors are 400s). */
const HEADERS_TOO_LARGE = new Set(["HPE_HEADER_OVERFLOW"]);

/** Envoy's response code details (Http1ResponseCodeDetails in codec_impl.cc) for llhttp's errors. */
function codecErrorDetails(code: string | undefined): string {
  if (code === "HPE_HEADER_OVERFLOW") return "http1.headers_too_large";
  if (code === "HPE_UNEXPECTED_CONTENT_LENGTH") return "http1.content_length_and_chunked_not_allowed";
  if (code === "HPE_INVALID_HEADER_TOKEN") return "http1.invalid_characters";
  return "http1.codec_error";
}

/**
 * The local reply Envoy's codec sends for a request it cannot parse
 * (http1/codec_impl.cc ServerConnectionImpl::sendProtocolError → sendLocalReply with the code's
 * reason phrase as a text/plain body), on a connection that then closes.
 */
export function protocolErrorResponse(status: 400 | 431): string {
  const text = status === 431 ? "Request Header Fields Too Large" : "Bad Request";
  return (
    `HTTP/1.1 ${status} ${text}\r\ncontent-length: ${text.length}\r\ncontent-type: text/plain\r\n` +
    `date: ${new Date().toUTCString()}\r\nserver: envoy\r\nconnection: close\r\n\r\n${text}`
  );
}

// Headers Node's server manages itself or that must not be repeated downstream.
const RESPONSE_SKIP = new Set(["connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "date"]);

/**
 * Streams in flight on this thread (every listener shares its event loop). A response that
 * ends while others are in flight is flushed with the loop iteration's other writes
 * (LoopFlush.endHeld): under load the iteration's responses leave together at its end. A lone
 * stream's response leaves at once, ahead of the stream's logging and teardown: nothing else
 * could share its write, and holding it would only add that work to its latency.
 */
let streamsInFlight = 0;

export interface ListenerDeps {
  plugins: Map<WasmFilterConfig, WasmPlugin>; // by http_filters entry
  /** Each cluster's upstream Wasm filters (HttpProtocolOptions.http_filters), by cluster name. */
  upstreamPlugins?: Map<string, WasmPlugin[]>;
  clusters: Map<string, Cluster>;
  stats: GatewayStats;
  concurrency: number;
}

export class ConnectionManager {
  private server: http.Server | null = null;
  private nextConnectionId = 1;
  private readonly workerOf = new WeakMap<Socket, { worker: number; id: number; flush: LoopFlush }>();
  private readonly logSinks: { cfg: AccessLogConfig; write: AccessLogSink }[];
  private readonly routeSource: RouteSource;

  constructor(
    readonly listener: Listener,
    private readonly deps: ListenerDeps,
  ) {
    this.logSinks = listener.hcm.accessLogs.map((cfg) => ({ cfg, write: createAccessLogSink(cfg) }));
    const rc = listener.hcm.routeConfig;
    this.routeSource = {
      resolve: (headers) => {
        const vh = selectVirtualHost(rc, headers.get(":authority") ?? "");
        return vh ? matchRoute(vh, headers) : null;
      },
      cluster: (name) => deps.clusters.get(name),
    };
  }

  /**
   * Listens on the listener's address (or `portOverride`), or, given `fd`, on a socket another
   * worker thread already listens on: each worker accepts from the one socket (workers.ts).
   */
  async listen(portOverride?: number, fd?: number): Promise<number> {
    const server = http.createServer({ keepAlive: true, requestTimeout: 0, headersTimeout: 60_000, maxHeaderSize: MAX_REQUEST_HEADERS_BYTES }, (req, res) => this.onRequest(req, res));
    // Node drops headers past maxHeadersCount silently; Envoy refuses the request (below).
    server.maxHeadersCount = 0;
    server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => this.onClientError(err, socket));
    server.on("connection", (socket: Socket) => {
      const id = this.nextConnectionId++;
      this.workerOf.set(socket, { worker: (id - 1) % this.deps.concurrency, id, flush: flushWritesOncePerLoop(socket) });
    });
    this.server = server;
    const { address, port } = this.listener.address;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      if (fd !== undefined) server.listen({ fd }, () => resolve());
      else server.listen(portOverride ?? port, address, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  /** The listening socket's file descriptor, for the other worker threads. */
  get fd(): number {
    const fd = (this.server as unknown as { _handle?: { fd?: number } } | null)?._handle?.fd;
    if (fd === undefined || fd < 0) throw new Error(`listener ${this.listener.name} has no socket`);
    return fd;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
    // Flush the access logs: lines of streams that just finished must not be lost.
    await Promise.all(this.logSinks.map((l) => l.write.close()));
  }

  /**
   * A request llhttp could not parse (obs-fold, bare CR, NUL, conflicting Content-Length and
   * Transfer-Encoding, a bad chunk size, headers over the limit): Envoy's 400 or 431, then close.
   * Node's own default writes its 400 and destroys the socket at once, which throws away the
   * reply while the socket is corked (write-flush.ts); end() uncorks and flushes first.
   */
  private onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    const pending = (socket as Socket & { _httpMessage?: http.ServerResponse | null })._httpMessage;
    if (err.code === "ECONNRESET" || !socket.writable || pending?.headersSent) {
      // Nothing can be said (the peer is gone, or a response already started): reset, as Envoy does.
      socket.destroy();
      return;
    }
    // A request already being served logs its own line when the connection closes under it.
    const logged = pending == null;
    this.protocolError(socket, err.code !== undefined && HEADERS_TOO_LARGE.has(err.code) ? 431 : 400, codecErrorDetails(err.code), logged);
  }

  private protocolError(socket: Socket, status: 400 | 431, details: string, log: boolean): void {
    const prefix = this.listener.hcm.statPrefix;
    this.deps.stats.downstreamRequest(prefix);
    this.deps.stats.downstreamResponse(prefix, status);
    const reply = protocolErrorResponse(status);
    if (log) {
      // Envoy's stream for the bad request ends with the local reply: one access-log line,
      // response flag DPE (downstream protocol error).
      const conn = this.workerOf.get(socket) ?? { worker: 0, id: 0 };
      const info = new StreamInfo(conn.id, { address: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 }, { address: socket.localAddress ?? "", port: socket.localPort ?? 0 });
      info.responseCode = status;
      info.setResponseCodeDetails(details);
      info.responseFlags.add("DPE");
      info.bytesSent = reply.length - reply.indexOf("\r\n\r\n") - 4;
      for (const { cfg, write } of this.logSinks) write(formatAccessLog(cfg, this.record(info, socket)));
    }
    socket.end(reply, "latin1");
    // Whatever else arrives is not read: the connection is over.
    socket.on("data", () => {});
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.rawHeaders.length / 2 > MAX_HEADERS_COUNT) {
      // codec_impl.cc: headers_or_trailers.size() > max_headers_count_ → 431 (TooManyHeaders).
      // Stop Node's parser (its "data" listener): nothing more is read on this connection.
      req.socket.removeAllListeners("data");
      this.protocolError(req.socket, 431, "http1.too_many_headers", true);
      return;
    }
    const hcm = this.listener.hcm;
    const conn = this.workerOf.get(req.socket) ?? { worker: 0, id: 0, flush: null };
    const info = new StreamInfo(
      conn.id,
      { address: req.socket.remoteAddress ?? "", port: req.socket.remotePort ?? 0 },
      { address: req.socket.localAddress ?? "", port: req.socket.localPort ?? 0 },
      `HTTP/${req.httpVersion}`,
    );
    this.deps.stats.downstreamRequest(hcm.statPrefix);

    // The HTTP/1 codec: pseudo-headers first, then the request's own headers (Host → :authority).
    const headers = new HeaderMap([
      [":authority", req.headers.host ?? ""],
      [":path", req.url ?? "/"],
      [":method", req.method ?? "GET"],
      [":scheme", "http"],
    ]);
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const k = req.rawHeaders[i]!.toLowerCase();
      if (k !== "host") headers.add(k, req.rawHeaders[i + 1]!);
    }
    // The connection manager's own request mutations (generate_request_id, x-forwarded-proto).
    if (hcm.generateRequestId && !headers.has("x-request-id")) headers.set("x-request-id", randomUUID());
    headers.set("x-forwarded-proto", "http");
    const endStream = !req.headers["transfer-encoding"] && (req.headers["content-length"] === undefined || req.headers["content-length"] === "0");

    const sink = this.sinkFor(req, res, info, conn.flush);
    const fm = new FilterManager(info, sink, hcm.bufferLimitBytes);
    // Access logs run once, when the stream is destroyed (FilterManager.destroy): the stream is over.
    streamsInFlight++;
    fm.addAccessLog(() => void streamsInFlight--);
    for (const { cfg, write } of this.logSinks) fm.addAccessLog(() => write(formatAccessLog(cfg, this.record(info, req.socket))));
    fm.addAccessLog(() => this.deps.stats.downstreamResponse(hcm.statPrefix, info.responseCode ?? 0));

    // The filter chain is chosen with the route the request matched first, as Envoy does.
    const route = this.routeSource.resolve(headers);
    for (const f of hcm.httpFilters) {
      if (f.kind === "router") {
        const up = this.deps.upstreamPlugins;
        fm.addFilter(new RouterFilter(this.routeSource, route, this.deps.stats, { worker: conn.worker, bufferLimit: hcm.bufferLimitBytes, upstreamPlugins: (c) => up?.get(c.name) ?? [] }));
        continue;
      }
      if (!this.filterEnabled(f.name, f.disabled, route)) continue;
      // Each filter of the chain runs its own plugin (keyed by the filter, not its name).
      const filter = this.deps.plugins.get(f)?.createFilter(conn.worker);
      if (filter) fm.addFilter(filter);
    }

    res.on("close", () => {
      if (!fm.destroyed) fm.resetStream("downstream_remote_disconnect");
    });
    fm.decodeHeaders(null, headers, endStream);
    if (endStream) {
      req.resume();
      return;
    }
    req.on("data", (chunk: Buffer) => {
      if (!fm.destroyed) fm.decodeData(null, new BufferInstance(chunk), false);
    });
    req.on("end", () => {
      if (fm.destroyed) return;
      const trailers = Object.entries(req.trailers);
      if (trailers.length > 0) fm.decodeTrailers(null, new HeaderMap(trailers.map(([k, v]) => [k, String(v)])));
      else fm.decodeData(null, new BufferInstance(), true);
    });
    // Start reading now (Readable.read(0) runs _read), so that the body the parser pushes after
    // this handler returns is delivered as it is parsed, as every later chunk is, instead of
    // being buffered until the stream's nextTick resume flows it. Envoy's codec hands the body to
    // the filter chain within the read that parsed it (http1/codec_impl.cc: innerDispatch and
    // onMessageCompleteBase call dispatchBufferedBody).
    req.read(0);
  }

  /** http_filters[].disabled, overridden per route by typed_per_filter_config FilterConfig. */
  private filterEnabled(name: string, disabledByDefault: boolean, route: Route | null): boolean {
    const perRoute = route?.perFilterConfig.get(name);
    return perRoute ? !perRoute.disabled : !disabledByDefault;
  }

  private sinkFor(req: http.IncomingMessage, res: http.ServerResponse, info: StreamInfo, flush: LoopFlush | null): DownstreamSink {
    // The last data goes out with end(): one write and the terminator, where write() then end()
    // also schedules an uncork on nextTick. The bytes are the same.
    const end = (data?: Buffer): void => {
      if (flush !== null && streamsInFlight > 1) flush.endHeld(() => res.end(data));
      else res.end(data);
    };
    return {
      encodeHeaders: (h, endStream) => {
        const status = Number(h.get(":status") ?? 200);
        const flat: string[] = [];
        for (const [k, v] of h.entries()) {
          if (k.startsWith(":") || RESPONSE_SKIP.has(k)) continue;
          flat.push(k, v);
        }
        if (!h.has("server")) flat.push("server", "envoy");
        info.responseCode = status;
        try {
          res.writeHead(status, flat);
          if (endStream) end();
        } catch {
          req.socket.destroy();
        }
      },
      encodeData: (data, endStream) => {
        try {
          if (endStream) end(data.length > 0 ? data : undefined);
          else if (data.length > 0) res.write(data);
        } catch {
          req.socket.destroy();
        }
      },
      encodeTrailers: (t) => {
        res.addTrailers(Object.fromEntries(t.entries()));
        end();
      },
      reset: () => {
        req.socket.destroy();
      },
      readDisable: (disable) => {
        if (disable) req.pause();
        else req.resume();
      },
    };
  }

  private record(info: StreamInfo, socket: Socket): AccessLogRecord {
    return {
      startTime: info.startTime,
      requestHeaders: info.requestHeaders ?? new HeaderMap(),
      responseHeaders: info.responseHeaders,
      responseTrailers: info.responseTrailers,
      protocol: info.protocol,
      responseCode: info.responseCode,
      responseCodeDetails: info.responseCodeDetails ?? "",
      responseFlags: [...info.responseFlags].join(",") || "-",
      bytesReceived: info.bytesReceived,
      bytesSent: info.bytesSent,
      durationMs: info.durationMs(),
      upstreamHost: info.upstreamHost,
      upstreamCluster: info.clusterName,
      routeName: info.routeName,
      downstreamRemoteAddress: `${socket.remoteAddress ?? ""}:${socket.remotePort ?? 0}`,
      filterState: info.filterState,
    };
  }
}
