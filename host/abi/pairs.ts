// Header-map serialization (proxy-wasm-cpp-host src/pairs_util.cc): u32 count, then count ×
// (u32 key_len, u32 value_len), then each key and value followed by a NUL. A malformed buffer
// is read as an empty map, exactly as cpp-host does, never as a partial one.

import type { HeaderPair } from "../http/header-map.ts";

export const PAIRS_MAX_BYTES = 0x100000; // PROXY_WASM_HOST_PAIRS_MAX_BYTES
export const PAIRS_MAX_COUNT = 1024; // PROXY_WASM_HOST_PAIRS_MAX_COUNT

const utf8 = new TextDecoder("utf-8");

/** Buffer's native Latin-1 decoder (the same internal method family as utf8Slice in memory.ts). */
type Latin1Sliceable = Buffer & { latin1Slice(start: number, end: number): string };

/**
 * buf[start, end) as text: ASCII (nearly every header) straight from the bytes, anything else
 * through the TextDecoder as before (its BOM and replacement rules kept).
 */
function text(buf: Uint8Array, view: Latin1Sliceable, start: number, end: number): string {
  for (let i = start; i < end; i++) if (buf[i]! >= 0x80) return utf8.decode(buf.subarray(start, end));
  return view.latin1Slice(start, end);
}

export function decodePairs(buf: Uint8Array): HeaderPair[] {
  if (buf.length === 0 || buf.length > PAIRS_MAX_BYTES || buf.length < 4) return [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength) as Latin1Sliceable;
  const n = dv.getUint32(0, true);
  if (n > PAIRS_MAX_COUNT) return [];
  let s = 4 + n * 8;
  if (s > buf.length) return [];
  const out: HeaderPair[] = [];
  for (let i = 0; i < n; i++) {
    const klen = dv.getUint32(4 + i * 8, true);
    const vlen = dv.getUint32(8 + i * 8, true);
    if (s + klen + 1 > buf.length || buf[s + klen] !== 0) return [];
    const k = text(buf, view, s, s + klen);
    s += klen + 1;
    if (s + vlen + 1 > buf.length || buf[s + vlen] !== 0) return [];
    const v = text(buf, view, s, s + vlen);
    s += vlen + 1;
    out.push([k, v]);
  }
  return s === buf.length ? out : [];
}

/** UTF-8 byte length of `s`; ASCII (header names and most values) is counted without a call into Buffer. */
function utf8Length(s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, "utf8");
  return n;
}

/** Writes `s` (UTF-8, `len` bytes) into `out` at `at`: ASCII byte by byte, anything else through Buffer. */
function writeUtf8(out: Buffer, at: number, s: string, len: number): void {
  if (len === s.length) {
    for (let i = 0; i < len; i++) out[at + i] = s.charCodeAt(i);
  } else {
    out.write(s, at, len, "utf8");
  }
}

type Pairs = readonly (readonly [string, string])[];

/**
 * The serialized size of `pairs`, with each key's and value's UTF-8 length put in `lens`
 * (2 per pair) for writePairs.
 */
export function pairsSize(pairs: Pairs, lens: number[]): number {
  const n = pairs.length;
  let size = 4 + n * 8;
  for (let i = 0; i < n; i++) {
    const [k, v] = pairs[i]!;
    const kl = utf8Length(k);
    const vl = utf8Length(v);
    lens[2 * i] = kl;
    lens[2 * i + 1] = vl;
    size += kl + vl + 2;
  }
  return size;
}

/** Writes `pairs` (sized by pairsSize into `lens`) at `at` of `out`: every byte of the span. */
export function writePairs(out: Buffer, at: number, pairs: Pairs, lens: readonly number[]): void {
  const n = pairs.length;
  out.writeUInt32LE(n, at);
  let s = at + 4 + n * 8;
  for (let i = 0; i < n; i++) {
    const [k, v] = pairs[i]!;
    const kl = lens[2 * i]!;
    const vl = lens[2 * i + 1]!;
    out.writeUInt32LE(kl, at + 4 + i * 8);
    out.writeUInt32LE(vl, at + 8 + i * 8);
    writeUtf8(out, s, k, kl);
    out[s + kl] = 0;
    s += kl + 1;
    writeUtf8(out, s, v, vl);
    out[s + vl] = 0;
    s += vl + 1;
  }
}

export function encodePairs(pairs: Pairs): Uint8Array {
  // Sized first, then written in place: no Buffer per key and value.
  const lens = new Array<number>(pairs.length * 2);
  const size = pairsSize(pairs, lens);
  // Every byte is written (counts, lengths, bytes, the NUL after each): Node's pool serves it.
  const out = Buffer.allocUnsafe(size);
  writePairs(out, 0, pairs, lens);
  return new Uint8Array(out.buffer, out.byteOffset, size);
}
