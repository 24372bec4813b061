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

const FNV_OFFSET: u64 = 0xcbf29ce484222325;

/** 64-bit FNV-1a over the UTF-16 code units of `s`, continued from `h`. */
function fnv(h: u64, s: string): u64 {
  for (let i = 0; i < s.length; i++) {
    h ^= <u64>s.charCodeAt(i);
    h *= 0x100000001b3;
  }
  return h;
}

/** The hash of `prefix` + `value` (the identifier's kind and its value), without joining them. */
function hashOf(prefix: string, value: string): u64 {
  return fnv(fnv(FNV_OFFSET, prefix), value);
}

/** The identifier hash as 16 lowercase hex digits (the counter key's and the descriptor's text). */
export function hashHex(h: u64): string {
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

/** The credential the request presents (the first credential header with a value), or null. */
function credential(ctx: HttpContext): string | null {
  for (let i = 0; i < CREDENTIAL_HEADERS.length; i++) {
    const v = ctx.getRequestHeader(unchecked(CREDENTIAL_HEADERS[i]));
    if (v != null && v.length > 0) return v;
  }
  return null;
}

/** Whether a header or property value is there to identify by. */
@inline function present(v: string | null): bool {
  return v != null && v.length > 0;
}

/**
 * The 64-bit FNV-1a hash of the identifier's value for this request (of "header:" + the value,
 * and so on, hashed without joining them), with Kong's fallback to the client IP. `path` is the
 * request's :path, which the caller has read already ("" when absent).
 */
export function identify(ctx: HttpContext, c: RateLimitConfig, path: string): u64 {
  switch (c.identifier) {
    case Identifier.Header: {
      const v = ctx.getRequestHeader(c.headerName);
      if (present(v)) return hashOf("header:", v!);
      break;
    }
    case Identifier.Path: {
      const q = path.indexOf("?");
      const p = q >= 0 ? path.substring(0, q) : path;
      if (p == c.path) return hashOf("path:", p);
      break;
    }
    case Identifier.Consumer: {
      const v = ctx.getRequestHeader("x-consumer-id");
      if (present(v)) return hashOf("consumer:", v!);
      const k = credential(ctx);
      if (k != null) return hashOf("cred:", k);
      break;
    }
    case Identifier.Credential: {
      const k = credential(ctx);
      if (k != null) return hashOf("cred:", k);
      break;
    }
    case Identifier.Service: {
      const r = ctx.getPropertyString(K_ROUTE);
      if (present(r)) return hashOf("service:", r!);
      break;
    }
  }
  return hashOf("ip:", clientIp(ctx));
}
