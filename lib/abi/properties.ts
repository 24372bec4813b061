// Properties (Envoy attributes, plugin tokens, filter state). A path is a list of
// segments, sent as UTF-8 joined by \0 with no trailing NUL: ["request", "path"].
// Values are raw bytes: strings as-is, integers as 8 bytes little-endian.

import { proxy_get_property, proxy_set_property } from "./imports";
import { WasmResult } from "./enums";
import { beginLent, clearSlots, encodeAt, endLent, fromUtf8, Lent, LentRegion, lentSize, releasePins, RET_PTR, RET_SIZE, scratchFor, takeReturnedSlots } from "./memory";
import { setLastStatus } from "./status";

/** Serializes a property path: segments joined by \0, no trailing NUL. */
export function serializePath(path: string[]): ArrayBuffer {
  const n = path.length;
  const parts = new Array<ArrayBuffer>(n);
  let size = n > 0 ? n - 1 : 0;
  for (let i = 0; i < n; i++) {
    const b = String.UTF8.encode(unchecked(path[i]));
    unchecked((parts[i] = b));
    size += b.byteLength;
  }
  const out = new ArrayBuffer(size);
  let p = changetype<usize>(out);
  for (let i = 0; i < n; i++) {
    if (i > 0) store<u8>(p++, 0);
    const b = unchecked(parts[i]);
    memory.copy(p, changetype<usize>(b), b.byteLength);
    p += b.byteLength;
  }
  return out;
}

/** The raw value, or null (NOT_FOUND for an unknown property; see lastStatus). Never traps. */
export function getProperty(path: string[]): ArrayBuffer | null {
  return getPropertyAt(serializePath(path));
}

/** getProperty at a path already serialised (e.g. once per VM, for a read made per request). */
export function getPropertyAt(p: ArrayBuffer): ArrayBuffer | null {
  clearSlots();
  const s = proxy_get_property(changetype<usize>(p), p.byteLength, RET_PTR, RET_SIZE);
  setLastStatus(s);
  if (s != WasmResult.Ok) {
    releasePins();
    return null;
  }
  return takeReturnedSlots();
}

/** Largest region a PropertyReader grows to; a larger value is read into a buffer of its own. */
const MAX_REGION: usize = 64 << 10;

/**
 * Reads one property (its path serialised once) again and again into a region of its own,
 * which the host's malloc is lent for the call: no allocation, pin or adoption per read. The
 * value (ptr, len) is valid until the next read(); a value larger than the region is read as
 * getPropertyAt reads it (the region grows for the next read, up to MAX_REGION).
 */
export class PropertyReader {
  private readonly region: LentRegion;
  // A value larger than the region, kept alive until the next read.
  private own: ArrayBuffer | null = null;
  ptr: usize = 0;
  len: usize = 0;

  constructor(
    private readonly path: ArrayBuffer,
    capacity: i32 = 256,
  ) {
    this.region = new LentRegion(capacity, MAX_REGION);
  }

  /** Reads the value; false when absent (NOT_FOUND; see lastStatus). */
  read(): bool {
    const at = this.region.at;
    const cap = this.region.cap;
    this.own = null;
    beginLent(at, cap);
    const s = proxy_get_property(changetype<usize>(this.path), this.path.byteLength, RET_PTR, RET_SIZE);
    setLastStatus(s);
    const where = endLent(s, at, cap);
    if (where == Lent.Failed) return false;
    if (where == Lent.InRegion) {
      this.ptr = at;
      this.len = lentSize();
      return true;
    }
    const buf = takeReturnedSlots();
    this.own = buf;
    this.ptr = changetype<usize>(buf);
    this.len = <usize>buf.byteLength;
    this.region.fit(this.len);
    return true;
  }
}

/** A string-valued property, or null. */
export function getPropertyString(path: string[]): string | null {
  const v = getProperty(path);
  return v == null ? null : fromUtf8(v);
}

/** An int64 property (8 bytes LE, e.g. response.code), or `fallback` when absent or not 8 bytes. */
export function getPropertyInt(path: string[], fallback: i64): i64 {
  const v = getProperty(path);
  if (v == null || v.byteLength != 8) return fallback;
  return load<i64>(changetype<usize>(v));
}

/** Sets a property (filter state `wasm.<path>`). NOT_FOUND outside a stream. Returns the host status. */
export function setProperty(path: string[], value: ArrayBuffer): i32 {
  if (path.length == 1) {
    const seg = unchecked(path[0]);
    const sp = scratchFor(seg.length * 3);
    return proxy_set_property(sp, encodeAt(seg, sp), changetype<usize>(value), value.byteLength);
  }
  return setPropertyAt(serializePath(path), value);
}

/** setProperty at a path already serialised (e.g. once per VM, for a write made per request). */
export function setPropertyAt(p: ArrayBuffer, value: ArrayBuffer): i32 {
  return proxy_set_property(changetype<usize>(p), p.byteLength, changetype<usize>(value), value.byteLength);
}

/** Sets a property to a UTF-8 string. Returns the host status. */
export function setPropertyString(path: string[], value: string): i32 {
  if (path.length != 1) return setProperty(path, String.UTF8.encode(value));
  // One segment (the common filter-state key): path and value encoded side by side in scratch.
  const seg = unchecked(path[0]);
  const p = scratchFor((seg.length + value.length) * 3);
  const pn = encodeAt(seg, p);
  const vn = encodeAt(value, p + <usize>pn);
  return proxy_set_property(p, pn, p + <usize>pn, vn);
}
