// json-body-floor: the least a filter costs when its contract makes it read the request body
// and check that it is JSON, as Kong's prompt filters must (their 400 for anything else): the
// prompt filters' request side (lib/prompt/body.ts: content-length handled on the headers, the
// body read whole into the kept buffer), a pooled stream context, and one validation. Nothing
// else. bench/chain.ts sets the idle filters against it: what they cost beyond it is their own.

export * from "../../../lib/prompt/exports";
import { Action, HttpContext, RootContext, registerRootContext } from "../../../lib/runtime";
import { DEFAULT_MAX_REQUEST_BODY_SIZE, JsonBodyStream } from "../../../lib/prompt/body";
import { StreamPool } from "../../../lib/runtime/pool";
import { validateJson } from "../../../lib/json/validate";
import { DEFAULT_MAX_DEPTH } from "../../../lib/json/read";
import { readRequestBodiesKept } from "../../../lib/prompt/read";

const NAME = "json-body-floor";
/** The streams' one configuration (there is nothing to configure). */
class FloorConfig {}
const CONFIG = new FloorConfig();

class FloorRoot extends RootContext {
  readonly pool: StreamPool<FloorStream> = new StreamPool<FloorStream>();

  onConfigure(bytes: Uint8Array): bool {
    this.pool.reset(CONFIG);
    return true;
  }

  createHttpContext(contextId: u32): HttpContext {
    const s = this.pool.take(contextId);
    return s != null ? s : new FloorStream(contextId, this);
  }
}

class FloorStream extends JsonBodyStream {
  constructor(id: u32, root: RootContext) {
    super(id, root, NAME, DEFAULT_MAX_REQUEST_BODY_SIZE);
  }

  onBody(body: Uint8Array): i32 {
    return validateJson(body, DEFAULT_MAX_DEPTH) == null ? Action.Continue : this.reject(400, "request body is not JSON");
  }

  onDelete(): void {
    changetype<FloorRoot>(this.root).pool.give(this, CONFIG);
  }
}

// Request bodies are read into the kept buffer: this filter keeps none past its callback.
readRequestBodiesKept();
registerRootContext("", (id: u32): RootContext => new FloorRoot(id));
