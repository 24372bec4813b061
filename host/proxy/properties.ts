// proxy_get_property, resolved as Envoy does (Context::getProperty / findValue): CEL
// attributes first (request.*, response.*, source.*, destination.*, connection.*, upstream.*,
// xds.*), then plugin tokens, then filter state `wasm.<name>`. Values are serialized as
// Envoy's serializeValue: strings raw, integers 8 bytes little-endian, maps as header pairs.
//
// Request attributes that come from headers read the *held* request headers or, in on_log,
// the access-log copy: once headers have continued, request.path is NOT_FOUND, as in Envoy.

import { WasmResult } from "../abi/enums.ts";
import { encodePairs } from "../abi/pairs.ts";
import type { HeaderMap } from "../http/header-map.ts";
import type { ContextBase } from "./context.ts";

type Value = Uint8Array | Map<string, Value> | null;

const str = (s: string | null | undefined): Value => (s === null || s === undefined ? null : Buffer.from(s));
const int64 = (n: number | bigint | null | undefined): Value => {
  if (n === null || n === undefined) return null;
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(n));
  return b;
};
const bool = (v: boolean): Value => Uint8Array.of(v ? 1 : 0);
const headerMapValue = (h: HeaderMap | null): Value => (h ? new Map(h.entries().map(([k, v]) => [k, Buffer.from(v)])) : null);

function serialize(v: Value): Uint8Array {
  if (v instanceof Map) return encodePairs([...v.entries()].map(([k, x]) => [k, Buffer.from(serialize(x)).toString("utf8")]));
  return v ?? new Uint8Array(0);
}

function requestAttr(ctx: ContextBase, key: string): Value {
  const info = ctx.streamInfo();
  const h = ctx.activationRequestHeaders();
  const path = h?.get(":path") ?? null;
  switch (key) {
    case "path":
      return str(path);
    case "url_path":
      return str(path === null ? null : path.split("?")[0]!);
    case "query":
      return str(path === null ? null : path.includes("?") ? path.slice(path.indexOf("?") + 1) : "");
    case "host":
      return str(h?.get(":authority"));
    case "scheme":
      return str(h?.get(":scheme"));
    case "method":
      return str(h?.get(":method"));
    case "referer":
      return str(h?.get("referer"));
    case "useragent":
      return str(h?.get("user-agent"));
    case "id":
      return str(h?.get("x-request-id"));
    case "headers":
      return headerMapValue(h);
    case "time":
      return info ? int64(BigInt(info.startTime.getTime()) * 1_000_000n) : null;
    case "protocol":
      return info ? str(info.protocol) : null;
    case "size": {
      const cl = h?.get("content-length");
      return cl !== null && cl !== undefined ? int64(Number(cl)) : info ? int64(info.bytesReceived) : null;
    }
    case "total_size":
      return info ? int64(info.bytesReceived + (h?.byteSize() ?? 0)) : null;
    case "duration":
      return info && info.requestCompleteNs !== null ? int64(info.requestCompleteNs - info.startNs) : null;
    default:
      return null;
  }
}

function responseAttr(ctx: ContextBase, key: string): Value {
  const info = ctx.streamInfo();
  if (!info) return null;
  switch (key) {
    case "code":
      return int64(info.responseCode);
    case "code_details":
      return str(info.responseCodeDetails);
    case "flags":
      return int64(info.responseFlags.size);
    case "headers":
      return headerMapValue(ctx.activationResponseHeaders());
    case "trailers":
      return headerMapValue(ctx.activationResponseTrailers());
    case "size":
      return int64(info.bytesSent);
    case "total_size":
      return int64(info.bytesSent + (ctx.activationResponseHeaders()?.byteSize() ?? 0));
    default:
      return null;
  }
}

/**
 * The next segment's value under `f`. A module-level function, not a closure made per call:
 * tsx names every `const f = () => …` it creates (Object.defineProperty), which made each
 * get_property pay for it (V8 profile of the bench's chain: most of ai-metrics' time).
 */
function sub(rest: string[], f: (k: string) => Value): Value | undefined {
  return rest.length === 0 ? undefined : f(rest.shift()!);
}

function topLevel(ctx: ContextBase, name: string, rest: string[]): Value | undefined {
  const info = ctx.streamInfo();
  switch (name) {
    case "request":
      return info ? sub(rest, (k) => requestAttr(ctx, k)) : undefined;
    case "response":
      return info ? sub(rest, (k) => responseAttr(ctx, k)) : undefined;
    case "source":
      return info ? sub(rest, (k) => (k === "address" ? str(`${info.downstreamRemote.address}:${info.downstreamRemote.port}`) : k === "port" ? int64(info.downstreamRemote.port) : null)) : undefined;
    case "destination":
      return info ? sub(rest, (k) => (k === "address" ? str(`${info.downstreamLocal.address}:${info.downstreamLocal.port}`) : k === "port" ? int64(info.downstreamLocal.port) : null)) : undefined;
    case "connection":
      return info ? sub(rest, (k) => (k === "id" ? int64(info.connectionId) : k === "mtls" ? bool(false) : null)) : undefined;
    case "upstream":
      // upstream.* (source/extensions/filters/common/expr/context.cc, UpstreamWrapper)
      return info ? sub(rest, (k) => (k === "address" ? str(info.upstreamHost) : k === "port" ? int64(info.upstreamHost ? Number(info.upstreamHost.split(":").pop()) : null) : k === "request_attempt_count" ? int64(info.attemptCount) : null)) : undefined;
    case "xds":
      return sub(rest, (k) => (k === "route_name" ? str(info?.routeName) : k === "cluster_name" ? str(info?.clusterName) : null));
    case "plugin_name":
      return str(ctx.plugin.name);
    case "plugin_root_id":
      return str(ctx.plugin.rootId);
    case "plugin_vm_id":
      return str(ctx.vm.vmId);
    case "connection_id":
      return info ? int64(info.connectionId) : undefined;
    default: {
      const state = info?.filterState.getWasm(name);
      return state === undefined ? undefined : state;
    }
  }
}

export function resolveProperty(ctx: ContextBase, path: string[]): Uint8Array | WasmResult {
  if (path.length === 0 || path[0] === "") return WasmResult.NotFound;
  const rest = path.slice(1);
  let v = topLevel(ctx, path[0]!, rest);
  if (v === undefined || v === null) return WasmResult.NotFound;
  // Remaining segments index into maps (e.g. request.headers.<name>).
  while (rest.length > 0) {
    if (!(v instanceof Map)) return WasmResult.NotFound;
    const next: Value | undefined = v.get(rest.shift()!);
    if (next === undefined || next === null) return WasmResult.NotFound;
    v = next;
  }
  return serialize(v);
}
