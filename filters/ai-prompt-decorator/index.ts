// ai-prompt-decorator: adds the configured messages before and after a chat request's own
// messages, as Kong's ai-prompt-decorator does: the new array is the prepend messages, then
// the client's messages (its own system message included) unchanged, then the append messages.

export * from "../../lib/runtime/exports";
import { Action, RootContext, HttpContext, logError, logInfo, registerRootContext } from "../../lib/runtime";
import { JsonBodyStream, readJsonDoc } from "../../lib/prompt/body";
import { arrayElements, decodeString, Kind, kindAt, lastMember, Member } from "../../lib/prompt/scan";
import { ByteBuilder } from "../../lib/llm/json-writer";
import { DecoratorConfig, parseConfig } from "./config";

const NAME = "ai-prompt-decorator";
const NOT_JSON = "this LLM route only supports application/json requests";
const NOT_CHAT = "this LLM route only supports llm/chat type requests";

class DecoratorRoot extends RootContext {
  config: DecoratorConfig = new DecoratorConfig();

  onConfigure(bytes: Uint8Array): bool {
    const r = parseConfig(bytes);
    if (r.error != null) {
      logError(NAME + ": " + r.error!);
      return false;
    }
    this.config = r.config!;
    return true;
  }

  createHttpContext(contextId: u32): HttpContext {
    return new DecoratorStream(contextId, this, this.config);
  }
}

class DecoratorStream extends JsonBodyStream {
  constructor(
    id: u32,
    root: RootContext,
    private readonly config: DecoratorConfig,
  ) {
    super(id, root, NAME, config.maxBodySize);
  }

  onNoBody(): i32 {
    return this.reject(400, NOT_JSON);
  }

  onBody(body: Uint8Array): i32 {
    const doc = readJsonDoc(body);
    if (doc.error != null) {
      logInfo(NAME + ": request body is not valid JSON: " + doc.error!);
      return this.reject(400, NOT_JSON);
    }
    if (doc.kind == Kind.Array) return this.reject(400, NOT_CHAT);
    if (doc.kind != Kind.Object) return this.reject(400, NOT_JSON);
    const members = doc.members;
    const messages = lastMember(body, members, "messages");
    if (messages == null || kindAt(body, messages.valueStart) != Kind.Array) return this.reject(400, NOT_CHAT);
    const elements = arrayElements(body, messages.valueStart);
    if (elements.length == 0) return this.reject(400, NOT_CHAT);

    const c = this.config;
    const w = new ByteBuilder(body.length + c.prepend.length + c.append.length + 8);
    w.byte(0x7b);
    // Re-serialise the top level: one member per key (the last, as a JSON parser keeps),
    // nested values copied byte for byte.
    const last = lastIndexByKey(body, members);
    let first = true;
    for (let i = 0; i < members.length; i++) {
      const m = unchecked(members[i]);
      if (unchecked(last[i]) == false) continue;
      if (!first) w.byte(0x2c);
      first = false;
      w.byte(0x22);
      w.range(body, m.keyStart, m.keyEnd);
      w.byte(0x22);
      w.byte(0x3a);
      if (m === messages) {
        w.byte(0x5b);
        if (c.prependCount > 0) {
          w.bytes(c.prepend);
          w.byte(0x2c);
        }
        w.range(body, unchecked(elements[0]).start, unchecked(elements[elements.length - 1]).end);
        if (c.appendCount > 0) {
          w.byte(0x2c);
          w.bytes(c.append);
        }
        w.byte(0x5d);
      } else {
        w.range(body, m.valueStart, m.valueEnd);
      }
    }
    w.byte(0x7d);
    this.replaceRequestBody(w.toBytes());
    return Action.Continue;
  }
}

/** For each member, whether it is the last one with its (decoded) key. */
function lastIndexByKey(body: Uint8Array, members: Member[]): bool[] {
  const seen = new Set<string>();
  const out = new Array<bool>(members.length);
  for (let i = members.length - 1; i >= 0; i--) {
    const m = unchecked(members[i]);
    const k = decodeString(body, m.keyStart, m.keyEnd);
    unchecked((out[i] = !seen.has(k)));
    seen.add(k);
  }
  return out;
}

registerRootContext("", (id: u32): RootContext => new DecoratorRoot(id));
