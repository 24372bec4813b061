// Guest memory the host writes into: the `malloc` export and the return slots.
//
// The host calls `malloc(size)` from inside a host call (re-entrantly) to hand back a
// buffer, then stores the pointer and size in the caller's return slots. Nothing references
// that buffer until the caller reads the pointer, so malloc pins the ArrayBuffer it returns
// and remembers it (lib/runtime/collect collects only between callbacks, but the pin keeps
// the buffer safe without relying on that); the wrapper that
// made the host call adopts the buffer with `takeReturned` and then `releasePins` unpins
// everything malloc handed out during that call (including buffers the host allocated but
// did not return, e.g. on a failed call), so nothing leaks and nothing is freed early.

import { WasmResult } from "./enums";

/** Larger requests get 0, which the host reports as a failed call instead of the guest trapping. */
const MAX_ALLOC: usize = 256 << 20;

// Return slots for the host to write into. A host call never re-enters guest code other
// than malloc, which does not touch them, so one set of static slots is enough.
// @ts-ignore: decorator
@lazy export const RET_PTR: usize = memory.data(8, 8);
// @ts-ignore: decorator
@lazy export const RET_SIZE: usize = memory.data(8, 8);
// @ts-ignore: decorator
@lazy export const RET_EXTRA: usize = memory.data(8, 8);

const pinned = new Array<usize>();

// A region lent to malloc for one host call (beginLent / endLent): while lent, malloc hands out its
// space, bump by bump, instead of a GC buffer to pin, adopt and later collect. For a caller that
// reads the value at once (an int64 property, a record it walks in place), not one it keeps.
let lentFrom: usize = 0;
let lentEnd: usize = 0;

/** Lends [at, at + size) to malloc until endLend (the caller keeps the region alive meanwhile). */
function lend(at: usize, size: usize): void {
  lentFrom = at;
  lentEnd = at + size;
}

function endLend(): void {
  lentFrom = lentEnd = 0;
}

/**
 * Memory kept for lent calls (beginLent/endLent), grown for the values that did not fit: to the
 * larger of their size and twice the region, never past `max` (a larger value gets a buffer of
 * its own each time).
 */
export class LentRegion {
  buf: ArrayBuffer;

  constructor(
    first: i32,
    private readonly max: usize,
  ) {
    this.buf = new ArrayBuffer(first);
  }

  @inline get at(): usize {
    return changetype<usize>(this.buf);
  }

  @inline get cap(): usize {
    return <usize>this.buf.byteLength;
  }

  /** Makes room for `n` bytes from the next call on; true when the region was replaced. */
  fit(n: usize): bool {
    const cap = this.cap;
    if (n <= cap || n > this.max) return false;
    this.buf = new ArrayBuffer(<i32>min<usize>(max<usize>(n, cap << 1), this.max));
    return true;
  }
}

/** Where a lent call's value is (endLent). */
export enum Lent {
  /** The call failed (pins released). */
  Failed = 0,
  /** At the region's start, `lentSize()` bytes (pins released). */
  InRegion = 1,
  /** In a buffer of its own (larger than the region): takeReturnedSlots. */
  Own = 2,
}

/** Before a host call that returns a value: clears the return slots and lends [at, at + cap) to malloc. */
export function beginLent(at: usize, cap: usize): void {
  clearSlots();
  lend(at, cap);
}

/** After it, with the call's status `s`: ends the lend and tells where the value is. */
export function endLent(s: i32, at: usize, cap: usize): Lent {
  endLend();
  if (s != WasmResult.Ok) {
    releasePins();
    return Lent.Failed;
  }
  const n = <usize>load<u32>(RET_SIZE);
  if (n == 0 || (<usize>load<u32>(RET_PTR) == at && n <= cap)) {
    releasePins();
    return Lent.InRegion;
  }
  return Lent.Own;
}

/** The size of the value a lent call left in its region. */
export function lentSize(): usize {
  return <usize>load<u32>(RET_SIZE);
}

/**
 * Bytes the host has had malloc allocate (values it copied in outside a lent region) since
 * lib/runtime/collect last took the count: its measure of the garbage a callback leaves.
 */
let hostAllocated: usize = 0;

/** Answers hostAllocated and restarts the count. */
export function takeHostAllocated(): usize {
  const n = hostAllocated;
  hostAllocated = 0;
  return n;
}

/** The allocator the host calls (cpp-host looks up `malloc` before `proxy_on_memory_allocate`). */
export function malloc(size: usize): usize {
  if (lentEnd != 0 && size <= lentEnd - lentFrom) {
    const p = lentFrom;
    lentFrom += (size + 7) & ~7;
    if (lentFrom > lentEnd) lentFrom = lentEnd;
    return p;
  }
  if (size > MAX_ALLOC) return 0;
  hostAllocated += size;
  // An ArrayBuffer the GC owns, pinned until takeReturned or releasePins. __new zero-fills it,
  // so the bytes are never stale; takeReturned hands out no more than the host reported writing.
  const ptr = __new(size, idof<ArrayBuffer>());
  __pin(ptr);
  pinned.push(ptr);
  return ptr;
}

/**
 * The buffer the host returned in (ptr, size), as an ArrayBuffer the GC owns.
 * ptr 0 (the host's answer for an empty value) gives an empty buffer.
 * Call before `releasePins`.
 */
export function takeReturned(ptr: usize, size: usize): ArrayBuffer {
  if (ptr == 0 || size == 0) return new ArrayBuffer(0);
  for (let i = 0, n = pinned.length; i < n; i++) {
    if (unchecked(pinned[i]) != ptr) continue;
    const buf = changetype<ArrayBuffer>(ptr);
    if (<usize>buf.byteLength == size) return buf;
    // The host wrote less than it asked for: keep only what it reported.
    return size < <usize>buf.byteLength ? buf.slice(0, <i32>size) : copyOut(ptr, size);
  }
  // Not one of ours (a host bug): copy if it lies inside memory, never trap.
  return copyOut(ptr, size);
}

function copyOut(ptr: usize, size: usize): ArrayBuffer {
  const end = ptr + size;
  if (end < ptr || end > (<usize>memory.size() << 16) || size > MAX_ALLOC) return new ArrayBuffer(0);
  const out = new ArrayBuffer(<i32>size);
  memory.copy(changetype<usize>(out), ptr, size);
  return out;
}

/** Unpins every buffer malloc handed out since the last release. Call after each buffer-returning host call. */
export function releasePins(): void {
  const n = pinned.length;
  if (n == 0) return;
  for (let i = 0; i < n; i++) __unpin(unchecked(pinned[i]));
  pinned.length = 0;
}

/** Reads the (ptr, size) return slots, adopts the buffer and releases the pins. */
export function takeReturnedSlots(): ArrayBuffer {
  const buf = takeReturned(load<u32>(RET_PTR), load<u32>(RET_SIZE));
  releasePins();
  return buf;
}

/** Clears the return slots before a call, so a host that writes nothing reads as empty. */
export function clearSlots(): void {
  store<u64>(RET_PTR, 0);
  store<u64>(RET_SIZE, 0);
  store<u64>(RET_EXTRA, 0);
}

// --- scratch space for arguments ---

// Keys, values and paths are encoded here for the duration of one host call instead of into
// a fresh ArrayBuffer each time (fewer allocations per request). A host call re-enters the
// guest only through malloc, which does not touch it.
let scratch = new ArrayBuffer(1024);

/** At least `n` bytes of scratch space; valid until the next scratch call. */
export function scratchFor(n: i32): usize {
  if (scratch.byteLength < n) scratch = new ArrayBuffer(max<i32>(n, scratch.byteLength << 1));
  return changetype<usize>(scratch);
}

/** UTF-8 of `s` written at `dst` (room for s.length * 3 bytes); returns the byte count. */
@inline export function encodeAt(s: string, dst: usize): i32 {
  return <i32>String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, dst);
}

// --- UTF-8 and byte helpers ---

/** A string as UTF-8 bytes (no terminator). */
export function utf8(s: string): ArrayBuffer {
  return String.UTF8.encode(s);
}

/** UTF-8 bytes as a string. Invalid sequences do not trap. */
export function fromUtf8(buf: ArrayBuffer): string {
  return String.UTF8.decode(buf);
}

/** A view of a whole ArrayBuffer. */
export function bytesOf(buf: ArrayBuffer): Uint8Array {
  return Uint8Array.wrap(buf);
}

/** The bytes of a view as a pointer the host can read (the view's own window, not its whole buffer). */
export function ptrOf(bytes: Uint8Array): usize {
  return bytes.dataStart;
}
