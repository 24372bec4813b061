// The prompt filters read each request body (and the content-length value) into memory kept for
// the VM's life instead of a fresh buffer per request. On a 1 KB chat the fresh buffer was about half the cost of reading the
// body: the host asks the module's malloc for it (an allocation, zero-filled, pinned and
// unpinned), a view object is made around it, and both are garbage for the collector.
//
// How: the body reader lends the kept buffer to the module's `malloc` for one call (lib/abi/memory
// beginLent/endLent, as PropertyReader does); the host's get_buffer_bytes then asks malloc for the
// body's size and is handed the kept buffer. Anything else (a body larger than KEPT_MAX, a host that allocates differently) takes
// the ordinary path. The body a filter is given is then valid only during its onBody callback,
// so a filter opts in (readRequestBodiesKept) only when it never keeps one (what it keeps, it
// copies): the prompt filters, content safety and the rate limiter.

import { BufferType, MapType } from "../abi/enums";
import { proxy_get_buffer_bytes, proxy_get_header_map_value, proxy_remove_header_map_value } from "../abi/imports";
import { beginLent, endLent, Lent, LentRegion, lentSize, RET_PTR, RET_SIZE, takeReturnedSlots } from "../abi/memory";
import { readBody, setBodyReader } from "../runtime/exports";
import { parseDecimal, parseDecimalAt } from "./decimal";

/** Bodies up to this size are read into the kept buffer (it grows to the largest such body). */
export const KEPT_MAX: i32 = 65536;

const kept = new LentRegion(1024, <usize>KEPT_MAX);
/** The view handed to the filter: kept's first `byteLength` bytes (set per body). */
let view = Uint8Array.wrap(kept.buf);
/** The buffered body (`size` bytes) of `type`, in the kept buffer when it fits. */
export function readBodyKept(type: i32, size: u32): Uint8Array {
  if (size == 0 || size > <u32>KEPT_MAX || type != BufferType.HttpRequestBody) return readBody(type, size);
  // Grown before the call (the size is known): a few sizes over the VM's life, not one per body.
  if (kept.fit(<usize>size)) view = Uint8Array.wrap(kept.buf);
  const at = kept.at;
  const cap = kept.cap;
  beginLent(at, cap);
  const where = endLent(proxy_get_buffer_bytes(type, 0, size, RET_PTR, RET_SIZE), at, cap);
  if (where == Lent.Failed) return new Uint8Array(0);
  if (where == Lent.Own) return Uint8Array.wrap(takeReturnedSlots());
  const n = lentSize();
  // The view's length is the body's: one view object for every body.
  store<i32>(changetype<usize>(view) + offsetof<Uint8Array>("byteLength"), <i32>n);
  return view;
}

/**
 * Makes this module's request-body reads use the kept buffer. Call once, at top level, in a
 * filter that never keeps a request body past the callback it was given in: the next stream's
 * body overwrites it.
 */
export function readRequestBodiesKept(): void {
  setBodyReader(readBodyKept);
}

// @ts-ignore: decorator
@lazy const CONTENT_LENGTH: usize = memory.data<u8>([0x63, 0x6f, 0x6e, 0x74, 0x65, 0x6e, 0x74, 0x2d, 0x6c, 0x65, 0x6e, 0x67, 0x74, 0x68]);
const CONTENT_LENGTH_BYTES: usize = 14;
/** Room for a content-length value (20 digits is 2^64; a longer value is not a size anyway). */
const VALUE_CAP: usize = 32;
// @ts-ignore: decorator
@lazy const VALUE: usize = memory.data(<i32>VALUE_CAP, 8);

/** requestContentLength's answer when the request has no content-length. */
export const NO_CONTENT_LENGTH: i64 = -2;

/**
 * The request's content-length: its value, -1 when it is not a decimal number, or
 * NO_CONTENT_LENGTH. Read into kept memory (the value's own allocation, pin and unpin were
 * about a third of a headers callback).
 */
export function requestContentLength(): i64 {
  beginLent(VALUE, VALUE_CAP);
  const where = endLent(proxy_get_header_map_value(MapType.HttpRequestHeaders, CONTENT_LENGTH, CONTENT_LENGTH_BYTES, RET_PTR, RET_SIZE), VALUE, VALUE_CAP);
  if (where == Lent.Failed) return NO_CONTENT_LENGTH;
  if (where == Lent.InRegion) return parseDecimalAt(VALUE, <i32>lentSize());
  return parseDecimal(takeReturnedSlots());
}

/** Removes the request's content-length (the body is about to change size). Returns the host status. */
export function removeRequestContentLength(): i32 {
  return proxy_remove_header_map_value(MapType.HttpRequestHeaders, CONTENT_LENGTH, CONTENT_LENGTH_BYTES);
}
