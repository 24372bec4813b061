// Where a prompt filter writes a rewritten request body: a region of static memory kept for the
// VM's life, so the common body costs no allocation (a body-sized buffer per request was the
// largest allocation left, and garbage for the collector). It lies outside the collector's
// heap: keeping it does not move the heap's peak (a long-lived builder the size of the largest
// body did, and doubled the VM's linear memory). A body larger than the region gets a buffer of
// its own, dropped once the host has copied it.

import { BufferType } from "../abi/enums";
import { proxy_set_buffer_bytes } from "../abi/imports";

/** Bytes of static output space (one 64 KiB Wasm page). */
export const OUTPUT_REGION_BYTES: i32 = 65536;

// @ts-ignore: decorator
@lazy const REGION: usize = memory.data(OUTPUT_REGION_BYTES, 16);

/** The buffer of a body too large for the region, alive until replaceBodyAt has sent it. */
let spill: ArrayBuffer | null = null;

/** Space for `n` output bytes, valid until replaceBodyAt (no allocation when n fits the region). */
export function outputRegion(n: i32): usize {
  if (n <= OUTPUT_REGION_BYTES) return REGION;
  const b = new ArrayBuffer(n);
  spill = b;
  return changetype<usize>(b);
}

/**
 * Replaces the request body `body` (the whole body just delivered) by the `n` bytes at `p`
 * (from outputRegion). Returns the host status.
 */
export function replaceBodyAt(body: Uint8Array, p: usize, n: i32): i32 {
  const s = proxy_set_buffer_bytes(BufferType.HttpRequestBody, 0, <u32>body.length, p, <usize>n);
  spill = null;
  return s;
}
