// The runtime's bookkeeping: root-context factories by root_id, live contexts by id, and
// the context whose callback is running. AS Map.get aborts on a missing key, so every
// lookup here goes through has() first.

import { Context, HttpContext, RootContext } from "./context";

/** Creates a plugin's root context for the given context id. */
export type RootFactory = (contextId: u32) => RootContext;

const factories = new Map<string, RootFactory>();
const roots = new Map<u32, RootContext>();
const streams = new Map<u32, HttpContext>();
let current: Context | null = null;
// The stream the last lookup found: a stream's callbacks come one after another, so most
// lookups are answered here without two hash probes (has, then get).
let lastStream: HttpContext | null = null;
let lastRoot: RootContext | null = null;

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
  roots.set(ctx.id, ctx);
  // A root replacing another under the same id must not be shadowed by the cached one.
  const root = lastRoot;
  if (root != null && root.id == ctx.id) lastRoot = null;
}
export function addStream(ctx: HttpContext): void {
  streams.set(ctx.id, ctx);
  lastStream = ctx;
}
export function rootById(id: u32): RootContext | null {
  // Every stream's creation looks up its root: usually the one root of the plugin.
  const last = lastRoot;
  if (last != null && last.id == id) return last;
  if (!roots.has(id)) return null;
  const root = roots.get(id);
  lastRoot = root;
  return root;
}
export function streamById(id: u32): HttpContext | null {
  const last = lastStream;
  if (last != null && last.id == id) return last;
  if (!streams.has(id)) return null;
  const ctx = streams.get(id);
  lastStream = ctx;
  return ctx;
}
/** Any live context. */
export function contextById(id: u32): Context | null {
  const last = lastStream;
  if (last != null && last.id == id) return last;
  if (streams.has(id)) return streams.get(id);
  if (roots.has(id)) return roots.get(id);
  return null;
}
export function removeContext(id: u32): void {
  const last = lastStream;
  if (last != null && last.id == id) lastStream = null;
  if (streams.has(id)) streams.delete(id);
  else if (roots.has(id)) {
    roots.delete(id);
    const root = lastRoot;
    if (root != null && root.id == id) lastRoot = null;
  }
}

/** The context whose callback is running (null between callbacks). */
export function currentContext(): Context | null {
  return current;
}
export function setCurrentContext(ctx: Context | null): void {
  current = ctx;
}
