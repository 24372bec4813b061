// Envoy's Buffer::Instance, reduced to what filters and the ABI use: a byte queue that can be
// appended to, prepended to, drained and moved without copying every chunk.

/** A Buffer over the same bytes (no copy). */
function asBuffer(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export class BufferInstance {
  private chunks: Buffer[] = [];
  private len = 0;

  constructor(init?: Uint8Array) {
    if (init && init.length > 0) this.add(init);
  }

  get length(): number {
    return this.len;
  }

  add(data: Uint8Array): void {
    if (data.length === 0) return;
    this.chunks.push(asBuffer(data));
    this.len += data.length;
  }

  prepend(data: Uint8Array): void {
    if (data.length === 0) return;
    this.chunks.unshift(asBuffer(data));
    this.len += data.length;
  }

  /** Drain up to `n` bytes from the front (Envoy drains what there is). */
  drain(n: number): void {
    n = Math.min(n, this.len);
    while (n > 0 && this.chunks.length > 0) {
      const c = this.chunks[0]!;
      if (c.length <= n) {
        this.chunks.shift();
        n -= c.length;
        this.len -= c.length;
      } else {
        this.chunks[0] = c.subarray(n);
        this.len -= n;
        n = 0;
      }
    }
  }

  /** Move all of `other` to the end of this buffer, leaving `other` empty. */
  move(other: BufferInstance): void {
    for (const c of other.chunks) this.chunks.push(c);
    this.len += other.len;
    other.chunks = [];
    other.len = 0;
  }

  /** The whole buffer when it is one chunk (no join, no copy), else null. */
  single(): Buffer | null {
    return this.chunks.length === 1 ? this.chunks[0]! : null;
  }

  /**
   * Copies bytes [start, start + length) (the caller clamps them to the buffer) into `out` at
   * `at`, straight from the chunks: a read of a multi-chunk body costs one copy, not a join
   * and then a copy.
   */
  copyTo(start: number, length: number, out: Uint8Array, at: number): void {
    const chunks = this.chunks;
    let i = 0;
    while (start >= chunks[i]!.length) start -= chunks[i++]!.length;
    while (length > 0) {
      const c = chunks[i++]!;
      const n = Math.min(c.length - start, length);
      out.set(n === c.length ? c : c.subarray(start, start + n), at);
      at += n;
      length -= n;
      start = 0;
    }
  }

  /** Whether the first `len` bytes (len <= length) are src[from, from + len), compared chunk by chunk. */
  startsWith(src: Uint8Array, from: number, len: number): boolean {
    for (let i = 0; len > 0; i++) {
      const c = this.chunks[i]!;
      const n = Math.min(c.length, len);
      if (c.compare(src, from, from + n, 0, n) !== 0) return false;
      from += n;
      len -= n;
    }
    return true;
  }

  /**
   * drain(length) then prepend(data): Envoy's Buffer::copyFrom at start 0. Replacing all of it
   * (the common write) swaps the chunk list instead of draining chunk by chunk.
   */
  replaceFront(length: number, data: Uint8Array): void {
    if (length < this.len) {
      this.drain(length);
      this.prepend(data);
      return;
    }
    if (data.length === 0) this.chunks.length = 0;
    else if (this.chunks.length === 1) this.chunks[0] = asBuffer(data);
    else this.chunks = [asBuffer(data)];
    this.len = data.length;
  }

  toBuffer(): Buffer {
    if (this.chunks.length === 1) return this.chunks[0]!;
    const b = Buffer.concat(this.chunks, this.len);
    this.chunks = this.len > 0 ? [b] : [];
    return b;
  }

  toString(): string {
    return this.toBuffer().toString("utf8");
  }
}
