// A plugin's `configuration` / `vm_config.configuration` is a google.protobuf.Any. Envoy
// (`anyToBytes`, source/extensions/common/wasm) hands StringValue and BytesValue to the
// plugin without the wrapper and serializes a Struct to JSON (wasm.proto comments). Any
// other type reaches the plugin as serialized protobuf bytes, which we cannot reproduce:
// refused.
//
// Struct key order: protobuf C++ prints map entries in an unspecified order, so a plugin
// must not depend on it; we sort keys to stay deterministic. Output is compact JSON.

import { EnvoyConfigError } from "./errors.ts";
import { describe, isMapping, ObjReader } from "./config-reader.ts";

export const STRING_VALUE = "type.googleapis.com/google.protobuf.StringValue";
export const BYTES_VALUE = "type.googleapis.com/google.protobuf.BytesValue";
export const STRUCT = "type.googleapis.com/google.protobuf.Struct";

const encoder = new TextEncoder();

export function anyToBytes(value: unknown, path: string): Uint8Array {
  const r = ObjReader.of(value, path);
  const type = r.typeUrl([STRING_VALUE, BYTES_VALUE, STRUCT]);
  let out: Uint8Array;
  if (type === STRING_VALUE) {
    out = encoder.encode(r.str("value", ""));
  } else if (type === BYTES_VALUE) {
    out = decodeBase64(r.str("value", ""), r.at("value"));
  } else {
    const v = r.has("value") ? r.raw("value") : {};
    if (!isMapping(v)) throw new EnvoyConfigError(r.at("value"), `a Struct must be a mapping, got ${describe(v)}`);
    out = encoder.encode(structJson(v, r.at("value")));
  }
  r.done();
  return out;
}

/** Protobuf JSON bytes: standard or URL-safe base64, padding optional. */
function decodeBase64(s: string, path: string): Uint8Array {
  const t = s.replace(/-/g, "+").replace(/_/g, "/");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t) || t.replace(/=+$/, "").length % 4 === 1) {
    throw new EnvoyConfigError(path, "invalid base64 in BytesValue");
  }
  return new Uint8Array(Buffer.from(t, "base64"));
}

function structJson(v: unknown, path: string): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "boolean" || typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new EnvoyConfigError(path, "a Struct cannot hold NaN or Infinity");
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map((x, i) => structJson(x, `${path}[${i}]`)).join(",")}]`;
  if (isMapping(v)) {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${structJson(v[k], `${path}.${k}`)}`).join(",")}}`;
  }
  throw new EnvoyConfigError(path, `a Struct cannot hold ${describe(v)}`);
}
