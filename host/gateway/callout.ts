// The client behind proxy_http_call: Envoy's AsyncClient (source/common/http/async_client_impl.cc)
// running a router over the cluster. It buffers the whole response. Failures the router answers
// with a local reply (connect failure 503, route timeout 504, ...) arrive as *successful*
// responses; only a reset after the response started, or a body over the async client's
// response buffer limit, is a failure ({kind: "reset"}).

import type { Cluster } from "../envoy/bootstrap-types.ts";
import { HeaderMap } from "../http/header-map.ts";
import { envoyLocalReplyFor, startUpstream, type UpstreamRequest } from "./upstream.ts";

export type CalloutResult = { kind: "response"; headers: HeaderMap; body: Buffer; trailers: HeaderMap } | { kind: "reset" };

/** kBufferLimitForResponse (runtime http.async_response_buffer_limit): 32 MiB. */
export const ASYNC_RESPONSE_BUFFER_LIMIT = 32 * 1024 * 1024;

/**
 * Sends one buffered request. `timeoutMs` 0 means no timeout. `signal` cancels the call
 * (Envoy cancels outstanding calls when the owning context goes away); the promise then
 * resolves to {kind: "reset"}.
 */
export function httpCallout(
  cluster: Cluster | undefined,
  headers: HeaderMap,
  body: Buffer,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<CalloutResult> {
  // The router's answer when the cluster is gone: 503, empty body, details cluster_not_found.
  if (cluster === undefined) return Promise.resolve(localResponse(503, ""));
  if (signal?.aborted) return Promise.resolve({ kind: "reset" });

  const req = headers.clone();
  if (body.length > 0) req.set("content-length", String(body.length));
  // AsyncClient StreamOptions: send_internal defaults true; wasm turns send_xff off. The router
  // (suppress_envoy_headers=false in the async client's config) advertises the timeout.
  req.set("x-envoy-internal", "true");
  if (timeoutMs > 0) req.set("x-envoy-expected-rq-timeout-ms", String(timeoutMs));

  return new Promise<CalloutResult>((resolve) => {
    let settled = false;
    const settle = (r: CalloutResult): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      resolve(r);
    };
    let responseHeaders: HeaderMap | null = null;
    const chunks: Buffer[] = [];
    let size = 0;
    const sentAt = process.hrtime.bigint();
    const upstream: UpstreamRequest = startUpstream(cluster, req, { timeoutMs }, {
      onHeaders: (h, endStream) => {
        // Router::Filter::onUpstreamHeaders adds the service time unless envoy headers are suppressed.
        h.set("x-envoy-upstream-service-time", String(Number((process.hrtime.bigint() - sentAt) / 1_000_000n)));
        responseHeaders = h;
        if (endStream) settle({ kind: "response", headers: h, body: Buffer.alloc(0), trailers: new HeaderMap() });
      },
      onData: (chunk, endStream) => {
        if (settled || responseHeaders === null) return;
        size += chunk.length;
        if (size > ASYNC_RESPONSE_BUFFER_LIMIT) {
          // AsyncRequestSharedImpl::onData: over the limit, drain and reset → onFailure.
          upstream.abort();
          settle({ kind: "reset" });
          return;
        }
        if (chunk.length > 0) chunks.push(chunk);
        if (endStream) settle({ kind: "response", headers: responseHeaders, body: Buffer.concat(chunks, size), trailers: new HeaderMap() });
      },
      onTrailers: (t) => {
        if (responseHeaders !== null) settle({ kind: "response", headers: responseHeaders, body: Buffer.concat(chunks, size), trailers: t });
      },
      onError: (failure) => {
        const reply = envoyLocalReplyFor(failure);
        settle(reply === null ? { kind: "reset" } : localResponse(reply.status, reply.body));
      },
    });
    const onAbort = (): void => {
      upstream.abort();
      settle({ kind: "reset" });
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    if (body.length > 0) upstream.write(body);
    upstream.end();
  });
}

/** A router local reply as the async client delivers it (Utility::prepareLocalReply). */
function localResponse(status: number, body: string): CalloutResult {
  const headers = new HeaderMap([[":status", String(status)]]);
  if (body.length > 0) {
    headers.set("content-length", String(Buffer.byteLength(body)));
    headers.set("content-type", "text/plain");
  }
  return { kind: "response", headers, body: Buffer.from(body), trailers: new HeaderMap() };
}
