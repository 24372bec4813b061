// Header maps (request/response headers and trailers, http-call response maps).
// Envoy lower-cases keys; get returns the first value only. Outside the window in which a
// map is readable or writable Envoy answers BAD_ARGUMENT: these wrappers pass that on.

import {
  proxy_add_header_map_value,
  proxy_get_header_map_pairs,
  proxy_get_header_map_size,
  proxy_get_header_map_value,
  proxy_remove_header_map_value,
  proxy_replace_header_map_value,
  proxy_set_header_map_pairs,
} from "./imports";
import { WasmResult } from "./enums";
import { beginLent, clearSlots, encodeAt, endLent, fromUtf8, Lent, releasePins, RET_PTR, RET_SIZE, scratchFor, takeReturnedSlots } from "./memory";
import { deserializePairs, HeaderPair, serializePairs } from "./pairs";
import { setLastStatus } from "./status";

/** The first value of `key` as raw bytes, or null (see getHeader). */
export function getHeaderBytes(map: i32, key: string): ArrayBuffer | null {
  const k = scratchFor(key.length * 3);
  const kn = encodeAt(key, k);
  clearSlots();
  const s = proxy_get_header_map_value(map, k, kn, RET_PTR, RET_SIZE);
  setLastStatus(s);
  if (s != WasmResult.Ok) {
    releasePins();
    return null;
  }
  return takeReturnedSlots();
}

/** The first value of `key`, or null (absent: NOT_FOUND; map unavailable: BAD_ARGUMENT; see lastStatus). */
export function getHeader(map: i32, key: string): string | null {
  const v = getHeaderBytes(map, key);
  return v == null ? null : fromUtf8(v);
}

/** Adds a value (a second entry if the key exists). Returns the host status. */
export function addHeader(map: i32, key: string, value: string): i32 {
  const k = scratchFor((key.length + value.length) * 3);
  const kn = encodeAt(key, k);
  const vn = encodeAt(value, k + <usize>kn);
  return proxy_add_header_map_value(map, k, kn, k + <usize>kn, vn);
}

/** Sets a key to one value (adds it if absent). Returns the host status. */
export function replaceHeader(map: i32, key: string, value: string): i32 {
  const k = scratchFor((key.length + value.length) * 3);
  const kn = encodeAt(key, k);
  const vn = encodeAt(value, k + <usize>kn);
  return proxy_replace_header_map_value(map, k, kn, k + <usize>kn, vn);
}

/** replaceHeader with the key already encoded and the value given as the `len` bytes at `at`. */
export function replaceHeaderAt(map: i32, key: ArrayBuffer, at: usize, len: usize): i32 {
  return proxy_replace_header_map_value(map, changetype<usize>(key), key.byteLength, at, len);
}

/** Removes every value of a key (OK if absent). Returns the host status. */
export function removeHeader(map: i32, key: string): i32 {
  const k = scratchFor(key.length * 3);
  return proxy_remove_header_map_value(map, k, encodeAt(key, k));
}

/** Every entry in order, pseudo-headers included; null when the call fails or the bytes are malformed. */
export function getHeaderPairs(map: i32): HeaderPair[] | null {
  const b = getHeaderPairsBytes(map);
  if (b == null) return null;
  const pairs = deserializePairs(b);
  if (pairs == null) setLastStatus(WasmResult.SerializationFailure);
  return pairs;
}

/** The map as the host serialised it (pairs.ts reads it), or null when the call fails. */
export function getHeaderPairsBytes(map: i32): ArrayBuffer | null {
  clearSlots();
  const s = proxy_get_header_map_pairs(map, RET_PTR, RET_SIZE);
  setLastStatus(s);
  if (s != WasmResult.Ok) {
    releasePins();
    return null;
  }
  return takeReturnedSlots();
}

/**
 * get_header_map_pairs with `region` lent to malloc for the call (memory.ts beginLent): `region`
 * itself when the pairs landed there (their size is lentSize() until the next host call; the
 * bytes are valid until the region's next use), else a buffer of their own (larger than the
 * region), or null on failure. Saves the allocation, pin and adoption of a buffer per headers
 * callback.
 */
export function getHeaderPairsLent(map: i32, region: ArrayBuffer): ArrayBuffer | null {
  const at = changetype<usize>(region);
  const cap = <usize>region.byteLength;
  beginLent(at, cap);
  const s = proxy_get_header_map_pairs(map, RET_PTR, RET_SIZE);
  setLastStatus(s);
  const where = endLent(s, at, cap);
  if (where == Lent.Failed) return null;
  if (where == Lent.Own) return takeReturnedSlots();
  return region;
}

/** Replaces the whole map. Returns the host status. */
export function setHeaderPairs(map: i32, pairs: HeaderPair[]): i32 {
  const buf = serializePairs(pairs);
  return proxy_set_header_map_pairs(map, changetype<usize>(buf), buf.byteLength);
}

/** Envoy's answer to get_header_map_size (the map's byte size, not a count), or -1 on failure. */
export function getHeaderMapSize(map: i32): i64 {
  store<u64>(RET_SIZE, 0);
  const s = proxy_get_header_map_size(map, RET_SIZE);
  setLastStatus(s);
  return s == WasmResult.Ok ? <i64>load<u32>(RET_SIZE) : -1;
}
