// When the module collects its garbage.
//
// The filters build with AssemblyScript's minimal runtime (asconfig.json): a two-colour mark
// and sweep that runs only when asked to. The incremental runtime collects a little at every
// allocation, and for that keeps each managed local on a shadow stack and runs a write barrier
// on every reference stored into an object: on a 1 KB chat through the five-filter chain that
// bookkeeping was a fifth of the Wasm time (bench/chain.ts, docs/DESIGN.md has the numbers).
//
// A collection sees the globals and the pinned objects, not the Wasm stack, so it may run only
// when no module code is on the stack: the outermost callback collects as it returns, once the
// garbage made since the last collection is worth a pass. Garbage is estimated, not counted (the
// runtime keeps its count private): a share per callback, plus four times the bytes the host
// copied in through malloc (bodies and values: read, parsed and rewritten; what is read into a
// kept region leaves nothing). Memory that grew since the last collection means the allocator
// found no room: collect then too, before it has to grow again.
// Memory stays flat over any number of streams, over one stream of any number of chunks, and
// over large bodies (test/module-collect.test.ts).

import { takeHostAllocated } from "../abi/memory";
import { Context } from "./context";
import { setCurrentContext } from "./state";

/** Garbage a callback is assumed to leave besides its body: about what a 1 KB chat's callbacks do. */
const PER_CALLBACK: usize = 1024;
/** Collect once this much garbage is estimated: every hundred or so 1 KB chats, a few 32 KB ones. */
const BUDGET: usize = 1 << 20;

/** Module callbacks on the stack (a host may call in while one runs: malloc, or another callback). */
let depth: i32 = 0;
let estimate: usize = 0;
let pagesAtCollect: i32 = memory.size();

/** A callback for `ctx` (null: a root-less one, such as an HTTP call's answer) starts. */
export function beginCallback(ctx: Context | null): void {
  depth++;
  setCurrentContext(ctx);
}

/**
 * The callback begun last ends. The outermost one collects when the estimate reaches the
 * budget, memory grew, or `force` (a configuration leaves its parse behind).
 */
export function endCallback(force: bool = false): void {
  setCurrentContext(null);
  if (--depth > 0) return;
  depth = 0;
  estimate += PER_CALLBACK + (takeHostAllocated() << 2);
  if (force || estimate >= BUDGET || memory.size() != pagesAtCollect) collectNow();
}

function collectNow(): void {
  __collect();
  estimate = 0;
  pagesAtCollect = memory.size();
}
