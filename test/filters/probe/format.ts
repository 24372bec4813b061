// Formatting of probe log values: JSON strings, hex, pairs.

import { HeaderPair } from "../../../lib/abi/pairs";

const HEX = "0123456789abcdef";

/** A string as a JSON string literal. */
export function quote(s: string): string {
  let out = '"';
  for (let i = 0, n = s.length; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x22) out += '\\"';
    else if (c == 0x5c) out += "\\\\";
    else if (c == 0x0a) out += "\\n";
    else if (c == 0x0d) out += "\\r";
    else if (c == 0x09) out += "\\t";
    else if (c < 0x20) out += "\\u00" + HEX.charAt(c >> 4) + HEX.charAt(c & 15);
    else out += String.fromCharCode(c);
  }
  return out + '"';
}

/** Bytes as lower-case hex. */
export function hex(buf: ArrayBuffer): string {
  const p = changetype<usize>(buf);
  let out = "";
  for (let i = 0, n = buf.byteLength; i < n; i++) {
    const b = load<u8>(p + <usize>i);
    out += HEX.charAt(b >> 4) + HEX.charAt(b & 15);
  }
  return out;
}

/** Pairs as a JSON array of [key, value]. */
export function pairsJson(pairs: HeaderPair[]): string {
  let out = "[";
  for (let i = 0; i < pairs.length; i++) {
    if (i > 0) out += ",";
    const p = unchecked(pairs[i]);
    out += "[" + quote(p.key) + "," + quote(p.value) + "]";
  }
  return out + "]";
}
