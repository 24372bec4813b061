// A plugin's `configuration` / `vm_config.configuration` is a google.protobuf.Any, and the
// plugin gets MessageUtil::anyToBytes of it (source/common/protobuf/utility.cc, called from
// source/extensions/common/wasm/wasm.cc and plugin.h): a StringValue's or BytesValue's value
// without the wrapper, and for every other type the Any's serialized value, i.e. protobuf
// bytes. A google.protobuf.Struct therefore reaches the plugin as protobuf, not JSON (the
// wasm.proto comment says otherwise; the code decides). An Any with no type (`{}`, what
// Istio sends for a WasmPlugin without pluginConfig) has an empty value: an empty
// configuration. Types other than these three cannot be serialized without their
// descriptors: refused (README, "Known differences").
//
// TypedStruct (udpa.type.v1 / xds.type.v3) wraps an extension's config as a Struct: Envoy's
// translateOpaqueConfig (source/common/config/utility.cc) reads `value` as the message named
// by `type_url`, as if it had been written in place.

import { EnvoyConfigError } from "./errors.ts";
import { describe, isMapping, ObjReader } from "./config-reader.ts";
import { encodeStruct } from "./protobuf-struct.ts";

export const STRING_VALUE = "type.googleapis.com/google.protobuf.StringValue";
export const BYTES_VALUE = "type.googleapis.com/google.protobuf.BytesValue";
export const STRUCT = "type.googleapis.com/google.protobuf.Struct";
export const TYPED_STRUCT = ["type.googleapis.com/udpa.type.v1.TypedStruct", "type.googleapis.com/xds.type.v3.TypedStruct"] as const;

const encoder = new TextEncoder();

export function anyToBytes(value: unknown, path: string): Uint8Array {
  const r = ObjReader.of(value, path);
  if (!r.has("@type")) {
    // Protobuf's JSON parser accepts an empty Any; with fields it needs the type to read them.
    const first = r.keys().find((k) => r.data[k] !== null);
    if (first !== undefined) throw new EnvoyConfigError(r.at("@type"), `required field is missing (an Any with fields needs its type; ${first} was given)`);
    return new Uint8Array();
  }
  const type = r.typeUrl([STRING_VALUE, BYTES_VALUE, STRUCT]);
  let out: Uint8Array;
  if (type === STRING_VALUE) {
    out = encoder.encode(r.str("value", ""));
  } else if (type === BYTES_VALUE) {
    out = decodeBase64(r.str("value", ""), r.at("value"));
  } else {
    const v = r.has("value") ? r.raw("value") : {};
    if (!isMapping(v)) throw new EnvoyConfigError(r.at("value"), `a Struct must be a mapping, got ${describe(v)}`);
    out = encodeStruct(v, r.at("value"));
  }
  r.done();
  return out;
}

/**
 * The @type of an extension's typed_config and a reader over its fields, looking through a
 * TypedStruct to the message it wraps.
 */
export function typedConfig(r: ObjReader): { type: string | undefined; config: ObjReader } {
  const type = r.optStr("@type");
  if (type === undefined || !(TYPED_STRUCT as readonly string[]).includes(type)) return { type, config: r };
  const inner = r.str("type_url");
  const value = r.has("value") ? r.raw("value") : {};
  r.done();
  return { type: inner, config: ObjReader.of(value, r.at("value")) };
}

/** Protobuf JSON bytes: standard or URL-safe base64, padding optional. */
export function decodeBase64(s: string, path: string): Uint8Array {
  const t = s.replace(/-/g, "+").replace(/_/g, "/");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t) || t.replace(/=+$/, "").length % 4 === 1) {
    throw new EnvoyConfigError(path, "invalid base64 in BytesValue");
  }
  return new Uint8Array(Buffer.from(t, "base64"));
}
