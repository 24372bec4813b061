// noop: a root and a stream context that do nothing; every callback lets the stream through.
// The benchmark compares a router-only chain against a chain with this filter, which
// measures the cost of the Wasm filter machinery itself.

export * from "../../lib/runtime/exports";
import { HttpContext, RootContext, registerRootContext } from "../../lib/runtime";
import { parseNoopConfig } from "./config";

class NoopRoot extends RootContext {
  onConfigure(config: Uint8Array): bool {
    parseNoopConfig(config);
    return true;
  }
  createHttpContext(contextId: u32): HttpContext {
    return new HttpContext(contextId, this);
  }
}

registerRootContext("", (id: u32): RootContext => new NoopRoot(id));
