// Stream contexts kept for reuse: a filter whose stream holds nothing once it is deleted (no
// pending call, no reference kept elsewhere) can hand its context back on delete and take it
// again for the next stream, instead of allocating one per stream and leaving the old one to
// the collector. Each VM runs one stream callback at a time, so a plain list is enough. A context
// belongs to the configuration it was made with: the pool keeps only those of the current one.

import { HttpContext } from "./context";

/** The most contexts kept: more than the streams one worker has open at once is waste. */
const MAX_KEPT: i32 = 64;

export class StreamPool<T extends HttpContext> {
  private readonly free: StaticArray<T | null> = new StaticArray<T | null>(MAX_KEPT);
  private count: i32 = 0;
  /** The configuration the kept contexts were made with (reset). */
  private config: Object | null = null;

  /** A deleted context rebound to stream `id`, or null (make a new one). */
  take(id: u32): T | null {
    const n = this.count;
    if (n == 0) return null;
    const ctx = unchecked(this.free[n - 1])!;
    unchecked((this.free[n - 1] = null));
    this.count = n - 1;
    ctx.rebind(id);
    return ctx;
  }

  /**
   * Keeps `ctx` (its stream is being deleted, `config` is the one it was made with) for a later
   * stream, unless a new configuration came since: a stream of an earlier one is not kept.
   */
  give(ctx: T, config: Object): void {
    if (config !== this.config) return;
    const n = this.count;
    if (n >= MAX_KEPT) return;
    unchecked((this.free[n] = ctx));
    this.count = n + 1;
  }

  /** A new configuration: drops every kept context (theirs is stale). */
  reset(config: Object): void {
    for (let i = 0; i < this.count; i++) unchecked((this.free[i] = null));
    this.count = 0;
    this.config = config;
  }
}
