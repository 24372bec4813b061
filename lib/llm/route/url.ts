// The upstream :path: target path plus the client's query, the provider's defaults (the
// client's value wins) and the credential as a query parameter; and the decoding, encoding
// and checks for values a client supplies through templates (template.ts).

import { Header } from "../provider";

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

/** `q` without the parameters whose decoded name is one of `lowerNames` (any case). */
export function withoutParams(q: Header[], lowerNames: string[]): Header[] {
  const out = new Array<Header>();
  for (let i = 0; i < q.length; i++) {
    const h = unchecked(q[i]);
    if (!lowerNames.includes(formDecode(h.name).toLowerCase())) out.push(h);
  }
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

function isHex(c: i32): bool {
  const l = c | 0x20;
  return (c >= 0x30 && c <= 0x39) || (l >= 0x61 && l <= 0x66);
}

function hexVal(c: i32): i32 {
  return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10;
}

function isUnreserved(c: i32): bool {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2d || c == 0x2e || c == 0x5f || c == 0x7e;
}

/** RFC 3986 sub-delims: ! $ & ' ( ) * + , ; = */
function isSubDelim(c: i32): bool {
  return c == 0x21 || c == 0x24 || c == 0x26 || c == 0x27 || c == 0x28 || c == 0x29 || c == 0x2a || c == 0x2b || c == 0x2c || c == 0x3b || c == 0x3d;
}

/**
 * A decoded path made safe for :path: '/' kept, every byte that is not a path character
 * (and '%' itself) percent-encoded, so a value cannot add a query, a fragment or escapes.
 */
export function encodePath(s: string): string {
  const b = Uint8Array.wrap(String.UTF8.encode(s));
  let out = "";
  for (let i = 0; i < b.length; i++) {
    const c = <i32>unchecked(b[i]);
    if (isUnreserved(c) || isSubDelim(c) || c == 0x3a || c == 0x40 || c == 0x2f) out += String.fromCharCode(c);
    else out += "%" + HEX.charAt(c >> 4) + HEX.charAt(c & 0xf);
  }
  return out;
}

/** "." or "..", also spelled with %2e: a segment that would climb the upstream's path. */
export function isDotSegment(seg: string): bool {
  const s = seg.toLowerCase().replaceAll("%2e", ".");
  return s == "." || s == "..";
}

/**
 * A URL a client supplied (templated upstream_url), checked strictly: http(s), a host of
 * letters/digits/'.'/'-' (or a bracketed IPv6 literal) and an optional port, then only URL
 * characters ('%' as %XX), no fragment, no dot segments in the path.
 */
export function validUpstreamUrl(url: string): bool {
  const sep = url.indexOf("://");
  if (sep <= 0) return false;
  const scheme = url.substring(0, sep).toLowerCase();
  if (scheme != "http" && scheme != "https") return false;
  let i = sep + 3;
  const n = url.length;
  // host
  if (i < n && url.charCodeAt(i) == 0x5b) {
    const end = url.indexOf("]", i);
    if (end < 0 || end == i + 1) return false;
    for (let j = i + 1; j < end; j++) {
      const c = url.charCodeAt(j);
      if (!(isHex(c) || c == 0x3a || c == 0x2e)) return false;
    }
    i = end + 1;
  } else {
    const start = i;
    while (i < n) {
      const c = url.charCodeAt(i);
      const l = c | 0x20;
      if (!((c >= 0x30 && c <= 0x39) || (l >= 0x61 && l <= 0x7a) || c == 0x2d || c == 0x2e)) break;
      i++;
    }
    if (i == start) return false;
  }
  // port
  if (i < n && url.charCodeAt(i) == 0x3a) {
    i++;
    const start = i;
    let port = 0;
    while (i < n && url.charCodeAt(i) >= 0x30 && url.charCodeAt(i) <= 0x39) {
      port = port * 10 + (url.charCodeAt(i) - 0x30);
      if (port > 65535) return false;
      i++;
    }
    if (i == start || port == 0) return false;
  }
  if (i < n && url.charCodeAt(i) != 0x2f && url.charCodeAt(i) != 0x3f) return false;
  // path and query
  let q = url.indexOf("?", i);
  if (q < 0) q = n;
  for (let j = i; j < n; j++) {
    const c = url.charCodeAt(j);
    if (c == 0x25) {
      if (j + 2 >= n || !isHex(url.charCodeAt(j + 1)) || !isHex(url.charCodeAt(j + 2))) return false;
      j += 2;
      continue;
    }
    if (!(isUnreserved(c) || isSubDelim(c) || c == 0x3a || c == 0x40 || c == 0x2f || c == 0x3f)) return false;
  }
  const segs = url.substring(i, q).split("/");
  for (let k = 0; k < segs.length; k++) if (isDotSegment(unchecked(segs[k]))) return false;
  return true;
}

/** application/x-www-form-urlencoded decoding as nginx does it: '+' is a space, bad escapes stay. */
export function formDecode(s: string): string {
  if (s.indexOf("%") < 0 && s.indexOf("+") < 0) return s;
  const b = Uint8Array.wrap(String.UTF8.encode(s));
  const out = new Uint8Array(b.length);
  let o = 0;
  for (let i = 0; i < b.length; i++) {
    const c = <i32>unchecked(b[i]);
    if (c == 0x2b) {
      out[o++] = 0x20;
    } else if (c == 0x25 && i + 2 < b.length && isHex(unchecked(b[i + 1])) && isHex(unchecked(b[i + 2]))) {
      out[o++] = <u8>((hexVal(unchecked(b[i + 1])) << 4) | hexVal(unchecked(b[i + 2])));
      i += 2;
    } else {
      out[o++] = <u8>c;
    }
  }
  return String.UTF8.decodeUnsafe(out.dataStart, <usize>o);
}

/**
 * The first value of query parameter `name` in a raw query string (names and values
 * decoded), as Kong's get_query_arg; null when absent or given without '=' (Kong's `true`).
 */
export function queryValue(rawQuery: string, name: string): string | null {
  let from = 0;
  const n = rawQuery.length;
  while (from <= n) {
    let end = rawQuery.indexOf("&", from);
    if (end < 0) end = n;
    if (end > from) {
      const eq = rawQuery.indexOf("=", from);
      const hasValue = eq >= 0 && eq < end;
      const k = formDecode(rawQuery.substring(from, hasValue ? eq : end));
      if (k == name) return hasValue ? formDecode(rawQuery.substring(eq + 1, end)) : null;
    }
    from = end + 1;
  }
  return null;
}
