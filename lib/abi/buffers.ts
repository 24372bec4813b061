// Byte buffers: request/response bodies, configurations, http-call response bodies.
// get clamps to the buffer (so over-reading is harmless); set cannot splice:
// start 0 drains `size` bytes then prepends, start >= length appends (Envoy Buffer copyFrom).

import { proxy_get_buffer_bytes, proxy_get_buffer_status, proxy_set_buffer_bytes } from "./imports";
import { WasmResult } from "./enums";
import { clearSlots, releasePins, RET_EXTRA, RET_PTR, RET_SIZE, takeReturnedSlots } from "./memory";
import { lastStatus, setLastStatus } from "./status";

/** Up to `maxSize` bytes from `start`, or null when the buffer is unavailable (see lastStatus). */
export function getBufferBytes(type: i32, start: u32, maxSize: u32): ArrayBuffer | null {
  clearSlots();
  const s = proxy_get_buffer_bytes(type, start, maxSize, RET_PTR, RET_SIZE);
  setLastStatus(s);
  if (s != WasmResult.Ok) {
    releasePins();
    return null;
  }
  return takeReturnedSlots();
}

/** The buffer's current size in bytes, or -1 when it is unavailable (see lastStatus). */
export function getBufferSize(type: i32): i64 {
  clearSlots();
  const s = proxy_get_buffer_status(type, RET_SIZE, RET_EXTRA);
  setLastStatus(s);
  return s == WasmResult.Ok ? <i64>load<u32>(RET_SIZE) : -1;
}

/** Raw set_buffer_bytes. Returns the host status. */
export function setBufferBytes(type: i32, start: u32, size: u32, data: ArrayBuffer): i32 {
  return proxy_set_buffer_bytes(type, start, size, changetype<usize>(data), data.byteLength);
}

/** Raw set_buffer_bytes from a view's window. Returns the host status. */
export function setBufferBytesFrom(type: i32, start: u32, size: u32, data: Uint8Array): i32 {
  return proxy_set_buffer_bytes(type, start, size, data.dataStart, data.byteLength);
}

/** Replaces the whole buffer with `data`. Returns the host status. */
export function replaceBuffer(type: i32, data: Uint8Array): i32 {
  const size = getBufferSize(type);
  if (size < 0) return lastStatus();
  return proxy_set_buffer_bytes(type, 0, <u32>size, data.dataStart, data.byteLength);
}

/** Appends `data` to the buffer. Returns the host status. */
export function appendBuffer(type: i32, data: Uint8Array): i32 {
  const size = getBufferSize(type);
  if (size < 0) return lastStatus();
  return proxy_set_buffer_bytes(type, <u32>size, 0, data.dataStart, data.byteLength);
}
