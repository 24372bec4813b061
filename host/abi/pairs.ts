// Header-map serialization (proxy-wasm-cpp-host src/pairs_util.cc): u32 count, then count ×
// (u32 key_len, u32 value_len), then each key and value followed by a NUL. A malformed buffer
// is read as an empty map, exactly as cpp-host does, never as a partial one.

import type { HeaderPair } from "../http/header-map.ts";

export const PAIRS_MAX_BYTES = 0x100000; // PROXY_WASM_HOST_PAIRS_MAX_BYTES
export const PAIRS_MAX_COUNT = 1024; // PROXY_WASM_HOST_PAIRS_MAX_COUNT

const utf8 = new TextDecoder("utf-8");

export function decodePairs(buf: Uint8Array): HeaderPair[] {
  if (buf.length === 0 || buf.length > PAIRS_MAX_BYTES || buf.length < 4) return [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = dv.getUint32(0, true);
  if (n > PAIRS_MAX_COUNT) return [];
  let s = 4 + n * 8;
  if (s > buf.length) return [];
  const out: HeaderPair[] = [];
  for (let i = 0; i < n; i++) {
    const klen = dv.getUint32(4 + i * 8, true);
    const vlen = dv.getUint32(8 + i * 8, true);
    if (s + klen + 1 > buf.length || buf[s + klen] !== 0) return [];
    const k = utf8.decode(buf.subarray(s, s + klen));
    s += klen + 1;
    if (s + vlen + 1 > buf.length || buf[s + vlen] !== 0) return [];
    const v = utf8.decode(buf.subarray(s, s + vlen));
    s += vlen + 1;
    out.push([k, v]);
  }
  return s === buf.length ? out : [];
}

export function encodePairs(pairs: readonly (readonly [string, string])[]): Uint8Array {
  // One buffer, sized for the worst case (3 UTF-8 bytes per UTF-16 unit), each string written
  // straight into it: no Buffer per key and value (get_header_map_pairs runs on every request).
  const n = pairs.length;
  let room = 4 + n * 10;
  for (let i = 0; i < n; i++) room += 3 * (pairs[i]![0].length + pairs[i]![1].length);
  const out = Buffer.allocUnsafe(room);
  out.writeUInt32LE(n, 0);
  let s = 4 + n * 8;
  for (let i = 0; i < n; i++) {
    const [k, v] = pairs[i]!;
    const kl = out.write(k, s);
    out[s + kl] = 0;
    s += kl + 1;
    const vl = out.write(v, s);
    out[s + vl] = 0;
    s += vl + 1;
    out.writeUInt32LE(kl, 4 + i * 8);
    out.writeUInt32LE(vl, 8 + i * 8);
  }
  return out.subarray(0, s);
}
