// The terminal filter (envoy.filters.http.router): picks the route (recomputed when a filter
// cleared the route cache), answers direct responses and unknown routes/clusters locally,
// rewrites prefix and host, and proxies to the cluster. Upstream failures become Envoy's local
// replies (503/504) before the response starts, and a reset after.

import { HeaderMap } from "../http/header-map.ts";
import { BufferInstance } from "../proxy/buffer.ts";
import { DataStatus, HeadersStatus, TrailersStatus } from "../abi/enums.ts";
import type { Cluster, Route } from "../envoy/bootstrap-types.ts";
import type { DecoderFilterCallbacks, StreamDecoderFilter, StreamFilterLifecycle } from "../http/filter-manager.ts";
import { envoyFailureInfo, envoyLocalReplyFor, startUpstream, type UpstreamFailure, type UpstreamRequest } from "./upstream.ts";
import type { GatewayStats } from "./gateway-stats.ts";
import type { WasmPlugin } from "../proxy/runtime.ts";
import { RetryState } from "./retry-policy.ts";
import { UpstreamTries } from "./upstream-tries.ts";

export interface RouteSource {
  /** The route for these headers (called again when a filter cleared the route cache). */
  resolve(headers: HeaderMap): Route | null;
  cluster(name: string): Cluster | undefined;
}

const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"];

/** What the router needs to run retries and a cluster's upstream filters for this stream. */
export interface RouterUpstreamDeps {
  worker: number;
  bufferLimit: number;
  /** The cluster's upstream Wasm filters, loaded (empty when it has none). */
  upstreamPlugins(cluster: Cluster): WasmPlugin[];
}

/** A non-negative integer header value (absl::SimpleAtoi on uint64), or null. */
function headerMs(h: HeaderMap, name: string): number | null {
  const v = h.get(name);
  h.remove(name);
  return v !== null && /^\d+$/.test(v) ? Number(v) : null;
}

export class RouterFilter implements StreamDecoderFilter, StreamFilterLifecycle {
  private cb!: DecoderFilterCallbacks;
  private upstream: UpstreamRequest | null = null;
  private upstreamDone = false;
  private startNs = 0n;

  constructor(
    private readonly routes: RouteSource,
    private readonly initialRoute: Route | null,
    private readonly stats: GatewayStats,
    private readonly deps: RouterUpstreamDeps | null = null,
  ) {}

  setDecoderFilterCallbacks(cb: DecoderFilterCallbacks): void {
    this.cb = cb;
  }

  decodeHeaders(headers: HeaderMap, endStream: boolean): HeadersStatus {
    const route = this.cb.routeCacheCleared() ? this.routes.resolve(headers) : this.initialRoute;
    const info = this.cb.streamInfo;
    if (!route) {
      this.cb.sendLocalReply(404, "", "route_not_found");
      return HeadersStatus.StopIteration;
    }
    info.routeName = route.name;
    if (route.action.kind === "direct") {
      this.cb.sendLocalReply(route.action.status, route.action.body ?? "", "direct_response");
      return HeadersStatus.StopIteration;
    }
    const action = route.action;
    const cluster = this.routes.cluster(action.cluster);
    info.clusterName = action.cluster;
    if (!cluster) {
      this.cb.sendLocalReply(503, "", "cluster_not_found");
      return HeadersStatus.StopIteration;
    }
    const up = headers.clone();
    for (const h of HOP_BY_HOP) up.remove(h);
    const path = up.get(":path") ?? "/";
    if (action.prefixRewrite !== undefined && route.match.prefix !== undefined) {
      up.set("x-envoy-original-path", path);
      up.set(":path", action.prefixRewrite + path.slice(route.match.prefix.length));
    }
    if (action.hostRewriteLiteral !== undefined) up.set(":authority", action.hostRewriteLiteral);
    // FilterUtility::finalTimeout: x-envoy-upstream-rq-timeout-ms and -per-try-timeout-ms override the route's.
    const timeoutMs = headerMs(up, "x-envoy-upstream-rq-timeout-ms") ?? action.timeoutMs;
    const perTryTimeoutMs = headerMs(up, "x-envoy-upstream-rq-per-try-timeout-ms") ?? action.retryPolicy?.perTryTimeoutMs ?? 0;
    const expected = perTryTimeoutMs > 0 && (timeoutMs === 0 || perTryTimeoutMs < timeoutMs) ? perTryTimeoutMs : timeoutMs;
    if (expected > 0) up.set("x-envoy-expected-rq-timeout-ms", String(expected));
    const retry = RetryState.create(action.retryPolicy ?? null, up);
    const plugins = this.deps?.upstreamPlugins(cluster) ?? [];
    this.stats.upstreamRequest(cluster.name);
    this.startNs = process.hrtime.bigint();
    const handler = {
      onHeaders: (h: HeaderMap, eos: boolean) => this.onUpstreamHeaders(cluster, h, eos),
      onData: (chunk: Buffer, eos: boolean) => {
        if (eos) this.upstreamDone = true;
        this.cb.encodeData(new BufferInstance(chunk), eos);
      },
      onTrailers: (t: HeaderMap) => {
        this.upstreamDone = true;
        this.cb.encodeTrailers(t);
      },
      onError: (f: UpstreamFailure) => this.onUpstreamError(cluster, f),
    };
    if (retry === null && plugins.length === 0 && perTryTimeoutMs === 0) {
      this.upstream = startUpstream(cluster, up, { timeoutMs }, handler);
    } else {
      const cb = this.cb;
      this.upstream = new UpstreamTries(cluster, up, retry, {
        timeoutMs,
        perTryTimeoutMs,
        bufferLimit: this.deps?.bufferLimit ?? 1_048_576,
        info,
        chain: plugins.length === 0 ? null : { plugins, worker: this.deps!.worker, info, downstreamLocalReply: (c, b, d, o) => cb.sendLocalReply(c, b, d, o) },
        onRetry: () => this.stats.upstreamRetry(cluster.name),
      }, handler);
    }
    info.upstreamHost = this.upstream.upstreamHost;
    if (endStream) this.upstream.end();
    return HeadersStatus.StopIteration;
  }

  decodeData(data: BufferInstance, endStream: boolean): DataStatus {
    if (this.upstream) {
      if (data.length > 0) this.upstream.write(data.toBuffer());
      if (endStream) this.upstream.end();
    }
    data.drain(data.length);
    return DataStatus.StopIterationNoBuffer;
  }

  decodeTrailers(trailers: HeaderMap): TrailersStatus {
    this.upstream?.end(trailers);
    return TrailersStatus.StopIteration;
  }

  private onUpstreamHeaders(cluster: Cluster, h: HeaderMap, eos: boolean): void {
    const code = Number(h.get(":status"));
    this.stats.upstreamResponse(cluster.name, code);
    for (const x of HOP_BY_HOP) h.remove(x);
    h.set("x-envoy-upstream-service-time", String(Number((process.hrtime.bigint() - this.startNs) / 1_000_000n)));
    if (eos) this.upstreamDone = true;
    this.cb.streamInfo.setResponseCodeDetails("via_upstream");
    this.cb.encodeHeaders(h, eos);
  }

  private onUpstreamError(cluster: Cluster, f: UpstreamFailure): void {
    this.upstreamDone = true;
    this.stats.upstreamFailure(cluster.name, f.kind);
    const failure = envoyFailureInfo(f);
    this.cb.streamInfo.responseFlags.add(failure.responseFlag);
    const reply = envoyLocalReplyFor(f);
    if (reply) this.cb.sendLocalReply(reply.status, reply.body, reply.details);
    else this.cb.resetStream(failure.details);
  }

  onDestroy(): void {
    if (this.upstream && !this.upstreamDone) this.upstream.abort();
  }
}
