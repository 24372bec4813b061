// Side calls from a stream to another service (the transformers' LLM, Azure Content Safety)
// with proxy_http_call. Envoy calls a cluster, not a URL, so the cluster is the URL's
// authority (host or host:port, exactly as written) unless the filter's own `*_cluster`
// field names another; :scheme, :authority and :path come from the URL. One helper for
// every filter, so each names its cluster the same way (see DESIGN.md "Reaching other services").

import { HeaderPair } from "../abi/pairs";
import { HttpContext } from "./context";
import { HttpCallCallback } from "./http-call";

/** Where a filter's side calls go: the Envoy cluster and the request line's parts. */
export class ServiceEndpoint {
  constructor(
    /** The Envoy cluster proxy_http_call names. */
    public cluster: string,
    /** "http" or "https" (the cluster decides TLS; sent as :scheme). */
    public scheme: string,
    /** host[:port] for :authority. */
    public authority: string,
    /** Path with its query, e.g. "/contentsafety/text:analyze?api-version=2023-10-01". */
    public path: string,
  ) {}
}

/** The endpoint for a URL's parts; `clusterOverride` ("" = none) replaces the authority as the cluster. */
export function serviceEndpoint(scheme: string, authority: string, path: string, clusterOverride: string): ServiceEndpoint {
  return new ServiceEndpoint(clusterOverride.length > 0 ? clusterOverride : authority, scheme, authority, path.length > 0 ? path : "/");
}

/**
 * Calls `ep` with `method`, the pseudo-headers from `ep` followed by `headers`, and `body`.
 * The response (or the failure: reset, 503 for no healthy upstream, 504 for a timeout) goes
 * to `callback(origin, response)` with `origin` as the effective context. Returns the token,
 * or the negated WasmResult when the host refused the call (an unknown cluster is
 * BadArgument in Envoy): the callback then never runs and the caller answers the error.
 */
export function callService(origin: HttpContext, ep: ServiceEndpoint, method: string, headers: HeaderPair[], body: ArrayBuffer | null, timeoutMs: u32, callback: HttpCallCallback): i64 {
  const all = new Array<HeaderPair>(headers.length + 4);
  all[0] = new HeaderPair(":method", method);
  all[1] = new HeaderPair(":path", ep.path);
  all[2] = new HeaderPair(":authority", ep.authority);
  all[3] = new HeaderPair(":scheme", ep.scheme);
  for (let i = 0; i < headers.length; i++) all[i + 4] = unchecked(headers[i]);
  return origin.root.httpCall(ep.cluster, all, body, timeoutMs, callback, origin);
}
