// Bounds-checked access to a module's linear memory. Views are re-created on every access
// because memory.grow (including a malloc the host calls) detaches the old ArrayBuffer.

export class GuestMemory {
  private memory: WebAssembly.Memory = new WebAssembly.Memory({ initial: 0 });
  private malloc: (size: number) => number = () => 0;

  /** Bound once the instance exists; host functions hold this object from before. */
  bind(memory: WebAssembly.Memory, malloc: (size: number) => number): void {
    this.memory = memory;
    this.malloc = malloc;
  }

  get size(): number {
    return this.memory.buffer.byteLength;
  }

  private inBounds(ptr: number, len: number): boolean {
    return ptr >= 0 && len >= 0 && ptr + len <= this.memory.buffer.byteLength && ptr + len <= 0xffffffff;
  }

  /** A copy of guest bytes, or null when out of bounds (the caller answers INVALID_MEMORY_ACCESS). */
  read(ptr: number, len: number): Uint8Array | null {
    ptr >>>= 0;
    len >>>= 0;
    if (!this.inBounds(ptr, len)) return null;
    return new Uint8Array(this.memory.buffer, ptr, len).slice();
  }

  readString(ptr: number, len: number): string | null {
    ptr >>>= 0;
    len >>>= 0;
    if (!this.inBounds(ptr, len)) return null;
    if (len === 0) return "";
    // Decoded straight from guest memory: no intermediate copy.
    return Buffer.from(this.memory.buffer, ptr, len).toString("utf8");
  }

  write(ptr: number, data: Uint8Array): boolean {
    ptr >>>= 0;
    if (!this.inBounds(ptr, data.length)) return false;
    new Uint8Array(this.memory.buffer, ptr, data.length).set(data);
    return true;
  }

  writeU32(ptr: number, value: number): boolean {
    ptr >>>= 0;
    if (!this.inBounds(ptr, 4)) return false;
    new DataView(this.memory.buffer).setUint32(ptr, value >>> 0, true);
    return true;
  }

  writeU64(ptr: number, value: bigint): boolean {
    ptr >>>= 0;
    if (!this.inBounds(ptr, 8)) return false;
    new DataView(this.memory.buffer).setBigUint64(ptr, BigInt.asUintN(64, value), true);
    return true;
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
