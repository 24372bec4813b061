// Safe reads of a parsed json-as document. json-as's `get<T>()` is an unchecked cast, and
// `JSON.Arr.at` throws (traps) out of range: every read here checks `.type` and bounds first.
// Numbers come back as f64; a missing or non-number value reads as NaN (JSON has no NaN).

import { JSON } from "json-as";
import { validateJson } from "./validate";
import { rawStart } from "./raw";

/** Default nesting limit for untrusted documents. */
export const DEFAULT_MAX_DEPTH: i32 = 64;

/** A parsed document or why it was refused. */
export class ParsedObj {
  constructor(
    public value: JSON.Obj | null,
    public error: string | null,
  ) {}
}

/** Validates then parses a JSON object; never traps. The error names the byte offset. */
export function parseObject(bytes: Uint8Array, maxDepth: i32 = DEFAULT_MAX_DEPTH): ParsedObj {
  const err = validateJson(bytes, maxDepth);
  if (err != null) return new ParsedObj(null, err);
  const obj = parseValidatedObject(bytes);
  return obj != null ? new ParsedObj(obj, null) : new ParsedObj(null, "expected a JSON object");
}

/**
 * Parses bytes that already passed validateJson and start (after spaces) with `{`. Null
 * when they are not an object. Only for bytes the caller validated: json-as traps on
 * invalid input.
 */
export function parseValidatedObject(bytes: Uint8Array): JSON.Obj | null {
  // Validated: the first non-space byte tells the top-level type.
  const i = rawStart(bytes);
  if (i >= bytes.length || unchecked(bytes[i]) != 0x7b) return null;
  return JSON.parse<JSON.Obj>(String.UTF8.decodeUnsafe(bytes.dataStart, <usize>bytes.byteLength));
}

/** Validates then parses a JSON array; never traps. */
export class ParsedArr {
  constructor(
    public value: JSON.Arr | null,
    public error: string | null,
  ) {}
}

export function parseArray(bytes: Uint8Array, maxDepth: i32 = DEFAULT_MAX_DEPTH): ParsedArr {
  const err = validateJson(bytes, maxDepth);
  if (err != null) return new ParsedArr(null, err);
  const i = rawStart(bytes);
  if (i >= bytes.length || unchecked(bytes[i]) != 0x5b) return new ParsedArr(null, "expected a JSON array");
  const text = String.UTF8.decodeUnsafe(bytes.dataStart, <usize>bytes.byteLength);
  return new ParsedArr(JSON.parse<JSON.Arr>(text), null);
}

/** True for any of json-as's numeric type tags. */
export function isNumberType(t: u16): bool {
  return t >= JSON.Types.U8 && t <= JSON.Types.F64;
}

/** The JSON.Types tag of `obj[key]`, or -1 when absent. */
export function typeOf(obj: JSON.Obj, key: string): i32 {
  const v = obj.get(key);
  return v == null ? -1 : <i32>v.type;
}

// --- values ---

export function valueString(v: JSON.Value | null): string | null {
  if (v == null || v.type != JSON.Types.String) return null;
  return v.get<string>();
}

export function valueNumber(v: JSON.Value | null): f64 {
  if (v == null) return NaN;
  const t = v.type;
  if (t == JSON.Types.F64) return v.get<f64>();
  if (t == JSON.Types.F32) return <f64>v.get<f32>();
  if (t == JSON.Types.I64) return <f64>v.get<i64>();
  if (t == JSON.Types.I32) return <f64>v.get<i32>();
  if (t == JSON.Types.I16) return <f64>v.get<i16>();
  if (t == JSON.Types.I8) return <f64>v.get<i8>();
  if (t == JSON.Types.U64) return <f64>v.get<u64>();
  if (t == JSON.Types.U32) return <f64>v.get<u32>();
  if (t == JSON.Types.U16) return <f64>v.get<u16>();
  if (t == JSON.Types.U8) return <f64>v.get<u8>();
  return NaN;
}

/** 1 for true, 0 for false, -1 when not a boolean. */
export function valueBool(v: JSON.Value | null): i32 {
  if (v == null || v.type != JSON.Types.Bool) return -1;
  return v.get<bool>() ? 1 : 0;
}

export function valueObj(v: JSON.Value | null): JSON.Obj | null {
  if (v == null || v.type != JSON.Types.Object) return null;
  return v.get<JSON.Obj>();
}

export function valueArr(v: JSON.Value | null): JSON.Arr | null {
  if (v == null || v.type != JSON.Types.Array) return null;
  return v.get<JSON.Arr>();
}

export function isNull(v: JSON.Value | null): bool {
  return v != null && v.type == JSON.Types.Null;
}

// --- object fields ---

export function getString(obj: JSON.Obj, key: string): string | null {
  return valueString(obj.get(key));
}

/** The number at `key`, or NaN when absent or not a number. */
export function getNumber(obj: JSON.Obj, key: string): f64 {
  return valueNumber(obj.get(key));
}

/** The boolean at `key`, or `fallback` when absent or not a boolean. */
export function getBool(obj: JSON.Obj, key: string, fallback: bool): bool {
  const b = valueBool(obj.get(key));
  return b < 0 ? fallback : b == 1;
}

export function getObj(obj: JSON.Obj, key: string): JSON.Obj | null {
  return valueObj(obj.get(key));
}

export function getArr(obj: JSON.Obj, key: string): JSON.Arr | null {
  return valueArr(obj.get(key));
}

// --- array elements ---

/** Element `i`, or null out of range (JSON.Arr.at would trap). */
export function arrAt(arr: JSON.Arr, i: i32): JSON.Value | null {
  if (i < 0 || i >= arr.length) return null;
  return arr.at(i);
}
