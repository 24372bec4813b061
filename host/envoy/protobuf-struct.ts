// google.protobuf.Struct in protobuf's binary wire format, as Envoy hands a Struct-typed
// `configuration` to a plugin (MessageUtil::anyToBytes returns the Any's serialized value).
//
//   Struct    { map<string, Value> fields = 1; }        map entry: key = 1, value = 2
//   Value     { oneof kind { NullValue null_value = 1; double number_value = 2;
//               string string_value = 3; bool bool_value = 4; Struct struct_value = 5;
//               ListValue list_value = 6; } }
//   ListValue { repeated Value values = 1; }
//
// The YAML value becomes a Struct the way Envoy's loader builds it (parseYamlNode in
// source/common/protobuf/yaml_utility.cc): an integer outside int32 becomes its decimal string,
// and map entries are written in key order (protobuf's JSON printer sorts map keys, and the
// JSON parser writes them as read), so the bytes are deterministic.

import { EnvoyConfigError } from "./errors.ts";
import { describe, isMapping } from "./config-reader.ts";

const encoder = new TextEncoder();

class Writer {
  private readonly parts: Uint8Array[] = [];
  size = 0;

  bytes(b: Uint8Array): void {
    this.parts.push(b);
    this.size += b.length;
  }
  varint(n: number): void {
    const out: number[] = [];
    while (n > 0x7f) {
      out.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    out.push(n);
    this.bytes(Uint8Array.from(out));
  }
  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }
  /** A length-delimited field. */
  delimited(field: number, body: Uint8Array): void {
    this.tag(field, 2);
    this.varint(body.length);
    this.bytes(body);
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** The Struct's serialized bytes; `path` names the YAML field for errors. */
export function encodeStruct(v: Record<string, unknown>, path: string): Uint8Array {
  const w = new Writer();
  for (const key of Object.keys(v).sort()) {
    const entry = new Writer();
    entry.delimited(1, encoder.encode(key));
    entry.delimited(2, encodeValue(v[key], `${path}.${key}`));
    w.delimited(1, entry.finish());
  }
  return w.finish();
}

function encodeValue(v: unknown, path: string): Uint8Array {
  const w = new Writer();
  if (v === null || v === undefined) {
    w.tag(1, 0);
    w.varint(0);
  } else if (typeof v === "boolean") {
    w.tag(4, 0);
    w.varint(v ? 1 : 0);
  } else if (typeof v === "string") {
    w.delimited(3, encoder.encode(v));
  } else if (typeof v === "number") {
    if (Number.isInteger(v) && (v < -2147483648 || v > 2147483647)) {
      w.delimited(3, encoder.encode(String(v)));
    } else if (!Number.isFinite(v)) {
      w.delimited(3, encoder.encode(Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity"));
    } else {
      const d = new Uint8Array(8);
      new DataView(d.buffer).setFloat64(0, v, true);
      w.tag(2, 1);
      w.bytes(d);
    }
  } else if (Array.isArray(v)) {
    const list = new Writer();
    v.forEach((x, i) => list.delimited(1, encodeValue(x, `${path}[${i}]`)));
    w.delimited(6, list.finish());
  } else if (isMapping(v)) {
    w.delimited(5, encodeStruct(v, path));
  } else {
    throw new EnvoyConfigError(path, `a Struct cannot hold ${describe(v)}`);
  }
  return w.finish();
}
