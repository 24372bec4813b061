// Bounds-checked access to a module's linear memory. memory.grow (including a malloc the host
// calls) detaches the old ArrayBuffer, which leaves the cached views with length 0: they are
// rebuilt then, so the common access costs no call to the `memory.buffer` getter.

/** Buffer's native UTF-8 decoder, which toString("utf8", start, end) reaches after its dispatch. */
type Utf8Sliceable = Buffer & { utf8Slice(start: number, end: number): string };
type Latin1Sliceable = Buffer & { latin1Slice(start: number, end: number): string };

/** Copies up to this size are made with slice(): V8 keeps such small arrays on its heap. */
const SMALL_COPY = 64;

/**
 * Copies of guest bytes kept by the host (read(), filter state), shared by every VM of the
 * thread: copies up to POOLED bytes are carved from a POOL_SIZE chunk (Node's Buffer.poolSize
 * and its half, so a live copy keeps no more memory alive than a pooled Buffer does); larger
 * ones get a chunk of their own. copy() leaves where the copy is in `chunk` and `at`, so a
 * caller that keeps (chunk, at, length) makes no view per copy.
 */
const POOL_SIZE = 8 * 1024;
const POOLED = POOL_SIZE / 2;
/** Up to this size a copy is made byte by byte: faster than set() can start. */
const LOOP_COPY = 64;

class BytePool {
  private pool = new Uint8Array(POOL_SIZE);
  private used = 0;
  /** Where the last copy() went. */
  chunk: Uint8Array = this.pool;
  at = 0;

  /** Copies src[from, from + len). */
  copy(src: Uint8Array, from: number, len: number): void {
    if (len > POOLED) {
      // Node's allocation (a slice() would get its own off-heap store, microseconds each).
      const b = Buffer.allocUnsafe(len);
      b.set(src.subarray(from, from + len));
      this.chunk = new Uint8Array(b.buffer, b.byteOffset, len);
      this.at = 0;
      return;
    }
    let at = this.used;
    if (at + len > POOL_SIZE) {
      this.pool = new Uint8Array(POOL_SIZE);
      at = 0;
    }
    this.used = (at + len + 7) & ~7; // the next copy starts 8-aligned
    const dst = this.pool;
    if (len <= LOOP_COPY) for (let i = 0; i < len; i++) dst[at + i] = src[from + i]!;
    else dst.set(src.subarray(from, from + len), at);
    this.chunk = dst;
    this.at = at;
  }
}
export const bytePool = new BytePool();

/** Longest key readKey interns, and the size of its table (a power of two). */
const KEY_MAX = 64;
const KEY_SLOTS = 1024;

// readKey's table, by hash slot, shared by every VM of the thread (so that a key's slot is the
// same whichever module sends it: filter state finds its entries by it). Each slot's length + 1
// (0: empty), tail and words lie side by side in one array (KEY_STRIDE ints a slot), so a lookup
// touches one or two cache lines rather than an object per key; then the slot's string.
const KEY_STRIDE = 2 + KEY_MAX / 4;
const keyTable = new Int32Array(KEY_SLOTS * KEY_STRIDE);
const keyStrings: string[] = new Array<string>(KEY_SLOTS).fill("");

/** readKey's hash of a key from its words and tail; the slot is its low bits. */
function slotOfHash(h: number): number {
  return (h ^ (h >>> 16)) & (KEY_SLOTS - 1);
}

/**
 * The slot readKey gives the key `s` (the slot of its UTF-8 bytes), or -1 for a key it does not
 * intern (longer than KEY_MAX, or not ASCII). A pure function of the key: equal keys, equal slots.
 */
export function keySlot(s: string): number {
  const len = s.length;
  if (len > KEY_MAX) return -1;
  const words = len >>> 2;
  let h = len;
  let high = 0;
  for (let i = 0; i < words; i++) {
    const k = 4 * i;
    const w = s.charCodeAt(k) | (s.charCodeAt(k + 1) << 8) | (s.charCodeAt(k + 2) << 16) | (s.charCodeAt(k + 3) << 24);
    high |= s.charCodeAt(k) | s.charCodeAt(k + 1) | s.charCodeAt(k + 2) | s.charCodeAt(k + 3);
    h = Math.imul(h ^ w, 0x01000193);
  }
  let tail = 0;
  for (let i = words * 4; i < len; i++) {
    const c = s.charCodeAt(i);
    high |= c;
    tail = (tail << 8) | c;
  }
  if (high >= 0x80) return -1;
  return slotOfHash(Math.imul(h ^ tail, 0x01000193));
}

export class GuestMemory {
  private memory: WebAssembly.Memory = new WebAssembly.Memory({ initial: 0 });
  private malloc: (size: number) => number = () => 0;
  // Views over the current buffer, rebuilt after a grow (see views()).
  private u8: Uint8Array = new Uint8Array(0);
  private buf: Buffer = Buffer.alloc(0);
  private dv: DataView = new DataView(new ArrayBuffer(0));
  /** The slot of the last key readKey read (keySlot's answer for it), -1 when it interned none. */
  keySlot = -1;

  /** Bound once the instance exists; host functions hold this object from before. */
  bind(memory: WebAssembly.Memory, malloc: (size: number) => number): void {
    this.memory = memory;
    this.malloc = malloc;
    this.u8 = new Uint8Array(0);
  }

  get size(): number {
    return this.memory.buffer.byteLength;
  }

  /** Refreshes the cached views when the memory has grown (detaching their buffer) since they were made. */
  private views(): void {
    if (this.u8.length !== 0) return;
    const ab = this.memory.buffer;
    this.u8 = new Uint8Array(ab);
    this.buf = Buffer.from(ab);
    this.dv = new DataView(ab);
  }

  /** Refreshes the views, then checks [ptr, ptr + len) lies in memory. */
  private inBounds(ptr: number, len: number): boolean {
    this.views();
    return ptr >= 0 && len >= 0 && ptr + len <= this.u8.length && ptr + len <= 0xffffffff;
  }

  /** A copy of guest bytes, or null when out of bounds (the caller answers INVALID_MEMORY_ACCESS). */
  read(ptr: number, len: number): Uint8Array | null {
    ptr >>>= 0;
    len >>>= 0;
    if (!this.inBounds(ptr, len)) return null;
    if (len <= SMALL_COPY) return this.u8.slice(ptr, ptr + len);
    // Larger: a slice() would get its own off-heap backing store (microseconds each). The copy
    // goes into the byte pool, as a plain Uint8Array view (callers keep Uint8Array semantics:
    // slice copies).
    const p = bytePool;
    p.copy(this.u8, ptr, len);
    return p.at === 0 && p.chunk.length === len ? p.chunk : new Uint8Array(p.chunk.buffer, p.chunk.byteOffset + p.at, len);
  }

  /**
   * The whole memory as bytes, once [ptr, ptr + len) is checked to lie in it (null otherwise):
   * for a caller that copies the range itself. Valid until the guest next runs.
   */
  bytes(ptr: number, len: number): Uint8Array | null {
    return this.inBounds(ptr >>> 0, len >>> 0) ? this.u8 : null;
  }

  readString(ptr: number, len: number): string | null {
    ptr >>>= 0;
    len >>>= 0;
    if (!this.inBounds(ptr, len)) return null;
    if (len === 0) return "";
    // Decoded straight from guest memory: no intermediate copy, no Buffer object per call, and
    // not through toString()'s encoding dispatch (as undici does for its bodies).
    return (this.buf as Utf8Sliceable).utf8Slice(ptr, ptr + len);
  }

  /**
   * readString for the short strings a module sends again and again (header names, property
   * paths, filter-state keys): an ASCII key seen before is found by a hash and a compare of
   * its bytes, four at a time, and the same string is returned, whose hash V8 has kept for the
   * Map lookups that follow. Anything else (longer, or with a byte >= 0x80) goes through
   * readString, so the result is always the string readString gives.
   */
  readKey(ptr: number, len: number): string | null {
    ptr >>>= 0;
    len >>>= 0;
    this.keySlot = -1;
    if (len > KEY_MAX) return this.readString(ptr, len);
    if (!this.inBounds(ptr, len)) return null;
    const dv = this.dv;
    const words = len >>> 2;
    let h = len;
    let high = 0; // every byte's top bit, OR-ed
    for (let i = 0; i < words; i++) {
      const w = dv.getInt32(ptr + 4 * i, true);
      high |= w;
      h = Math.imul(h ^ w, 0x01000193);
    }
    const u8 = this.u8;
    let tail = 0; // the last len % 4 bytes
    for (let i = words * 4; i < len; i++) tail = (tail << 8) | u8[ptr + i]!;
    high |= tail;
    if ((high & 0x80808080) !== 0) return this.readString(ptr, len);
    const slot = slotOfHash(Math.imul(h ^ tail, 0x01000193));
    this.keySlot = slot;
    const t = keyTable;
    const e = slot * KEY_STRIDE;
    if (t[e] === len + 1 && t[e + 1] === tail) {
      let i = 0;
      while (i < words && t[e + 2 + i] === dv.getInt32(ptr + 4 * i, true)) i++;
      if (i === words) return keyStrings[slot]!;
    }
    // ASCII: Latin-1 decoding gives the same string as UTF-8.
    const s = len === 0 ? "" : (this.buf as Latin1Sliceable).latin1Slice(ptr, ptr + len);
    t[e] = len + 1;
    t[e + 1] = tail;
    for (let i = 0; i < words; i++) t[e + 2 + i] = dv.getInt32(ptr + 4 * i, true);
    keyStrings[slot] = s;
    return s;
  }

  write(ptr: number, data: Uint8Array): boolean {
    ptr >>>= 0;
    const n = data.length;
    if (!this.inBounds(ptr, n)) return false;
    const u8 = this.u8;
    // A few bytes (an int64 property, a short value) are copied faster one by one than set()
    // can start.
    if (n <= 16) for (let i = 0; i < n; i++) u8[ptr + i] = data[i]!;
    else u8.set(data, ptr);
    return true;
  }

  writeU32(ptr: number, value: number): boolean {
    ptr >>>= 0;
    if (!this.inBounds(ptr, 4)) return false;
    this.dv.setUint32(ptr, value >>> 0, true);
    return true;
  }

  writeU64(ptr: number, value: bigint): boolean {
    ptr >>>= 0;
    if (!this.inBounds(ptr, 8)) return false;
    this.dv.setBigUint64(ptr, BigInt.asUintN(64, value), true);
    return true;
  }

  /**
   * copyOut of a string's UTF-8. Short ASCII strings (header values, most properties) are
   * written straight into the guest: no Buffer.from, which costs more than the whole write.
   */
  copyOutString(s: string, ptrPtr: number, sizePtr: number): boolean {
    const n = s.length;
    if (n > SMALL_COPY) return this.copyOut(Buffer.from(s), ptrPtr, sizePtr);
    for (let i = 0; i < n; i++) if (s.charCodeAt(i) >= 0x80) return this.copyOut(Buffer.from(s), ptrPtr, sizePtr);
    let ptr = 0;
    if (n > 0) {
      ptr = this.malloc(n) >>> 0;
      // After malloc: it may have grown memory, which inBounds notices.
      if (ptr === 0 || !this.inBounds(ptr, n)) return false;
      const u8 = this.u8;
      for (let i = 0; i < n; i++) u8[ptr + i] = s.charCodeAt(i);
    }
    return this.writeU32(ptrPtr, ptr) && this.writeU32(sizePtr, n);
  }

  /**
   * copyOut of `size` bytes that `fill` writes straight into the guest's allocation (at `at` of
   * a Buffer over guest memory; it must write every byte): no intermediate buffer.
   */
  copyOutWith(size: number, fill: (out: Buffer, at: number) => void, ptrPtr: number, sizePtr: number): boolean {
    let ptr = 0;
    if (size > 0) {
      ptr = this.malloc(size) >>> 0;
      if (ptr === 0 || !this.inBounds(ptr, size)) return false;
      fill(this.buf, ptr);
    }
    return this.writeU32(ptrPtr, ptr) && this.writeU32(sizePtr, size);
  }

  /**
   * cpp-host's copyToPointerSize: allocate with the module's malloc, copy, then write the
   * pointer and size. An empty value writes (0, 0) without calling malloc.
   */
  copyOut(data: Uint8Array, ptrPtr: number, sizePtr: number): boolean {
    let ptr = 0;
    if (data.length > 0) {
      ptr = this.malloc(data.length) >>> 0;
      if (ptr === 0 || !this.write(ptr, data)) return false;
    }
    return this.writeU32(ptrPtr, ptr) && this.writeU32(sizePtr, data.length);
  }
}
