// Reading a plugin's configuration bytes. Envoy hands a `google.protobuf.Struct` configuration
// to the plugin as the Any's serialized protobuf (MessageUtil::anyToBytes, used by
// source/extensions/common/wasm/wasm.cc), not as JSON, so a filter that reads JSON would see
// bytes it cannot parse. Such bytes are recognised here and refused with a message that says
// what to write instead.

export const STRUCT_CONFIG_MESSAGE =
  "the configuration arrived as protobuf bytes of a google.protobuf.Struct (Envoy hands a Struct configuration to the plugin serialized as protobuf, not as JSON); write it as JSON text in a google.protobuf.StringValue: configuration: {\"@type\": type.googleapis.com/google.protobuf.StringValue, value: '{...}'}";

/** Reads a varint at `i`; returns the value and the next offset in a pair, or -1 offset when malformed. */
function varint(b: Uint8Array, i: i32, end: i32, out: StaticArray<i64>): bool {
  let v: i64 = 0;
  let shift: i64 = 0;
  while (i < end && shift < 35) {
    const c = <i64>unchecked(b[i]);
    i++;
    v |= (c & 0x7f) << shift;
    if ((c & 0x80) == 0) {
      unchecked((out[0] = v));
      unchecked((out[1] = <i64>i));
      return true;
    }
    shift += 7;
  }
  return false;
}

/**
 * True when `b` is, in full, a protobuf Struct with at least one entry: a sequence of field 1
 * (map entry) records, each holding only field 1 (the key) and field 2 (the Value), every
 * length in bounds. No JSON text has this shape: `{` or `[` is not a valid first tag, and a
 * leading newline (the tag byte 0x0a) would need a key tag right after the length.
 */
export function isProtobufStruct(b: Uint8Array): bool {
  const n = b.length;
  if (n == 0) return false;
  const r = new StaticArray<i64>(2);
  let i = 0;
  while (i < n) {
    if (unchecked(b[i]) != 0x0a) return false;
    if (!varint(b, i + 1, n, r)) return false;
    const len = <i32>unchecked(r[0]);
    const start = <i32>unchecked(r[1]);
    const end = start + len;
    if (len < 0 || end > n) return false;
    let j = start;
    while (j < end) {
      const tag = unchecked(b[j]);
      if (tag != 0x0a && tag != 0x12) return false;
      if (!varint(b, j + 1, end, r)) return false;
      const flen = <i32>unchecked(r[0]);
      const fstart = <i32>unchecked(r[1]);
      if (flen < 0 || fstart + flen > end) return false;
      j = fstart + flen;
    }
    i = end;
  }
  return true;
}
