// Kong's identifiers mapped to what Envoy knows about a request. Where Kong falls back to
// the client IP (a value it cannot resolve), so does this filter.
//   ip          the downstream address Envoy saw (`source.address`, port removed); with
//               use_remote_address/xff_num_trusted_hops this is the real client, as Kong's
//               trusted_ips make it.
//   header      the value of `header_name`
//   path        `path` when the request path (no query) equals it (Kong's rule)
//   consumer    `x-consumer-id`, the header Kong sets for the authenticated consumer: in
//               Envoy an authentication filter ahead of this one sets it (jwt_authn
//               claim_to_headers), else the credential
//   credential  the credential the client presented (authorization, api-key, x-api-key,
//               x-goog-api-key), hashed: the key never holds the secret
//   service     the route's name (`xds.route_name`)
// The value becomes part of the counter key as a 64-bit FNV-1a hash, so a long or hostile
// header cannot blow up the key and a credential never sits in shared data.

import { HttpContext } from "../../lib/runtime";
import { Identifier, RateLimitConfig } from "./config";

const CREDENTIAL_HEADERS: string[] = ["authorization", "api-key", "x-api-key", "x-goog-api-key"];
const K_SOURCE: string[] = ["source", "address"];
const K_ROUTE: string[] = ["xds", "route_name"];

/** 64-bit FNV-1a of the UTF-16 code units, as 16 hex digits. */
export function hashHex(s: string): string {
  let h: u64 = 0xcbf29ce484222325;
  for (let i = 0; i < s.length; i++) {
    h ^= <u64>s.charCodeAt(i);
    h *= 0x100000001b3;
  }
  let out = h.toString(16);
  while (out.length < 16) out = "0" + out;
  return out;
}

function clientIp(ctx: HttpContext): string {
  const a = ctx.getPropertyString(K_SOURCE);
  if (a == null) return "unknown";
  // "1.2.3.4:5678", "[::1]:5678" or "::1:5678" (no brackets): drop the port after the last ':'.
  const c = a.lastIndexOf(":");
  let ip = c > 0 ? a.substring(0, c) : a;
  if (ip.startsWith("[") && ip.endsWith("]")) ip = ip.substring(1, ip.length - 1);
  return ip;
}

function credential(ctx: HttpContext): string | null {
  for (let i = 0; i < CREDENTIAL_HEADERS.length; i++) {
    const v = ctx.getRequestHeader(unchecked(CREDENTIAL_HEADERS[i]));
    if (v != null && v.length > 0) return "cred:" + v;
  }
  return null;
}

/** The identifier's value for this request, with Kong's fallback to the client IP. */
export function identify(ctx: HttpContext, c: RateLimitConfig): string {
  let v: string | null = null;
  switch (c.identifier) {
    case Identifier.Header: {
      const h = ctx.getRequestHeader(c.headerName);
      if (h != null && h.length > 0) v = "header:" + h;
      break;
    }
    case Identifier.Path: {
      let p = ctx.getRequestHeader(":path");
      if (p != null) {
        const q = p.indexOf("?");
        if (q >= 0) p = p.substring(0, q);
        if (p == c.path) v = "path:" + p;
      }
      break;
    }
    case Identifier.Consumer: {
      const h = ctx.getRequestHeader("x-consumer-id");
      v = h != null && h.length > 0 ? "consumer:" + h : credential(ctx);
      break;
    }
    case Identifier.Credential:
      v = credential(ctx);
      break;
    case Identifier.Service: {
      const r = ctx.getPropertyString(K_ROUTE);
      if (r != null && r.length > 0) v = "service:" + r;
      break;
    }
  }
  return v != null ? v : "ip:" + clientIp(ctx);
}
