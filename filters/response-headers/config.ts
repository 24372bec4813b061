// response-headers configuration: {"headers": {"<name>": "<value>", ...}}.
// Parsed once in on_configure; any problem is reported with the field it concerns.

import { JSON } from "json-as";
import { parseObject, valueString } from "../../lib/json/read";
import { HeaderPair } from "../../lib/abi/pairs";

export class ResponseHeadersConfig {
  headers: HeaderPair[] = [];
}

/** The parsed configuration, or the message naming the bad field. */
export class ConfigResult {
  constructor(
    public config: ResponseHeadersConfig | null,
    public error: string | null,
  ) {}
}

function fail(msg: string): ConfigResult {
  return new ConfigResult(null, msg);
}

/** RFC 9110 token characters (header field names). */
function isTokenChar(c: i32): bool {
  if (c >= 0x30 && c <= 0x39) return true;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x7a) return true;
  return c == 0x21 || c == 0x23 || c == 0x24 || c == 0x25 || c == 0x26 || c == 0x27 || c == 0x2a || c == 0x2b || c == 0x2d || c == 0x2e || c == 0x5e || c == 0x5f || c == 0x60 || c == 0x7c || c == 0x7e;
}

function validName(name: string): bool {
  if (name.length == 0) return false;
  for (let i = 0; i < name.length; i++) if (!isTokenChar(name.charCodeAt(i))) return false;
  return true;
}

/** Header values may not contain CR, LF or NUL (they would split or truncate the header). */
function validValue(value: string): bool {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c == 0x0d || c == 0x0a || c == 0) return false;
  }
  return true;
}

export function parseConfig(bytes: Uint8Array): ConfigResult {
  if (bytes.length == 0) return fail("configuration field 'headers' is required");
  const parsed = parseObject(bytes);
  if (parsed.error != null) return fail("configuration is not valid JSON: " + parsed.error!);
  const root = parsed.value!;
  const keys = root.keys();
  for (let i = 0; i < keys.length; i++) {
    const k = unchecked(keys[i]);
    if (k != "headers") return fail("configuration field '" + k + "' is not allowed");
  }
  const hv = root.get("headers");
  if (hv == null) return fail("configuration field 'headers' is required");
  if (hv.type != JSON.Types.Object) return fail("configuration field 'headers' must be an object");
  const headers = hv.get<JSON.Obj>();
  const out = new ResponseHeadersConfig();
  const names = headers.keys();
  for (let i = 0; i < names.length; i++) {
    const name = unchecked(names[i]);
    const field = "headers." + name;
    if (!validName(name)) return fail("configuration field '" + field + "' is not a valid header name");
    const value = valueString(headers.get(name));
    if (value == null) return fail("configuration field '" + field + "' must be a string");
    if (!validValue(value)) return fail("configuration field '" + field + "' must not contain CR, LF or NUL");
    out.headers.push(new HeaderPair(name.toLowerCase(), value));
  }
  return new ConfigResult(out, null);
}
