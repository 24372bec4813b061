// Window counters in Envoy shared data, shared by every worker VM of the node (one store per
// vm_id), updated with compare-and-swap. A counter's value is 16 bytes: the window start
// (i64, seconds) and the count (f64: tokens, or dollars for the cost strategy). Each
// (namespace, provider, identifier, window size) keeps two slots, by window parity, so the
// current and the previous window are both readable for the sliding rate and the store
// never grows with time: a slot holding an older start reads as an empty window.

import { casAfterRead, getSharedDataOf, setSharedDataOf } from "../abi/shared-data";
import { WasmResult } from "../abi/enums";

/** CAS retries before giving up on one update (each retry means another worker wrote the key). */
const MAX_CAS_RETRIES = 64;

/**
 * The slot key of a window, encoded: base + ":" + parity of the window index. A request makes
 * it once per window and passes it to every read and update of that slot.
 */
export function slotKey(base: string, start: i64, size: i64): ArrayBuffer {
  return String.UTF8.encode(base + ((start / size) & 1 ? ":1" : ":0"));
}

/** The count stored in slot `key` for the window starting at `start` (0 when the slot holds another window). */
export function readCount(key: ArrayBuffer, start: i64): f64 {
  const v = getSharedDataOf(key);
  if (v == null || v.value.byteLength != 16) return 0;
  const p = changetype<usize>(v.value);
  return load<i64>(p) == start ? load<f64>(p, 8) : 0;
}

/**
 * Adds `delta` (may be negative) to slot `key` for the window starting at `start`, never below
 * 0. With `onlyIfCurrent`, a slot that already holds another window is left alone (a reservation
 * made in a window that has since ended). Returns the new count, or -1 when the update failed.
 */
export function addCount(key: ArrayBuffer, start: i64, delta: f64, onlyIfCurrent: bool): f64 {
  const buf = new ArrayBuffer(16);
  const bp = changetype<usize>(buf);
  for (let i = 0; i < MAX_CAS_RETRIES; i++) {
    const v = getSharedDataOf(key);
    let base: f64 = 0;
    if (v != null) {
      if (v.value.byteLength == 16 && load<i64>(changetype<usize>(v.value)) == start) base = load<f64>(changetype<usize>(v.value), 8);
      else if (onlyIfCurrent) return 0;
    } else if (onlyIfCurrent) return 0;
    let next = base + delta;
    if (!isFinite(next)) next = base;
    if (!(next > 0)) next = 0;
    store<i64>(bp, start);
    store<f64>(bp, next, 8);
    const s = setSharedDataOf(key, buf, casAfterRead(v));
    if (s == WasmResult.Ok) return next;
    if (s != WasmResult.CasMismatch) return -1;
  }
  return -1;
}

/**
 * Kong's admission on one window, made atomic with the reservation: reads the window's rate
 * (its count, plus `previous` — the previous window's weighted count — for a sliding window),
 * and only when that rate is not over `limit` adds `amount` in the same compare-and-swap, so
 * no other worker can pass the same check on the same count. Returns the rate before this
 * request, or -1 when the store failed (the caller then lets the request through unreserved).
 */
export function admitAndReserve(key: ArrayBuffer, start: i64, previous: f64, limit: f64, amount: f64): f64 {
  const buf = new ArrayBuffer(16);
  const bp = changetype<usize>(buf);
  for (let i = 0; i < MAX_CAS_RETRIES; i++) {
    const v = getSharedDataOf(key);
    let count: f64 = 0;
    if (v != null) {
      if (v.value.byteLength == 16 && load<i64>(changetype<usize>(v.value)) == start) count = load<f64>(changetype<usize>(v.value), 8);
    }
    const rate = count + previous;
    if (rate > limit || !(amount > 0)) return rate;
    let next = count + amount;
    if (!isFinite(next)) next = count;
    store<i64>(bp, start);
    store<f64>(bp, next, 8);
    const s = setSharedDataOf(key, buf, casAfterRead(v));
    if (s == WasmResult.Ok) return rate;
    if (s != WasmResult.CasMismatch) return -1;
  }
  return -1;
}
