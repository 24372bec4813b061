// The upstream request's body as undici reads it: an async iterable the router pushes the
// downstream body into. undici frames an iterable by the request headers alone (content-length
// when they carry one, else chunked), as Envoy's HTTP/1 codec does, and writes each chunk as it
// comes. A PassThrough stream did the same at several times the cost per request (stream
// construction, listeners, nextTick hops), and had to stay open until undici started the request
// or undici would have framed an ended stream by its length.

/** A queue of body chunks, read once by undici's `for await`. */
export class RequestBody implements AsyncIterableIterator<Buffer> {
  private readonly chunks: Buffer[];
  private ended = false;
  private error: Error | null = null;
  /** The reader's pending next(), when it is waiting for a chunk. */
  private waiting: { resolve: (r: IteratorResult<Buffer>) => void; reject: (e: Error) => void } | null = null;

  /** `chunks` is taken over, not copied. */
  constructor(chunks: Buffer[] = []) {
    this.chunks = chunks;
  }

  push(chunk: Buffer): void {
    if (this.ended || this.error) return;
    const w = this.waiting;
    if (w) {
      this.waiting = null;
      w.resolve({ value: chunk, done: false });
    } else this.chunks.push(chunk);
  }

  /** No more chunks: the reader finishes once it has read the queued ones. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    const w = this.waiting;
    if (w && this.chunks.length === 0) {
      this.waiting = null;
      w.resolve({ value: undefined, done: true });
    }
  }

  /**
   * The request is abandoned (reset, timeout, a response that beat the request): the reader's
   * loop throws, which makes undici abort the write, and queued chunks are dropped.
   */
  destroy(): void {
    if (this.error) return;
    this.error = new Error("request body destroyed");
    this.chunks.length = 0;
    const w = this.waiting;
    if (w) {
      this.waiting = null;
      w.reject(this.error);
    }
  }

  next(): Promise<IteratorResult<Buffer>> {
    if (this.error) return Promise.reject(this.error);
    if (this.chunks.length > 0) return Promise.resolve({ value: this.chunks.shift()!, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  /** The reader stopped early (its loop threw): nothing more is queued. */
  return(): Promise<IteratorResult<Buffer>> {
    this.ended = true;
    this.chunks.length = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
