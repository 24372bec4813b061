// The runtime's bookkeeping: root-context factories by root_id, live contexts by id, and
// the context whose callback is running. AS Map.get aborts on a missing key, so every
// lookup here goes through has() first.

import { Context, HttpContext, RootContext } from "./context";

/** Creates a plugin's root context for the given context id. */
export type RootFactory = (contextId: u32) => RootContext;

/** Slots of ById's direct table (a power of two): more than the streams one worker has open at once. */
const SLOTS: u32 = 1024;

/**
 * Contexts of one kind by id. Envoy numbers contexts 1, 2, 3, … per VM, so the live ones
 * almost always fall in different slots of a table indexed by the id's low bits: a lookup,
 * an insert and a removal are a load and a compare, with no hashing. An id whose slot is taken
 * goes to a Map. The last context found is kept too (a stream's callbacks come one after
 * another, and every stream's creation looks up the same root).
 */
class ById<T extends Context> {
  private readonly slots: StaticArray<T | null> = new StaticArray<T | null>(SLOTS);
  private readonly overflow: Map<u32, T> = new Map<u32, T>();
  private last: T | null = null;

  get(id: u32): T | null {
    const last = this.last;
    if (last != null && last.id == id) return last;
    let ctx = unchecked(this.slots[id & (SLOTS - 1)]);
    if (ctx == null || ctx.id != id) {
      // AS Map.get aborts on a missing key: has() first.
      if (this.overflow.size == 0 || !this.overflow.has(id)) return null;
      ctx = this.overflow.get(id);
    }
    this.last = ctx;
    return ctx;
  }
  set(ctx: T): void {
    const i = ctx.id & (SLOTS - 1);
    const cur = unchecked(this.slots[i]);
    if (cur == null || cur.id == ctx.id) {
      unchecked((this.slots[i] = ctx));
      // A context re-added under its id replaces any earlier one in the overflow too.
      if (this.overflow.size > 0 && this.overflow.has(ctx.id)) this.overflow.delete(ctx.id);
    } else {
      this.overflow.set(ctx.id, ctx);
    }
    this.last = ctx;
  }
  /** Removes `id`; false when there was none. */
  delete(id: u32): bool {
    const last = this.last;
    if (last != null && last.id == id) this.last = null;
    const i = id & (SLOTS - 1);
    const cur = unchecked(this.slots[i]);
    if (cur != null && cur.id == id) {
      unchecked((this.slots[i] = null));
      return true;
    }
    if (this.overflow.size == 0 || !this.overflow.has(id)) return false;
    this.overflow.delete(id);
    return true;
  }
}

const factories = new Map<string, RootFactory>();
const roots = new ById<RootContext>();
const streams = new ById<HttpContext>();
let current: Context | null = null;

/**
 * Registers the root context factory for a plugin root_id (Envoy's `root_id`). Call at top
 * level. One module may register several; "" is the fallback for an empty or unknown root_id,
 * as is the only registered factory.
 */
export function registerRootContext(rootId: string, factory: RootFactory): void {
  factories.set(rootId, factory);
}

/** The factory for a root_id, or null when none fits. */
export function factoryFor(rootId: string): RootFactory | null {
  if (factories.has(rootId)) return factories.get(rootId);
  if (factories.has("")) return factories.get("");
  if (factories.size == 1) return factories.values()[0];
  return null;
}

export function addRoot(ctx: RootContext): void {
  roots.set(ctx);
}
export function addStream(ctx: HttpContext): void {
  streams.set(ctx);
}
export function rootById(id: u32): RootContext | null {
  return roots.get(id);
}
export function streamById(id: u32): HttpContext | null {
  return streams.get(id);
}
/** Any live context. */
export function contextById(id: u32): Context | null {
  const s = streams.get(id);
  if (s != null) return s;
  return roots.get(id);
}
export function removeContext(id: u32): void {
  if (!streams.delete(id)) roots.delete(id);
}
/** Forgets the stream context `id` (no root): for a module whose last stream callback is on_log. */
export function removeStream(id: u32): void {
  streams.delete(id);
}

/** The context whose callback is running (null between callbacks). */
export function currentContext(): Context | null {
  return current;
}
export function setCurrentContext(ctx: Context | null): void {
  current = ctx;
}
