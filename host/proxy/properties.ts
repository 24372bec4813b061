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
const TWO_32 = 2 ** 32;
const int64 = (n: number | bigint | null | undefined): Value => {
  if (n === null || n === undefined) return null;
  if (typeof n === "number" && Number.isSafeInteger(n)) {
    // Two's complement in two words, without a BigInt and a Buffer per value (response.code
    // is read on every request): ToUint32 of n and of floor(n / 2^32) are its low and high words.
    // Byte by byte: a DataView would need b.buffer, which moves the small array off V8's heap.
    const b = new Uint8Array(8);
    const lo = n >>> 0;
    const hi = Math.floor(n / TWO_32) >>> 0;
    b[0] = lo;
    b[1] = lo >>> 8;
    b[2] = lo >>> 16;
    b[3] = lo >>> 24;
    b[4] = hi;
    b[5] = hi >>> 8;
    b[6] = hi >>> 16;
    b[7] = hi >>> 24;
    return b;
  }
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

/** The top-level names whose value is the next segment's, looked up in an attribute group. */
const GROUPS = new Set(["request", "response", "source", "destination", "connection", "upstream", "xds"]);

/**
 * The value of `name`'s group member `k`. A module-level function with the group as a switch,
 * not a closure made per call (tsx names every `const f = () => …` it creates, which made each
 * get_property pay for it: V8 profile of the bench's chain).
 */
function groupMember(ctx: ContextBase, name: string, k: string): Value {
  const info = ctx.streamInfo();
  switch (name) {
    case "request":
      return requestAttr(ctx, k);
    case "response":
      return responseAttr(ctx, k);
    case "source":
      return k === "address" ? str(`${info!.downstreamRemote.address}:${info!.downstreamRemote.port}`) : k === "port" ? int64(info!.downstreamRemote.port) : null;
    case "destination":
      return k === "address" ? str(`${info!.downstreamLocal.address}:${info!.downstreamLocal.port}`) : k === "port" ? int64(info!.downstreamLocal.port) : null;
    case "connection":
      return k === "id" ? int64(info!.connectionId) : k === "mtls" ? bool(false) : null;
    case "upstream":
      // upstream.* (source/extensions/filters/common/expr/context.cc, UpstreamWrapper)
      return k === "address" ? str(info!.upstreamHost) : k === "port" ? int64(info!.upstreamHost ? Number(info!.upstreamHost.split(":").pop()) : null) : k === "request_attempt_count" ? int64(info!.attemptCount) : null;
    default: // xds
      return k === "route_name" ? str(info?.routeName) : k === "cluster_name" ? str(info?.clusterName) : null;
  }
}

/** The value of a top-level name that is not a group. */
function topLevel(ctx: ContextBase, name: string, slot: number | undefined): Value | undefined {
  switch (name) {
    case "plugin_name":
      return str(ctx.plugin.name);
    case "plugin_root_id":
      return str(ctx.plugin.rootId);
    case "plugin_vm_id":
      return str(ctx.vm.vmId);
    case "connection_id": {
      const info = ctx.streamInfo();
      return info ? int64(info.connectionId) : undefined;
    }
    default:
      return ctx.streamInfo()?.filterState.getWasm(name, slot);
  }
}

/**
 * A path's value, serialized, or NOT_FOUND. `path` is read, never changed (the ABI layer
 * hands the same segment list for every read of one path). `slot` is the first segment's
 * keySlot when the caller has it (readKey's, for a one-segment path), else computed if needed.
 */
export function resolveProperty(ctx: ContextBase, path: readonly string[], slot?: number): Uint8Array | WasmResult {
  if (path.length === 0 || path[0] === "") return WasmResult.NotFound;
  const name = path[0]!;
  let v: Value | undefined;
  let i = 1;
  if (GROUPS.has(name)) {
    // Every group but xds needs a stream; a group without its member is NOT_FOUND.
    if ((name !== "xds" && !ctx.streamInfo()) || path.length < 2) return WasmResult.NotFound;
    v = groupMember(ctx, name, path[1]!);
    i = 2;
  } else {
    v = topLevel(ctx, name, slot);
  }
  if (v === undefined || v === null) return WasmResult.NotFound;
  // Remaining segments index into maps (e.g. request.headers.<name>).
  for (; i < path.length; i++) {
    if (!(v instanceof Map)) return WasmResult.NotFound;
    const next: Value | undefined = v.get(path[i]!);
    if (next === undefined || next === null) return WasmResult.NotFound;
    v = next;
  }
  return serialize(v);
}
