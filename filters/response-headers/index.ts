// response-headers: adds the configured headers to every response, including local replies
// (which pass through this filter's response callbacks in Envoy).

export * from "../../lib/runtime/exports";
import { Action, HttpContext, RootContext, logError, registerRootContext } from "../../lib/runtime";
import { parseConfig, ResponseHeadersConfig } from "./config";

class ResponseHeadersRoot extends RootContext {
  config: ResponseHeadersConfig = new ResponseHeadersConfig();

  onConfigure(bytes: Uint8Array): bool {
    const r = parseConfig(bytes);
    if (r.error != null) {
      logError(r.error!);
      return false;
    }
    this.config = r.config!;
    return true;
  }

  createHttpContext(contextId: u32): HttpContext {
    return new ResponseHeadersStream(contextId, this, this.config);
  }
}

class ResponseHeadersStream extends HttpContext {
  constructor(
    id: u32,
    root: RootContext,
    private readonly config: ResponseHeadersConfig,
  ) {
    super(id, root);
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): i32 {
    const headers = this.config.headers;
    for (let i = 0; i < headers.length; i++) {
      const h = unchecked(headers[i]);
      this.addResponseHeader(h.key, h.value);
    }
    return Action.Continue;
  }
}

registerRootContext("", (id: u32): RootContext => new ResponseHeadersRoot(id));
