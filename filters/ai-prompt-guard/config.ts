// ai-prompt-guard configuration, with Kong's field names, defaults and limits:
//   {"allow_patterns": [...], "deny_patterns": [...], "allow_all_conversation_history": false,
//    "match_all_roles": false, "max_request_body_size": 1048576}
// Every pattern is compiled here, once; a bad or unsupported pattern refuses the whole
// configuration with a message naming the field, the index and the construct.

import { JSON } from "json-as";
import { arrAt, isNull, parseObject, valueArr, valueBool, valueNumber, valueString } from "../../lib/json/read";
import { compile, Regex, RegexSet } from "../../lib/regex";

/** Kong's limits: at most 10 patterns per list, each 1 to 500 characters. */
export const MAX_PATTERNS: i32 = 10;
export const MAX_PATTERN_CHARS: i32 = 500;
/** Kong 3.12+ default; 0 means no limit of our own (Envoy's buffer limit still applies). */
export const DEFAULT_MAX_BODY: i32 = 1048576;

/** The groups of the patterns in GuardConfig.patterns: a deny match ends the search. */
export const DENY: i32 = 1;
export const ALLOW: i32 = 2;

export class GuardConfig {
  allowCount: i32 = 0;
  denyCount: i32 = 0;
  /** Deny patterns (indices 0 to denyCount - 1), then allow patterns, searched in one pass. */
  patterns: RegexSet | null = null;
  allowAllConversationHistory: bool = false;
  matchAllRoles: bool = false;
  maxRequestBodySize: i32 = DEFAULT_MAX_BODY;
}

export class ConfigResult {
  constructor(
    public config: GuardConfig | null,
    public error: string | null,
  ) {}
}

function fail(msg: string): ConfigResult {
  return new ConfigResult(null, msg);
}

const KNOWN: string[] = ["allow_patterns", "deny_patterns", "allow_all_conversation_history", "match_all_roles", "max_request_body_size", "llm_format", "genai_category"];

/** Characters (code points) in a string, as Kong counts a pattern's length. */
function codePoints(s: string): i32 {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff) n++; // a low surrogate finishes a pair already counted
  }
  return n;
}

/** Compiles the list at `field` into `out`; the error names the field and index. */
function compileList(root: JSON.Obj, field: string, out: Regex[]): string | null {
  const v = root.get(field);
  if (v == null || isNull(v)) return null;
  const arr = valueArr(v);
  if (arr == null) return "configuration field '" + field + "' must be an array of strings";
  if (arr.length > MAX_PATTERNS) {
    return "configuration field '" + field + "' has " + arr.length.toString() + " patterns, at most " + MAX_PATTERNS.toString() + " are allowed";
  }
  for (let i = 0; i < arr.length; i++) {
    const name = field + "[" + i.toString() + "]";
    const p = valueString(arrAt(arr, i));
    if (p == null) return name + ": must be a string";
    const chars = codePoints(p);
    if (chars < 1 || chars > MAX_PATTERN_CHARS) {
      return name + ": must be 1 to " + MAX_PATTERN_CHARS.toString() + " characters long (it has " + chars.toString() + ")";
    }
    const r = compile(p);
    if (r.error != null) return name + ": " + r.error!;
    // Bound the time per byte now, for every input: the whole DFA, or the bit-parallel NFA when
    // the DFA is too big; a pattern neither can run is refused (lib/regex/README.md).
    const why = r.regex!.bound();
    if (why != null) return name + ": " + why!;
    out.push(r.regex!);
  }
  return null;
}

function readBool(root: JSON.Obj, field: string, fallback: bool): i32 {
  const v = root.get(field);
  if (v == null || isNull(v)) return fallback ? 1 : 0;
  return valueBool(v); // -1: not a boolean
}

export function parseConfig(bytes: Uint8Array): ConfigResult {
  if (bytes.length == 0) return fail("at least one of 'allow_patterns' or 'deny_patterns' is required");
  const parsed = parseObject(bytes);
  if (parsed.error != null) return fail("configuration is not valid JSON: " + parsed.error!);
  const root = parsed.value!;
  const keys = root.keys();
  for (let i = 0; i < keys.length; i++) {
    if (!KNOWN.includes(keys[i])) return fail("configuration field '" + keys[i] + "' is not allowed");
  }
  const c = new GuardConfig();
  const allow = new Array<Regex>();
  const deny = new Array<Regex>();
  let err = compileList(root, "allow_patterns", allow);
  if (err != null) return fail(err);
  err = compileList(root, "deny_patterns", deny);
  if (err != null) return fail(err);
  if (allow.length == 0 && deny.length == 0) {
    return fail("at least one of 'allow_patterns' or 'deny_patterns' is required");
  }

  const history = readBool(root, "allow_all_conversation_history", false);
  if (history < 0) return fail("configuration field 'allow_all_conversation_history' must be a boolean");
  c.allowAllConversationHistory = history == 1;
  const roles = readBool(root, "match_all_roles", false);
  if (roles < 0) return fail("configuration field 'match_all_roles' must be a boolean");
  c.matchAllRoles = roles == 1;
  if (c.matchAllRoles && c.allowAllConversationHistory) {
    return fail("configuration field 'match_all_roles' requires 'allow_all_conversation_history' to be false");
  }

  const sizeV = root.get("max_request_body_size");
  if (sizeV != null && !isNull(sizeV)) {
    const n = valueNumber(sizeV);
    if (isNaN(n) || n < 0 || n != Math.floor(n) || n > 2147483647) {
      return fail("configuration field 'max_request_body_size' must be an integer from 0 (no limit) to 2147483647");
    }
    c.maxRequestBodySize = <i32>n;
  }

  // Accepted for Kong compatibility; this filter reads OpenAI-format bodies only.
  const fmt = root.get("llm_format");
  if (fmt != null && !isNull(fmt)) {
    const f = valueString(fmt);
    if (f == null || f != "openai") return fail("configuration field 'llm_format' must be \"openai\" (the only format this filter reads)");
  }
  const cat = root.get("genai_category");
  if (cat != null && !isNull(cat)) {
    const g = valueString(cat);
    if (g == null || g != "text/generation") return fail("configuration field 'genai_category' must be \"text/generation\"");
  }
  // One automaton for both lists (lib/regex/set.ts): one pass over the prompt for all patterns.
  const all = new Array<Regex>();
  const groups = new Array<i32>();
  for (let i = 0; i < deny.length; i++) {
    all.push(deny[i]);
    groups.push(0);
  }
  for (let i = 0; i < allow.length; i++) {
    all.push(allow[i]);
    groups.push(1);
  }
  c.denyCount = deny.length;
  c.allowCount = allow.length;
  c.patterns = new RegexSet(all, groups, DENY);
  return new ConfigResult(c, null);
}
