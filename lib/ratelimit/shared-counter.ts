// Window counters in Envoy shared data, shared by every worker VM of the node (one store per
// vm_id), updated with compare-and-swap. A counter's value is 16 bytes: the window start
// (i64, seconds) and the count (f64: tokens, or dollars for the cost strategy). Each
// (namespace, provider, identifier, window size) keeps two slots, by window parity, so the
// current and the previous window are both readable for the sliding rate and the store
// never grows with time: a slot holding an older start reads as an empty window.

import { casAfterReadIn, getSharedDataIn, setSharedDataAt } from "../abi/shared-data";
import { WasmResult } from "../abi/enums";

/** CAS retries before giving up on one update (each retry means another worker wrote the key). */
const MAX_CAS_RETRIES = 64;

/** A counter's value size: the window start (i64) and the count (f64). */
const VALUE_SIZE: i32 = 16;
// Kept memory for a counter read (lent to the host) and for the value written: a request's
// reads and updates allocate nothing.
// @ts-ignore: decorator
@lazy const READ: usize = memory.data(VALUE_SIZE, 8);
// @ts-ignore: decorator
@lazy const WRITE: usize = memory.data(VALUE_SIZE, 8);

/**
 * Reads slot `key` into READ: the count it holds for the window starting at `start`, 0 when it
 * holds another window, is absent or is not a counter. `size` (getSharedDataIn's answer) is
 * left in lastSize for the cas of the write that follows.
 */
function readSlot(key: ArrayBuffer, start: i64): f64 {
  const size = getSharedDataIn(key, READ, <usize>VALUE_SIZE);
  lastSize = size;
  if (size != VALUE_SIZE || load<i64>(READ) != start) return 0;
  return load<f64>(READ, 8);
}
let lastSize: i32 = 0;

/** Whether the slot readSlot last read holds the window starting at `start`. */
function slotIsCurrent(start: i64): bool {
  return lastSize == VALUE_SIZE && load<i64>(READ) == start;
}

/** Writes (start, count) to slot `key` with the cas of readSlot's read. */
function writeSlot(key: ArrayBuffer, start: i64, count: f64): i32 {
  store<i64>(WRITE, start);
  store<f64>(WRITE, count, 8);
  return setSharedDataAt(key, WRITE, <usize>VALUE_SIZE, casAfterReadIn(lastSize));
}

/** What a slot key holds after its prefix: the identifier's 16 hex digits, ":" and the slot's digit. */
const KEY_TAIL: i32 = 18;

/**
 * The slot key of a window, encoded: `prefix` + the identifier hash `id` as 16 lowercase hex
 * digits + ":" + the parity of the window index. A request makes it once per window, passes it
 * to every read and update of that slot, and moves it to another window's slot with setSlot.
 */
export function slotKey(prefix: ArrayBuffer, id: u64, start: i64, size: i64): ArrayBuffer {
  const n = prefix.byteLength;
  const key = new ArrayBuffer(n + KEY_TAIL);
  const p = changetype<usize>(key);
  memory.copy(p, changetype<usize>(prefix), <usize>n);
  const h = p + <usize>n;
  for (let i = 0; i < 16; i++) {
    const d = <u32>(id >> (<u64>(60 - 4 * i))) & 15;
    store<u8>(h + <usize>i, d < 10 ? 0x30 + d : 0x57 + d);
  }
  store<u8>(h, 0x3a, 16); // ":"
  setSlot(key, start, size);
  return key;
}

/** Points a slotKey answer at the slot of the window starting at `start`. */
export function setSlot(key: ArrayBuffer, start: i64, size: i64): void {
  store<u8>(changetype<usize>(key) + <usize>key.byteLength - 1, (start / size) & 1 ? 0x31 : 0x30);
}

/** The count stored in slot `key` for the window starting at `start` (0 when the slot holds another window). */
export function readCount(key: ArrayBuffer, start: i64): f64 {
  return readSlot(key, start);
}

/**
 * Adds `delta` (may be negative) to slot `key` for the window starting at `start`, never below
 * 0. With `onlyIfCurrent`, a slot that already holds another window is left alone (a reservation
 * made in a window that has since ended). Returns the new count, or -1 when the update failed.
 */
export function addCount(key: ArrayBuffer, start: i64, delta: f64, onlyIfCurrent: bool): f64 {
  for (let i = 0; i < MAX_CAS_RETRIES; i++) {
    const base = readSlot(key, start);
    if (onlyIfCurrent && !slotIsCurrent(start)) return 0;
    let next = base + delta;
    if (!isFinite(next)) next = base;
    if (!(next > 0)) next = 0;
    const s = writeSlot(key, start, next);
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
  for (let i = 0; i < MAX_CAS_RETRIES; i++) {
    const count = readSlot(key, start);
    const rate = count + previous;
    if (rate > limit || !(amount > 0)) return rate;
    let next = count + amount;
    if (!isFinite(next)) next = count;
    const s = writeSlot(key, start, next);
    if (s == WasmResult.Ok) return rate;
    if (s != WasmResult.CasMismatch) return -1;
  }
  return -1;
}
