// Shared data: one process-wide key/value store per vm_id, shared by every worker's VM.
// cas 0 sets unconditionally; a non-zero cas that differs from the key's gives CAS_MISMATCH
// (but a key that does not exist is created whatever the cas).

import { proxy_get_shared_data, proxy_set_shared_data } from "./imports";
import { WasmResult } from "./enums";
import { beginLent, clearSlots, endLent, Lent, lentSize, releasePins, RET_EXTRA, RET_PTR, RET_SIZE, takeReturned } from "./memory";
import { setLastStatus } from "./status";

export class SharedValue {
  constructor(
    public value: ArrayBuffer,
    public cas: u32,
  ) {}
}

/** The value and its cas, or null (NOT_FOUND when absent; see lastStatus). */
export function getSharedData(key: string): SharedValue | null {
  return getSharedDataOf(String.UTF8.encode(key));
}

/** getSharedData with the key already encoded (a key read on every request is encoded once). */
export function getSharedDataOf(k: ArrayBuffer): SharedValue | null {
  clearSlots();
  const s = proxy_get_shared_data(changetype<usize>(k), k.byteLength, RET_PTR, RET_SIZE, RET_EXTRA);
  setLastStatus(s);
  if (s != WasmResult.Ok) {
    releasePins();
    return null;
  }
  const cas = load<u32>(RET_EXTRA);
  const v = takeReturned(load<u32>(RET_PTR), load<u32>(RET_SIZE));
  releasePins();
  return new SharedValue(v, cas);
}

/** getSharedDataIn's answer for a key that is absent (or a call that failed). */
export const SHARED_ABSENT: i32 = -1;

/**
 * getSharedDataOf for a small value read at once: the value is copied to [at, at + cap) when it
 * fits, and the answer is its size (a larger value is not copied: its size still tells the
 * caller it is not one of its own), or SHARED_ABSENT; casAfterReadIn gives the cas to write
 * with. No allocation: a counter read on every request leaves no buffer and no SharedValue behind.
 */
export function getSharedDataIn(k: ArrayBuffer, at: usize, cap: usize): i32 {
  beginLent(at, cap);
  const s = proxy_get_shared_data(changetype<usize>(k), k.byteLength, RET_PTR, RET_SIZE, RET_EXTRA);
  setLastStatus(s);
  const where = endLent(s, at, cap);
  if (where == Lent.Failed) return SHARED_ABSENT;
  lastCasIn = load<u32>(RET_EXTRA);
  if (where == Lent.InRegion) return <i32>lentSize();
  const n = load<u32>(RET_SIZE);
  releasePins();
  return <i32>n;
}

/** The cas of the value getSharedDataIn last found. */
let lastCasIn: u32 = 0;

/** The cas to write with after getSharedDataIn answered `size` (casAfterRead's rule). */
export function casAfterReadIn(size: i32): u32 {
  return size != SHARED_ABSENT ? lastCasIn : 0xffffffff;
}

/**
 * The cas to write with after reading `v` (null: the key was absent). Never 0 for an absent
 * key: cas 0 overwrites whatever another worker created between the read and the write
 * (proxy-wasm-cpp-host src/shared_data.cc: a cas is only compared when non-zero), which lost a
 * concurrent reservation. 0xffffffff creates an absent key like any cas and fails with
 * CAS_MISMATCH on a key created meanwhile, unless the store's cas counter stands exactly there.
 */
export function casAfterRead(v: SharedValue | null): u32 {
  return v != null ? v.cas : 0xffffffff;
}

/** Sets a key. Returns the host status (CAS_MISMATCH when another writer got there first). */
export function setSharedData(key: string, value: ArrayBuffer, cas: u32): i32 {
  return setSharedDataOf(String.UTF8.encode(key), value, cas);
}

/** setSharedData with the key already encoded. */
export function setSharedDataOf(k: ArrayBuffer, value: ArrayBuffer, cas: u32): i32 {
  return setSharedDataAt(k, changetype<usize>(value), <usize>value.byteLength, cas);
}

/** setSharedDataOf with the value given as the `len` bytes at `at`. */
export function setSharedDataAt(k: ArrayBuffer, at: usize, len: usize, cas: u32): i32 {
  return proxy_set_shared_data(changetype<usize>(k), k.byteLength, at, len, cas);
}
