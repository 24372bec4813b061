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
import { flushWritesOncePerLoop } from "./write-flush.ts";
import { createAccessLogSink, formatAccessLog, type AccessLogRecord, type AccessLogSink } from "./access-log.ts";

// Headers Node's server manages itself or that must not be repeated downstream.
const RESPONSE_SKIP = new Set(["connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "date"]);

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
  private readonly workerOf = new WeakMap<Socket, { worker: number; id: number }>();
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

  async listen(portOverride?: number): Promise<number> {
    const server = http.createServer({ keepAlive: true, requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => this.onRequest(req, res));
    server.on("connection", (socket: Socket) => {
      const id = this.nextConnectionId++;
      this.workerOf.set(socket, { worker: (id - 1) % this.deps.concurrency, id });
      flushWritesOncePerLoop(socket);
    });
    this.server = server;
    const { address, port } = this.listener.address;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(portOverride ?? port, address, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
    // Flush the access logs: lines of streams that just finished must not be lost.
    await Promise.all(this.logSinks.map((l) => l.write.close()));
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const hcm = this.listener.hcm;
    const conn = this.workerOf.get(req.socket) ?? { worker: 0, id: 0 };
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

    const sink = this.sinkFor(req, res, info);
    const fm = new FilterManager(info, sink, hcm.bufferLimitBytes);
    for (const { cfg, write } of this.logSinks) fm.addAccessLog(() => write(formatAccessLog(cfg, this.record(info, req))));
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
  }

  /** http_filters[].disabled, overridden per route by typed_per_filter_config FilterConfig. */
  private filterEnabled(name: string, disabledByDefault: boolean, route: Route | null): boolean {
    const perRoute = route?.perFilterConfig.get(name);
    return perRoute ? !perRoute.disabled : !disabledByDefault;
  }

  private sinkFor(req: http.IncomingMessage, res: http.ServerResponse, info: StreamInfo): DownstreamSink {
    return {
      encodeHeaders: (h, end) => {
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
          if (end) res.end();
        } catch {
          req.socket.destroy();
        }
      },
      encodeData: (data, end) => {
        try {
          if (data.length > 0) res.write(data);
          if (end) res.end();
        } catch {
          req.socket.destroy();
        }
      },
      encodeTrailers: (t) => {
        res.addTrailers(Object.fromEntries(t.entries()));
        res.end();
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

  private record(info: StreamInfo, req: http.IncomingMessage): AccessLogRecord {
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
      downstreamRemoteAddress: `${req.socket.remoteAddress ?? ""}:${req.socket.remotePort ?? 0}`,
      filterState: info.filterState,
    };
  }
}
