// The upstream :path: target path plus the client's query, the provider's defaults (the
// client's value wins) and the credential as a query parameter.

import { Header } from "../../lib/llm/provider";

const HEX = "0123456789ABCDEF";

/** Percent-encodes everything but RFC 3986 unreserved characters (UTF-8 first). */
export function percentEncode(s: string): string {
  const b = Uint8Array.wrap(String.UTF8.encode(s));
  let out = "";
  for (let i = 0; i < b.length; i++) {
    const c = unchecked(b[i]);
    const unreserved = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2d || c == 0x2e || c == 0x5f || c == 0x7e;
    if (unreserved) out += String.fromCharCode(c);
    else out += "%" + HEX.charAt(c >> 4) + HEX.charAt(c & 0xf);
  }
  return out;
}

/** Splits "a=1&b" into raw (still encoded) pairs. */
export function parseQuery(q: string): Header[] {
  const out = new Array<Header>();
  if (q.length == 0) return out;
  const parts = q.split("&");
  for (let i = 0; i < parts.length; i++) {
    const p = unchecked(parts[i]);
    if (p.length == 0) continue;
    const eq = p.indexOf("=");
    if (eq < 0) out.push(new Header(p, ""));
    else out.push(new Header(p.substring(0, eq), p.substring(eq + 1)));
  }
  return out;
}

function indexOfName(q: Header[], name: string): i32 {
  for (let i = 0; i < q.length; i++) if (unchecked(q[i]).name == name) return i;
  return -1;
}

/** Adds `name=value` unless the name is present. */
export function addDefault(q: Header[], name: string, value: string): void {
  if (indexOfName(q, name) < 0) q.push(new Header(name, value));
}

/** Sets `name=value`, replacing every existing value. */
export function setParam(q: Header[], name: string, value: string): Header[] {
  const out = new Array<Header>();
  for (let i = 0; i < q.length; i++) if (unchecked(q[i]).name != name) out.push(unchecked(q[i]));
  out.push(new Header(name, value));
  return out;
}

export function hasParam(q: Header[], name: string): bool {
  return indexOfName(q, name) >= 0;
}

/** path + "?" + the pairs (values already encoded). */
export function joinPath(path: string, q: Header[]): string {
  if (q.length == 0) return path;
  let s = path + "?";
  for (let i = 0; i < q.length; i++) {
    const h = unchecked(q[i]);
    if (i > 0) s += "&";
    s += h.name;
    if (h.value.length > 0) s += "=" + h.value;
  }
  return s;
}
