// The prompt filters read each request body into one buffer kept for the VM's life instead of a
// fresh one per request. On a 1 KB chat the fresh buffer was about half the cost of reading the
// body: the host asks the module's malloc for it (an allocation, zero-filled, pinned and
// unpinned), a view object is made around it, and both feed the incremental collector.
//
// How: the body reader arms `malloc` (this module's export, lib/prompt/exports.ts) for one
// call; the host's get_buffer_bytes then asks malloc for the body's size and is handed the kept
// buffer. Anything else (a body larger than KEPT_MAX, a host that allocates differently) takes
// the ordinary path. The body a filter is given is valid only during its onBody callback: the
// prompt filters never keep it (what they keep, they copy).

import { BufferType, WasmResult } from "../abi/enums";
import { proxy_get_buffer_bytes } from "../abi/imports";
import { clearSlots, malloc as gcMalloc, releasePins, RET_PTR, RET_SIZE, takeReturnedSlots } from "../abi/memory";
import { readBody, setBodyReader } from "../runtime/exports";

/** Bodies up to this size are read into the kept buffer (it grows to the largest such body). */
export const KEPT_MAX: i32 = 65536;

let kept = new ArrayBuffer(0);
/** The view handed to the filter: kept's first `byteLength` bytes (set per body). */
let view = Uint8Array.wrap(kept);
/** Set for the one malloc the host makes inside the reader's get_buffer_bytes. */
let armed = false;

/** The module's `malloc` export: the kept buffer when the body reader armed it, else the runtime's. */
export function promptMalloc(size: usize): usize {
  if (armed) {
    armed = false;
    if (size <= <usize>kept.byteLength) return changetype<usize>(kept);
  }
  return gcMalloc(size);
}

/** The buffered body (`size` bytes) of `type`, in the kept buffer when it fits. */
export function readBodyKept(type: i32, size: u32): Uint8Array {
  if (size == 0 || size > <u32>KEPT_MAX || type != BufferType.HttpRequestBody) return readBody(type, size);
  if (<u32>kept.byteLength < size) {
    // Grown by doubling, up to KEPT_MAX: a few sizes over the VM's life, not one per body.
    let cap = max<i32>(kept.byteLength << 1, 1024);
    while (<u32>cap < size) cap <<= 1;
    kept = new ArrayBuffer(min<i32>(cap, KEPT_MAX));
    view = Uint8Array.wrap(kept);
  }
  clearSlots();
  armed = true;
  const s = proxy_get_buffer_bytes(type, 0, size, RET_PTR, RET_SIZE);
  armed = false;
  if (s != WasmResult.Ok) {
    releasePins();
    return new Uint8Array(0);
  }
  const p = <usize>load<u32>(RET_PTR);
  const n = load<u32>(RET_SIZE);
  if (p != changetype<usize>(kept) || n > <u32>kept.byteLength) return Uint8Array.wrap(takeReturnedSlots());
  releasePins();
  // The view's length is the body's: one view object for every body.
  store<i32>(changetype<usize>(view) + offsetof<Uint8Array>("byteLength"), <i32>n);
  return view;
}

setBodyReader(readBodyKept);
