// ai-prompt-decorator configuration, with Kong's fields, limits and defaults:
// {"prompts":{"prepend":[{"role":"system","content":"…"}],"append":[…]},
//  "max_request_body_size":1048576, "llm_format":"openai"}
// role is one of system, assistant, user (default system); content is 1 to 100000
// characters; at most 15 messages per list; at least one message in all.

import { JSON } from "json-as";
import { arrAt, parseObject } from "../../lib/json/read";
import { codePoints, ConfigReader } from "../../lib/prompt/config";
import { DEFAULT_MAX_REQUEST_BODY_SIZE } from "../../lib/prompt/body";
import { ByteBuilder, writeJsonString } from "../../lib/llm/json-writer";

export const MAX_MESSAGES: i32 = 15;
export const MAX_CONTENT: i32 = 100000;
const ROLES = ["system", "assistant", "user"];

export class DecoratorConfig {
  /** The prepend messages as JSON, comma-separated, ready to splice into an array. */
  prepend: Uint8Array = new Uint8Array(0);
  append: Uint8Array = new Uint8Array(0);
  prependCount: i32 = 0;
  appendCount: i32 = 0;
  maxBodySize: u64 = DEFAULT_MAX_REQUEST_BODY_SIZE;
}

export class ConfigResult {
  constructor(
    public config: DecoratorConfig | null,
    public error: string | null,
  ) {}
}

/** Reads one list; returns its messages serialized, or null when absent. */
function readList(r: ConfigReader, prompts: JSON.Obj, key: string): Uint8Array | null {
  const v = r.present(prompts, key);
  if (v == null) return null;
  const path = "prompts." + key;
  const list = r.array(v, path);
  if (list == null) return null;
  if (list.length > MAX_MESSAGES) {
    r.fail(path + " has " + list.length.toString() + " messages; at most " + MAX_MESSAGES.toString() + " are allowed");
    return null;
  }
  const w = new ByteBuilder();
  for (let i = 0; i < list.length; i++) {
    const p = path + "[" + i.toString() + "]";
    const m = r.object(arrAt(list, i), p);
    if (m == null) return null;
    r.onlyFields(m, ["role", "content"], p + ".");
    let role = "system";
    const rv = r.present(m, "role");
    if (rv != null) {
      const s = r.string(rv, p + ".role");
      if (s == null) return null;
      if (!ROLES.includes(s)) {
        r.fail(p + ".role must be one of " + ROLES.join(", "));
        return null;
      }
      role = s;
    }
    const cv = r.present(m, "content");
    if (cv == null) {
      r.fail(p + ".content is required");
      return null;
    }
    const content = r.string(cv, p + ".content");
    if (content == null) return null;
    const len = codePoints(content);
    if (len < 1 || len > MAX_CONTENT) {
      r.fail(p + ".content must be 1 to " + MAX_CONTENT.toString() + " characters long (it has " + len.toString() + ")");
      return null;
    }
    if (!r.ok) return null;
    if (i > 0) w.byte(0x2c);
    // Only role and content are copied, as in Kong.
    w.str('{"role":');
    writeJsonString(w, role);
    w.str(',"content":');
    writeJsonString(w, content);
    w.byte(0x7d);
  }
  return w.toBytes();
}

export function parseConfig(bytes: Uint8Array): ConfigResult {
  if (bytes.length == 0) return new ConfigResult(null, "prompts is required");
  const parsed = parseObject(bytes);
  if (parsed.error != null) return new ConfigResult(null, "configuration is not a valid JSON object: " + parsed.error!);
  const root = parsed.value!;
  const r = new ConfigReader();
  const c = new DecoratorConfig();
  r.onlyFields(root, ["prompts", "max_request_body_size", "llm_format"], "");
  c.maxBodySize = r.size(root, "max_request_body_size", DEFAULT_MAX_REQUEST_BODY_SIZE, "max_request_body_size");
  const fmt = r.present(root, "llm_format");
  if (r.ok && fmt != null) {
    const f = r.string(fmt, "llm_format");
    if (f != null && f != "openai") r.fail("llm_format must be openai (the only format this filter reads)");
  }
  const pv = r.present(root, "prompts");
  if (r.ok && pv == null) r.fail("prompts is required");
  const prompts = r.ok ? r.object(pv, "prompts") : null;
  if (prompts != null) {
    r.onlyFields(prompts, ["prepend", "append"], "prompts.");
    const pre = r.ok ? readList(r, prompts, "prepend") : null;
    const app = r.ok ? readList(r, prompts, "append") : null;
    if (pre != null) {
      c.prepend = pre;
      c.prependCount = arrLen(prompts, "prepend");
    }
    if (app != null) {
      c.append = app;
      c.appendCount = arrLen(prompts, "append");
    }
    if (r.ok && c.prependCount + c.appendCount == 0) r.fail("prompts needs at least one message in prepend or append");
  }
  if (!r.ok) return new ConfigResult(null, r.error);
  return new ConfigResult(c, null);
}

function arrLen(obj: JSON.Obj, key: string): i32 {
  const v = obj.get(key);
  if (v == null || v.type != JSON.Types.Array) return 0;
  return v.get<JSON.Arr>().length;
}
