// Bounds-checked access to a module's linear memory. memory.grow (including a malloc the host
// calls) detaches the old ArrayBuffer, which leaves the cached views with length 0: they are
// rebuilt then, so the common access costs no call to the `memory.buffer` getter.

/** Buffer's native UTF-8 decoder, which toString("utf8", start, end) reaches after its dispatch. */
type Utf8Sliceable = Buffer & { utf8Slice(start: number, end: number): string };
type Latin1Sliceable = Buffer & { latin1Slice(start: number, end: number): string };

/** Copies up to this size are made with slice(): V8 keeps such small arrays on its heap. */
const SMALL_COPY = 64;

/**
 * read()'s pool, shared by every VM of the thread: copies up to POOLED bytes are carved from a
 * POOL_SIZE chunk (Node's Buffer.poolSize and its half, so a live copy keeps no more memory
 * alive than a pooled Buffer does).
 */
const POOL_SIZE = 8 * 1024;
const POOLED = POOL_SIZE / 2;
let pool = new Uint8Array(POOL_SIZE);
let poolUsed = 0;

/** Longest key readKey interns, and the size of its table (a power of two). */
const KEY_MAX = 64;
const KEY_SLOTS = 512;

export class GuestMemory {
  private memory: WebAssembly.Memory = new WebAssembly.Memory({ initial: 0 });
  private malloc: (size: number) => number = () => 0;
  // Views over the current buffer, rebuilt after a grow (see views()).
  private u8: Uint8Array = new Uint8Array(0);
  private buf: Buffer = Buffer.alloc(0);
  private dv: DataView = new DataView(new ArrayBuffer(0));
  // readKey's table, by hash slot: each interned key's bytes (as words, then the tail), length and string.
  private readonly keyWords: (Int32Array | null)[] = new Array<Int32Array | null>(KEY_SLOTS).fill(null);
  private readonly keyLengths = new Int32Array(KEY_SLOTS);
  private readonly keyStrings: string[] = new Array<string>(KEY_SLOTS).fill("");

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
    // Larger: a slice() would get its own off-heap backing store (microseconds each). Up to
    // POOLED bytes the copy goes into a shared chunk, as Node's Buffer pool does, as a plain
    // Uint8Array view (callers keep Uint8Array semantics: slice copies); beyond, Node's
    // allocation plus a copy.
    if (len <= POOLED) {
      let at = poolUsed;
      if (at + len > POOL_SIZE) {
        pool = new Uint8Array(POOL_SIZE);
        at = 0;
      }
      poolUsed = (at + len + 7) & ~7; // the next copy starts 8-aligned
      pool.set(this.u8.subarray(ptr, ptr + len), at);
      return new Uint8Array(pool.buffer, at, len);
    }
    const b = Buffer.allocUnsafe(len);
    b.set(this.u8.subarray(ptr, ptr + len));
    return new Uint8Array(b.buffer, b.byteOffset, len);
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
    h = Math.imul(h ^ tail, 0x01000193);
    const slot = (h ^ (h >>> 16)) & (KEY_SLOTS - 1);
    const known = this.keyWords[slot];
    if (known && this.keyLengths[slot] === len) {
      let i = 0;
      while (i < words && known[i] === dv.getInt32(ptr + 4 * i, true)) i++;
      if (i === words && known[words] === tail) return this.keyStrings[slot]!;
    }
    // ASCII: Latin-1 decoding gives the same string as UTF-8.
    const s = len === 0 ? "" : (this.buf as Latin1Sliceable).latin1Slice(ptr, ptr + len);
    const copy = new Int32Array(words + 1);
    for (let i = 0; i < words; i++) copy[i] = dv.getInt32(ptr + 4 * i, true);
    copy[words] = tail;
    this.keyWords[slot] = copy;
    this.keyLengths[slot] = len;
    this.keyStrings[slot] = s;
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
