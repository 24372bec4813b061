// Shared data in one growable SharedArrayBuffer, for a gateway on worker threads: every thread
// maps the same memory and takes the same lock, so get and set-with-CAS are atomic across
// threads as cpp-host's SharedData is under its mutex (src/shared_data.cc), without a hop to
// another thread. Same semantics as SharedData (shared-data.ts): CAS values from one counter
// starting at 1, 0 skipped on wrap; a set with cas != 0 on an absent key succeeds.
//
// Layout (byte offsets; 32-bit words unless said):
//   header   LOCK (futex: 0 free, 1 held, 2 held with waiters), CAS (next cas), TOP (arena end)
//   buckets  BUCKETS words: the first entry of each hash chain (0: none)
//   arena    entries, 8-byte aligned: NEXT, CAS, HASH, VM_LEN, KEY_LEN (UTF-16 units),
//            VALUE_CAP, VALUE_LEN, (pad), then vm_id and key as UTF-16, then the value bytes.
// An entry whose value outgrows its capacity is replaced by a new one with twice the room (the
// old one is left behind); a value that fits is overwritten in place. Keys are never removed,
// as proxy-wasm has no delete.

import { WasmResult } from "../abi/enums.ts";
import type { SharedDataApi } from "./shared-data.ts";

const LOCK = 0;
const CAS = 1;
const TOP = 2;
const HEADER_BYTES = 16;
const BUCKETS = 1 << 14;
const ARENA = HEADER_BYTES + 4 * BUCKETS;
const ENTRY_BYTES = 32;
const [E_NEXT, E_CAS, E_HASH, E_VM_LEN, E_KEY_LEN, E_CAP, E_LEN] = [0, 1, 2, 3, 4, 5, 6];
/** Address space reserved for the arena; pages are only touched as it grows. */
const MAX_BYTES = 1 << 30;

const align8 = (n: number): number => (n + 7) & ~7;

/** A growable SharedArrayBuffer (ES2024: Node 20's V8 has it; this TypeScript lib predates it). */
type Growable = SharedArrayBuffer & { grow(bytes: number): void };
const GrowableBuffer = SharedArrayBuffer as unknown as new (bytes: number, o: { maxByteLength: number }) => Growable;

export function sharedDataBuffer(initialBytes = 1 << 20): SharedArrayBuffer {
  const sab = new GrowableBuffer(Math.max(initialBytes, ARENA + 4096), { maxByteLength: MAX_BYTES });
  const w = new Int32Array(sab);
  w[CAS] = 1;
  w[TOP] = ARENA;
  return sab;
}

export class SharedMemoryData implements SharedDataApi {
  // Fixed-length views, made again when the buffer has grown (lock()): V8 (11.3, Node 20) reads
  // length-tracking views of a growable buffer twenty times slower (measured).
  private i32!: Int32Array;
  private u32!: Uint32Array;
  private u16!: Uint16Array;
  private u8!: Uint8Array;
  private viewBytes = 0;
  private readonly sab: Growable;
  /** The lock word, in a view that never changes. */
  private readonly lockWord: Int32Array;

  constructor(sab: SharedArrayBuffer) {
    this.sab = sab as Growable;
    this.lockWord = new Int32Array(sab, 0, HEADER_BYTES >> 2);
    this.views();
  }

  private views(): void {
    const bytes = this.sab.byteLength;
    if (bytes === this.viewBytes) return;
    this.viewBytes = bytes;
    this.i32 = new Int32Array(this.sab, 0, bytes >> 2);
    this.u32 = new Uint32Array(this.sab, 0, bytes >> 2);
    this.u16 = new Uint16Array(this.sab, 0, bytes >> 1);
    this.u8 = new Uint8Array(this.sab, 0, bytes);
  }

  get(vmId: string, key: string): { value: Uint8Array; cas: number } | null {
    this.lock();
    try {
      const e = this.find(vmId, key, hash(vmId, key)).entry;
      if (e === 0) return null;
      const w = e >> 2;
      const at = this.valueAt(e);
      return { value: this.u8.slice(at, at + this.i32[w + E_LEN]!), cas: this.u32[w + E_CAS]! };
    } finally {
      this.unlock();
    }
  }

  set(vmId: string, key: string, value: Uint8Array, cas: number): WasmResult {
    this.lock();
    try {
      const h = hash(vmId, key);
      const { entry, link } = this.find(vmId, key, h);
      if (entry !== 0 && cas !== 0 && cas !== this.u32[(entry >> 2) + E_CAS]) return WasmResult.CasMismatch;
      let e = entry;
      if (e === 0 || value.length > this.i32[(e >> 2) + E_CAP]!) {
        const cap = e === 0 ? value.length : Math.max(value.length, 2 * this.i32[(e >> 2) + E_CAP]!);
        const fresh = this.allocate(vmId, key, h, cap);
        if (fresh === 0) return WasmResult.InternalFailure; // the reserved gigabyte is full
        // Replace the old entry in its chain, or end the chain with the new one.
        this.i32[(fresh >> 2) + E_NEXT] = e === 0 ? this.i32[link]! : this.i32[(e >> 2) + E_NEXT]!;
        this.i32[link] = fresh;
        e = fresh;
      }
      const w = e >> 2;
      this.u8.set(value, this.valueAt(e));
      this.i32[w + E_LEN] = value.length;
      this.u32[w + E_CAS] = this.nextCas();
      return WasmResult.Ok;
    } finally {
      this.unlock();
    }
  }

  /** The entry for (vm_id, key) or 0, and the word index of the link that points at it (or would). */
  private find(vmId: string, key: string, h: number): { entry: number; link: number } {
    let link = (HEADER_BYTES >> 2) + (h & (BUCKETS - 1));
    for (let e = this.i32[link]!; e !== 0; e = this.i32[link]!) {
      const w = e >> 2;
      if (this.i32[w + E_HASH] === h && this.i32[w + E_VM_LEN] === vmId.length && this.i32[w + E_KEY_LEN] === key.length && this.keysEqual(e, vmId, key)) return { entry: e, link };
      link = w + E_NEXT;
    }
    return { entry: 0, link };
  }

  private keysEqual(e: number, vmId: string, key: string): boolean {
    let u = (e + ENTRY_BYTES) >> 1;
    for (let i = 0; i < vmId.length; i++) if (this.u16[u++] !== vmId.charCodeAt(i)) return false;
    for (let i = 0; i < key.length; i++) if (this.u16[u++] !== key.charCodeAt(i)) return false;
    return true;
  }

  private valueAt(e: number): number {
    const w = e >> 2;
    return e + ENTRY_BYTES + align8(2 * (this.i32[w + E_VM_LEN]! + this.i32[w + E_KEY_LEN]!));
  }

  /** A new entry holding the keys, with room for `cap` value bytes; 0 when memory is exhausted. */
  private allocate(vmId: string, key: string, h: number, cap: number): number {
    const size = ENTRY_BYTES + align8(2 * (vmId.length + key.length)) + align8(cap);
    const e = this.i32[TOP]!;
    const end = e + size;
    if (end > this.sab.byteLength) {
      if (end > MAX_BYTES) return 0;
      this.sab.grow(Math.min(MAX_BYTES, Math.max(end, 2 * this.sab.byteLength)));
      this.views();
    }
    this.i32[TOP] = end;
    const w = e >> 2;
    this.i32[w + E_NEXT] = 0;
    this.i32[w + E_HASH] = h;
    this.i32[w + E_VM_LEN] = vmId.length;
    this.i32[w + E_KEY_LEN] = key.length;
    this.i32[w + E_CAP] = cap;
    let u = (e + ENTRY_BYTES) >> 1;
    for (let i = 0; i < vmId.length; i++) this.u16[u++] = vmId.charCodeAt(i);
    for (let i = 0; i < key.length; i++) this.u16[u++] = key.charCodeAt(i);
    return e;
  }

  private nextCas(): number {
    const r = this.u32[CAS]!;
    const next = (r + 1) >>> 0;
    this.u32[CAS] = next === 0 ? 1 : next;
    return r;
  }

  // A futex mutex (Drepper, "Futexes Are Tricky", mutex 2); the critical sections are short.
  // Once it is held, the buffer's length is current (the lock's atomics order it) and the views
  // are made again if another thread grew it: a stale view would read a moved entry as absent.
  private lock(): void {
    const w = this.lockWord;
    let c = Atomics.compareExchange(w, LOCK, 0, 1);
    if (c !== 0) {
      if (c !== 2) c = Atomics.exchange(w, LOCK, 2);
      while (c !== 0) {
        Atomics.wait(w, LOCK, 2);
        c = Atomics.exchange(w, LOCK, 2);
      }
    }
    this.views();
  }

  private unlock(): void {
    const w = this.lockWord;
    if (Atomics.sub(w, LOCK, 1) !== 1) {
      Atomics.store(w, LOCK, 0);
      Atomics.notify(w, LOCK, 1);
    }
  }
}

/** FNV-1a over the UTF-16 units of vm_id, a separator, and key. */
function hash(vmId: string, key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < vmId.length; i++) h = Math.imul(h ^ vmId.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ 0xffff, 0x01000193);
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h | 0;
}
