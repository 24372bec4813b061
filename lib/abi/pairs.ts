// Header-map (de)serialization (proxy-wasm spec §"Map serialization", cpp-host pairs_util.cc):
// u32 count, count × (u32 key_len, u32 value_len), then each key and value followed by \0.

/** One header (or trailer, or metadata) entry. Names and values are UTF-8 on the wire. */
export class HeaderPair {
  constructor(
    public key: string,
    public value: string,
  ) {}
}

/** Serializes pairs for set_header_map_pairs, send_local_response and http_call. */
export function serializePairs(pairs: HeaderPair[]): ArrayBuffer {
  const n = pairs.length;
  const keys = new Array<ArrayBuffer>(n);
  const values = new Array<ArrayBuffer>(n);
  let size = 4 + n * 8;
  for (let i = 0; i < n; i++) {
    const p = unchecked(pairs[i]);
    const k = String.UTF8.encode(p.key);
    const v = String.UTF8.encode(p.value);
    unchecked((keys[i] = k));
    unchecked((values[i] = v));
    size += k.byteLength + v.byteLength + 2;
  }
  const out = new ArrayBuffer(size);
  const base = changetype<usize>(out);
  store<u32>(base, n);
  let sizes = base + 4;
  let data = base + 4 + <usize>n * 8;
  for (let i = 0; i < n; i++) {
    const k = unchecked(keys[i]);
    const v = unchecked(values[i]);
    store<u32>(sizes, k.byteLength);
    store<u32>(sizes + 4, v.byteLength);
    sizes += 8;
    memory.copy(data, changetype<usize>(k), k.byteLength);
    data += k.byteLength;
    store<u8>(data++, 0);
    memory.copy(data, changetype<usize>(v), v.byteLength);
    data += v.byteLength;
    store<u8>(data++, 0);
  }
  return out;
}

/**
 * Parses a serialized map. Returns null when the bytes are malformed (wrong sizes or a
 * missing NUL), as cpp-host's parser would; an empty buffer is an empty map.
 */
export function deserializePairs(buf: ArrayBuffer): HeaderPair[] | null {
  const n = pairsCount(buf);
  if (n < 0) return null;
  const out = new Array<HeaderPair>();
  const base = changetype<usize>(buf);
  let sizes = base + 4;
  let data = base + 4 + <usize>n * 8;
  for (let i: i64 = 0; i < n; i++) {
    const kl = <usize>load<u32>(sizes);
    const vl = <usize>load<u32>(sizes + 4);
    sizes += 8;
    const key = String.UTF8.decodeUnsafe(data, kl);
    data += kl + 1;
    const value = String.UTF8.decodeUnsafe(data, vl);
    data += vl + 1;
    out.push(new HeaderPair(key, value));
  }
  return out;
}

/**
 * The entry count of a serialized map, or -1 when the bytes are malformed (wrong sizes or a
 * missing NUL), as cpp-host's parser would see it; an empty buffer is an empty map.
 */
export function pairsCount(buf: ArrayBuffer): i64 {
  return pairsCountAt(changetype<usize>(buf), <usize>buf.byteLength);
}

/** pairsCount of the `len` bytes at `base`. */
export function pairsCountAt(base: usize, len: usize): i64 {
  if (len == 0 || (len == 1 && load<u8>(base) == 0)) return 0;
  if (len < 4) return -1;
  const n = <usize>load<u32>(base);
  if (n > (len - 4) / 8) return -1;
  let sizes = base + 4;
  let data = base + 4 + n * 8;
  const end = base + len;
  for (let i: usize = 0; i < n; i++) {
    const kl = <usize>load<u32>(sizes);
    const vl = <usize>load<u32>(sizes + 4);
    sizes += 8;
    // Each of key and value must fit, followed by its NUL.
    if (kl >= end - data || load<u8>(data + kl) != 0) return -1;
    data += kl + 1;
    if (vl >= end - data || load<u8>(data + vl) != 0) return -1;
    data += vl + 1;
  }
  return data == end ? <i64>n : -1;
}

/** The first value of `key` (ASCII case-insensitive), or null. */
export function findPair(pairs: HeaderPair[], key: string): string | null {
  const k = key.toLowerCase();
  for (let i = 0, n = pairs.length; i < n; i++) {
    const p = unchecked(pairs[i]);
    if (p.key == k || p.key.toLowerCase() == k) return p.value;
  }
  return null;
}
