// ai-prompt-template: a request {"messages":"{template://NAME}","properties":{…}} (or "prompt"
// for completions) is replaced by the configured template NAME with its {{placeholders}} filled
// from the string properties, as Kong's ai-prompt-template does (see README.md).

// Request callbacks only (lib/prompt/exports.ts says why).
export * from "../../lib/prompt/exports";
import { Action, RootContext, HttpContext, logError, logInfo, logWarn, registerRootContext, setProperty } from "../../lib/runtime";
import { JsonBodyStream, readJsonDoc } from "../../lib/prompt/body";
import { StreamPool } from "../../lib/runtime/pool";
import { vouch } from "../../lib/prompt/vouch";
import { arrayElements, decodeString, Kind, kindAt, lastMember, Member, objectMembers, Span } from "../../lib/prompt/scan";
import { validateJson } from "../../lib/json/validate";
import { DEFAULT_MAX_DEPTH } from "../../lib/json/read";
import { parseConfig, TemplateConfig } from "./config";
import { readRequestBodiesKept } from "../../lib/prompt/read";

const NAME = "ai-prompt-template";
const NOT_JSON = "this LLM route only supports application/json requests";
const NO_FORMAT = "only 'llm/v1/chat' and 'llm/v1/completions' formats are supported for templating";
const PREFIX = "{template://";

class TemplateRoot extends RootContext {
  config: TemplateConfig = new TemplateConfig();
  /** Deleted streams, reused (lib/runtime/pool.ts): a stream holds nothing once deleted. */
  readonly pool: StreamPool<TemplateStream> = new StreamPool<TemplateStream>();

  onConfigure(bytes: Uint8Array): bool {
    const r = parseConfig(bytes);
    if (r.error != null) {
      logError(r.error!);
      return false;
    }
    this.config = r.config!;
    this.pool.reset(this.config);
    const dup = this.config.duplicates;
    for (let i = 0; i < dup.length; i++) logWarn("more than one template is named [" + unchecked(dup[i]) + "]; the first is used");
    return true;
  }

  createHttpContext(contextId: u32): HttpContext {
    const s = this.pool.take(contextId);
    return s != null ? s : new TemplateStream(contextId, this, this.config);
  }
}

/** The member `key` as Kong's Lua sees it: absent, or present with a value other than false. */
function truthy(body: Uint8Array, members: Member[], key: string): Member | null {
  const m = lastMember(body, members, key);
  if (m == null || kindAt(body, m.valueStart) == Kind.False) return null;
  return m;
}

/** The Lua type name Kong's message gives a non-string JSON value. */
function luaType(k: Kind): string {
  if (k == Kind.Number) return "number";
  if (k == Kind.True || k == Kind.False) return "boolean";
  if (k == Kind.Null) return "null";
  return "table";
}

class TemplateStream extends JsonBodyStream {
  constructor(
    id: u32,
    root: RootContext,
    private readonly config: TemplateConfig,
  ) {
    super(id, root, NAME, config.maxBodySize);
  }

  onNoBody(): i32 {
    return this.reject(400, NOT_JSON);
  }

  onDelete(): void {
    changetype<TemplateRoot>(this.root).pool.give(this, this.config);
  }

  onBody(body: Uint8Array): i32 {
    const c = this.config;
    // Kong logs the raw client body before anything else looks at it. (A copy: the body's
    // buffer is kept for the next request, lib/prompt/read.ts, and may be longer than the body.)
    if (c.logOriginal) setProperty(["ai.payload.original_request"], body.slice(0).buffer);

    const doc = readJsonDoc(body);
    if (doc.error != null) {
      logInfo("request body is not valid JSON: " + doc.error!);
      return this.reject(400, NOT_JSON);
    }
    if (doc.kind == Kind.Array) return this.reject(400, NO_FORMAT);
    if (doc.kind != Kind.Object) return this.reject(400, NOT_JSON);
    const members = doc.members;

    const messages = truthy(body, members, "messages");
    const prompt = truthy(body, members, "prompt");
    if (messages != null && prompt != null) return this.reject(400, "cannot run 'messages' and 'prompt' templates at the same time");
    const ref = messages != null ? messages : prompt;
    if (ref == null) return this.reject(400, NO_FORMAT);

    const name = this.templateName(body, ref);
    if (name == null) {
      if (c.allowUntemplated) {
        // Forwarded as it came: the decorator after us need not validate it again.
        vouch(body, members);
        return Action.Continue;
      }
      return this.reject(400, "this LLM route only supports templated requests");
    }
    const template = c.find(name);
    if (template == null) return this.reject(400, "could not find template name [" + name + "]");

    // properties: Kong's `body.properties or {}`, then every value must be a string.
    const values = new Map<string, Span>();
    const props = truthy(body, members, "properties");
    if (props != null) {
      const pk = kindAt(body, props.valueStart);
      if (pk == Kind.Array) {
        // A Lua table decoded from [] has no keys and passes; any element is a non-string key.
        if (arrayElements(body, props.valueStart).length > 0) return this.reject(400, "properties must be an object");
      } else if (pk != Kind.Object) {
        return this.reject(400, "properties must be an object");
      } else {
        const pm = objectMembers(body, props.valueStart);
        for (let i = 0; i < pm.length; i++) {
          const m = unchecked(pm[i]);
          const key = decodeString(body, m.keyStart, m.keyEnd);
          const vk = kindAt(body, m.valueStart);
          if (vk != Kind.String) return this.reject(400, "property values must be a string, got " + luaType(vk) + " (property [" + key + "])");
          // The raw content between the quotes: valid JSON string content, escapes included.
          values.set(key, new Span(m.valueStart + 1, m.valueEnd - 1));
        }
      }
    }

    const missing = new Array<string>();
    const names = template.names;
    for (let i = 0; i < names.length; i++) {
      const n = unchecked(names[i]);
      if (!values.has(n)) missing.push("[" + n + "]");
    }
    if (missing.length > 0) return this.reject(400, "missing template parameters: " + missing.join(", "));

    const rendered = template.render(body, values);
    // Placeholders outside strings (numbers) take values as they come: the result must still parse.
    const err = validateJson(rendered, DEFAULT_MAX_DEPTH);
    if (err != null) return this.reject(400, "template [" + name + "] rendered to invalid JSON with these properties: " + err);
    this.replaceBody(body, rendered);
    return Action.Continue;
  }

  /** NAME when `m`'s value is a string "{template://NAME}", else null. */
  private templateName(body: Uint8Array, m: Member): string | null {
    if (kindAt(body, m.valueStart) != Kind.String) return null;
    const s = decodeString(body, m.valueStart + 1, m.valueEnd - 1);
    if (s.length < PREFIX.length + 1 || !s.startsWith(PREFIX) || !s.endsWith("}")) return null;
    return s.substring(PREFIX.length, s.length - 1);
  }
}

// Request bodies are read into the kept buffer: this filter keeps none past its callback.
readRequestBodiesKept();
registerRootContext("", (id: u32): RootContext => new TemplateRoot(id));
