// ai-prompt-template configuration, with Kong's fields and defaults:
// {"templates":[{"name":"…","template":"<a JSON request body with {{placeholders}}>"}],
//  "allow_untemplated_requests":true, "log_original_request":false, "max_request_body_size":1048576}

import { arrAt, parseObject } from "../../lib/json/read";
import { ConfigReader } from "../../lib/prompt/config";
import { DEFAULT_MAX_REQUEST_BODY_SIZE } from "../../lib/prompt/body";
import { Template } from "./template";

export class TemplateConfig {
  templates: Template[] = [];
  allowUntemplated: bool = true;
  logOriginal: bool = false;
  maxBodySize: u64 = DEFAULT_MAX_REQUEST_BODY_SIZE;
  /** Names given to more than one template (the first wins, as in Kong); logged as a warning. */
  duplicates: string[] = [];

  /** The first template called `name` (Kong's lookup), or null. */
  find(name: string): Template | null {
    for (let i = 0; i < this.templates.length; i++) {
      const t = unchecked(this.templates[i]);
      if (t.name == name) return t;
    }
    return null;
  }
}

export class ConfigResult {
  constructor(
    public config: TemplateConfig | null,
    public error: string | null,
  ) {}
}

const FIELDS = ["templates", "allow_untemplated_requests", "log_original_request", "max_request_body_size"];
const TEMPLATE_FIELDS = ["name", "template"];

export function parseConfig(bytes: Uint8Array): ConfigResult {
  if (bytes.length == 0) return new ConfigResult(null, "templates is required");
  const parsed = parseObject(bytes);
  if (parsed.error != null) return new ConfigResult(null, "configuration is not a valid JSON object: " + parsed.error!);
  const root = parsed.value!;
  const r = new ConfigReader();
  const c = new TemplateConfig();
  r.onlyFields(root, FIELDS, "");
  c.allowUntemplated = r.bool(root, "allow_untemplated_requests", true, "allow_untemplated_requests");
  c.logOriginal = r.bool(root, "log_original_request", false, "log_original_request");
  c.maxBodySize = r.size(root, "max_request_body_size", DEFAULT_MAX_REQUEST_BODY_SIZE, "max_request_body_size");
  const tv = r.present(root, "templates");
  if (tv == null) r.fail("templates is required");
  const list = r.ok ? r.array(tv, "templates") : null;
  if (list != null) {
    for (let i = 0; i < list.length && r.ok; i++) {
      const path = "templates[" + i.toString() + "]";
      const obj = r.object(arrAt(list, i), path);
      if (obj == null) break;
      r.onlyFields(obj, TEMPLATE_FIELDS, path + ".");
      const nv = r.present(obj, "name");
      if (nv == null) r.fail(path + ".name is required");
      const name = r.ok ? r.string(nv, path + ".name") : null;
      const tx = r.present(obj, "template");
      if (r.ok && tx == null) r.fail(path + ".template is required");
      const text = r.ok ? r.string(tx, path + ".template") : null;
      if (name == null || text == null) break;
      const t = new Template(name, text);
      const bad = t.check();
      if (bad != null) {
        r.fail(path + ".template " + bad);
        break;
      }
      if (c.find(name) != null && !c.duplicates.includes(name)) c.duplicates.push(name);
      c.templates.push(t);
    }
  }
  if (!r.ok) return new ConfigResult(null, r.error);
  return new ConfigResult(c, null);
}
