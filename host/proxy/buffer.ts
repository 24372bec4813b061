// Envoy's Buffer::Instance, reduced to what filters and the ABI use: a byte queue that can be
// appended to, prepended to, drained and moved without copying every chunk.

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
    this.chunks.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    this.len += data.length;
  }

  prepend(data: Uint8Array): void {
    if (data.length === 0) return;
    this.chunks.unshift(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
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

  /** Bytes [start, start+length), clamped. */
  copyOut(start: number, length: number): Buffer {
    const b = this.toBuffer();
    // The whole buffer (a body read, the common case) needs no new view.
    if (start === 0 && length >= this.len) return b;
    return b.subarray(start, Math.min(this.len, start + length));
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
