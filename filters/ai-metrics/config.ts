// ai-metrics configuration (see README.md). Parsed once per worker in on_configure; a bad
// field is refused with a message that names it. An empty configuration means the defaults.

import { JSON } from "json-as";
import { isNull, parseObject, valueBool, valueString } from "../../lib/json";

export class AiMetricsConfig {
  /** Kong's `ai_llm_*` series (Kong's prometheus plugin field `ai_metrics`). */
  aiMetrics: bool = true;
  /** The OpenTelemetry GenAI series `gen_ai_client_*`. */
  genaiMetrics: bool = true;
  /** Value of Kong's `workspace` label (Envoy has no workspaces: empty unless set). */
  workspace: string = "";
}

export class ConfigResult {
  constructor(
    public config: AiMetricsConfig | null,
    public error: string | null,
  ) {}
}

const KNOWN = ["ai_metrics", "genai_metrics", "workspace"];

function fail(msg: string): ConfigResult {
  return new ConfigResult(null, msg);
}

function boolField(o: JSON.Obj, key: string, fallback: bool, err: string[]): bool {
  const v = o.get(key);
  if (v == null || isNull(v)) return fallback;
  const b = valueBool(v);
  if (b < 0) {
    err.push("configuration field '" + key + "' must be a boolean");
    return fallback;
  }
  return b == 1;
}

/** True when every byte is JSON whitespace (an empty StringValue means "no configuration"). */
function blank(bytes: Uint8Array): bool {
  for (let i = 0; i < bytes.length; i++) {
    const c = unchecked(bytes[i]);
    if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) return false;
  }
  return true;
}

export function parseConfig(bytes: Uint8Array): ConfigResult {
  const c = new AiMetricsConfig();
  if (blank(bytes)) return new ConfigResult(c, null);
  const p = parseObject(bytes);
  if (p.value == null) return fail("configuration is not a valid JSON object: " + p.error!);
  const o = p.value!;
  const keys = o.keys();
  for (let i = 0; i < keys.length; i++) {
    const k = unchecked(keys[i]);
    if (!KNOWN.includes(k)) return fail("configuration field '" + k + "' is unknown (known: " + KNOWN.join(", ") + ")");
  }
  const err = new Array<string>();
  c.aiMetrics = boolField(o, "ai_metrics", true, err);
  c.genaiMetrics = boolField(o, "genai_metrics", true, err);
  const w = o.get("workspace");
  if (w != null && !isNull(w)) {
    const s = valueString(w);
    if (s == null) err.push("configuration field 'workspace' must be a string");
    else if (!labelSafe(s)) err.push("configuration field 'workspace' must not contain ';' or control characters");
    else c.workspace = s;
  }
  if (err.length > 0) return fail(unchecked(err[0]));
  return new ConfigResult(c, null);
}

/** A label value that needs no rewriting (see labels.ts). */
function labelSafe(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch < 0x20 || ch == 0x7f || ch == 0x3b) return false;
  }
  return true;
}
