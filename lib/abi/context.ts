// Context switches: which context later calls act on, and asynchronous completion.

import { proxy_done, proxy_set_effective_context } from "./imports";

/**
 * Makes later host calls in this VM call act on `contextId` (e.g. a stream, from the
 * root context's http-call response). BAD_ARGUMENT for an unknown id. Returns the host status.
 */
export function setEffectiveContext(contextId: u32): i32 {
  return proxy_set_effective_context(contextId);
}

/** Signals that a context whose on_done returned false has finished. Returns the host status. */
export function done(): i32 {
  return proxy_done();
}
