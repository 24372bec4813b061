// ai-prompt-decorator: adds the configured messages before and after a chat request's own
// messages, as Kong's ai-prompt-decorator does: the new array is the prepend messages, then
// the client's messages (its own system message included) unchanged, then the append messages.

// Request callbacks only (lib/prompt/exports.ts says why).
export * from "../../lib/prompt/exports";
import { Action, RootContext, HttpContext, logError, logInfo, registerRootContext } from "../../lib/runtime";
import { JsonBodyStream, readJsonDoc } from "../../lib/prompt/body";
import { outputRegion, replaceBodyAt } from "../../lib/prompt/out";
import { StreamPool } from "../../lib/runtime/pool";
import { DEFAULT_MAX_DEPTH } from "../../lib/json/read";
import { decodeString, Kind, kindAt, lastMember, Member, skipWs } from "../../lib/prompt/scan";
import { ByteBuilder } from "../../lib/llm/json-writer";
import { DecoratorConfig, parseConfig } from "./config";
import { readRequestBodiesKept } from "../../lib/prompt/read";

const NAME = "ai-prompt-decorator";
const NOT_JSON = "this LLM route only supports application/json requests";
const NOT_CHAT = "this LLM route only supports llm/chat type requests";

class DecoratorRoot extends RootContext {
  config: DecoratorConfig = new DecoratorConfig();
  /** Deleted streams, reused (lib/runtime/pool.ts): a stream holds nothing once deleted. */
  readonly pool: StreamPool<DecoratorStream> = new StreamPool<DecoratorStream>();

  onConfigure(bytes: Uint8Array): bool {
    const r = parseConfig(bytes);
    if (r.error != null) {
      logError(r.error!);
      return false;
    }
    this.config = r.config!;
    this.pool.reset(this.config);
    return true;
  }

  createHttpContext(contextId: u32): HttpContext {
    const s = this.pool.take(contextId);
    return s != null ? s : new DecoratorStream(contextId, this, this.config);
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

  onDelete(): void {
    changetype<DecoratorRoot>(this.root).pool.give(this, this.config);
  }

  onBody(body: Uint8Array): i32 {
    // The template before us may have vouched for these bytes (lib/prompt/vouch.ts).
    const doc = readJsonDoc(body, DEFAULT_MAX_DEPTH, true);
    if (doc.error != null) {
      logInfo("request body is not valid JSON: " + doc.error!);
      return this.reject(400, NOT_JSON);
    }
    if (doc.kind == Kind.Array) return this.reject(400, NOT_CHAT);
    if (doc.kind != Kind.Object) return this.reject(400, NOT_JSON);
    const members = doc.members;
    const messages = lastMember(body, members, "messages");
    if (messages == null || kindAt(body, messages.valueStart) != Kind.Array) return this.reject(400, NOT_CHAT);
    // The array's content without its brackets and outer whitespace; a chat needs a message.
    const innerStart = skipWs(body, messages.valueStart + 1);
    let innerEnd = messages.valueEnd - 1;
    while (innerEnd > innerStart && isWs(unchecked(body[innerEnd - 1]))) innerEnd--;
    if (innerStart >= innerEnd) return this.reject(400, NOT_CHAT);

    const c = this.config;
    if (keysDistinct(body, members)) {
      // The common case: splice the messages into the client's bytes, the rest untouched,
      // written straight into the output region (lib/prompt/out.ts) at their final offsets.
      const head = messages.valueStart;
      const tail = body.length - messages.valueEnd;
      const mid = messagesLength(c, innerStart, innerEnd);
      const n = head + mid + tail;
      const d = outputRegion(n);
      memory.copy(d, body.dataStart, <usize>head);
      writeMessagesAt(d + <usize>head, c, body, innerStart, innerEnd);
      memory.copy(d + <usize>(head + mid), body.dataStart + <usize>messages.valueEnd, <usize>tail);
      replaceBodyAt(body, d, n);
      return Action.Continue;
    }
    // Duplicate keys: re-serialise the top level with one member per key (the last, as a
    // JSON parser keeps), nested values copied byte for byte. Sized for the result up front.
    const w = new ByteBuilder(body.length + c.prepend.length + c.append.length + 8);
    w.byte(0x7b);
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
        const k = messagesLength(c, innerStart, innerEnd);
        w.ensure(k);
        writeMessagesAt(w.buf.dataStart + <usize>w.len, c, body, innerStart, innerEnd);
        w.len += k;
      } else w.range(body, m.valueStart, m.valueEnd);
    }
    w.byte(0x7d);
    // The builder's own bytes, not a copy of them.
    this.replaceBody(body, w.buf.subarray(0, w.len));
    return Action.Continue;
  }
}

function isWs(c: u8): bool {
  return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d;
}

/** The length of the new messages array (writeMessagesAt's output). */
function messagesLength(c: DecoratorConfig, start: i32, end: i32): i32 {
  const pre = c.prependCount > 0 ? c.prepend.length + 1 : 0;
  const app = c.appendCount > 0 ? c.append.length + 1 : 0;
  return 2 + pre + (end - start) + app;
}

/**
 * Writes the new messages array at `d` (messagesLength bytes): prepend, the client's messages
 * `[start, end)`, append. Plain stores and copies: a handful of small pieces per request.
 */
function writeMessagesAt(d: usize, c: DecoratorConfig, body: Uint8Array, start: i32, end: i32): void {
  store<u8>(d++, 0x5b);
  if (c.prependCount > 0) {
    const pre = c.prepend.length;
    memory.copy(d, c.prepend.dataStart, <usize>pre);
    d += <usize>pre;
    store<u8>(d++, 0x2c);
  }
  memory.copy(d, body.dataStart + <usize>start, <usize>(end - start));
  d += <usize>(end - start);
  if (c.appendCount > 0) {
    const app = c.append.length;
    store<u8>(d++, 0x2c);
    memory.copy(d, c.append.dataStart, <usize>app);
    d += <usize>app;
  }
  store<u8>(d, 0x5d);
}

/** Up to this many keys are compared pairwise; more go through a set (a body may hold 100k keys). */
const PAIRWISE_KEYS = 16;

/**
 * Whether no two top-level keys are the same. Compared as raw bytes, so a key with an escape
 * (two spellings of one key) answers false and takes the decoding path.
 */
function keysDistinct(body: Uint8Array, members: Member[]): bool {
  const n = members.length;
  const p = body.dataStart;
  for (let i = 0; i < n; i++) {
    const a = unchecked(members[i]);
    for (let k = a.keyStart; k < a.keyEnd; k++) if (load<u8>(p + <usize>k) == 0x5c) return false;
  }
  if (n > PAIRWISE_KEYS) {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const m = unchecked(members[i]);
      const k = decodeString(body, m.keyStart, m.keyEnd);
      if (seen.has(k)) return false;
      seen.add(k);
    }
    return true;
  }
  for (let i = 0; i < n; i++) {
    const a = unchecked(members[i]);
    const len = a.keyEnd - a.keyStart;
    for (let j = 0; j < i; j++) {
      const b = unchecked(members[j]);
      if (b.keyEnd - b.keyStart == len && memory.compare(body.dataStart + <usize>a.keyStart, body.dataStart + <usize>b.keyStart, len) == 0) return false;
    }
  }
  return true;
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

// Request bodies are read into the kept buffer: this filter keeps none past its callback.
readRequestBodiesKept();
registerRootContext("", (id: u32): RootContext => new DecoratorRoot(id));
